/**
 * A run report as ONE self-contained HTML file: the figures' SVGs inline (the very SVGs written as figure
 * files), tables, and interactive uPlot charts of the per-epoch metrics and of the sweep. uPlot stays for what
 * it does better than a static figure: a cursor that reads every series at one epoch, drag to zoom, and the
 * sweep's sparsity / compression switch. uPlot's JS and CSS are inlined: the file opens from disk with no
 * server and no network.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { LayerSparsity } from './bars.js';
import { PALETTE, rgbHex } from './colormap.js';
import { formatPercent, formatValue, humanLabel, shapeText } from './format.js';
import { compressionRatio } from './tradeoff.js';
import { writeFileAtomic } from './write.js';

/** One row of per-epoch metrics: the epoch and any named values (null or absent when not measured). */
export interface EpochMetrics {
  epoch: number;
  [metric: string]: number | null | undefined;
}

/** A chart of some per-epoch metrics drawn together. */
export interface MetricGroup {
  title: string;
  keys: readonly string[];
  /** The legend's words for each key (default humanLabel(key)). */
  labels?: readonly string[];
  yLabel?: string;
}

/** Where a figure goes in the report. */
export type ReportSection = 'curves' | 'layers' | 'confusion' | 'pictures' | 'sweep';

/** A rendered figure (renderSvg of a spec), shown inline in its section. */
export interface ReportFigure {
  section: ReportSection;
  title: string;
  svg: string;
  caption?: string;
}

/** One point of a sweep (a mean over seeds): a pruner at a sparsity, its accuracy and further measurements. */
export interface SweepRow {
  pruner: string;
  sparsity: number;
  accuracy: number;
  [extra: string]: string | number | null | undefined;
}

export interface RunReportData {
  title: string;
  /** A line under the title: date, commit, machine... */
  subtitle?: string;
  /** The run's configuration; nested objects are flattened to dotted keys in the table. */
  config?: Record<string, unknown>;
  /** Metrics per epoch, e.g. { epoch: 3, trainLoss: 0.9, testLoss: 1.1, testAccuracy: 0.71, sparsity: 0.4 }. */
  epochs?: readonly EpochMetrics[];
  /** How to group epoch metrics into charts; default: keys with 'loss', keys within [0, 1], then one per rest. */
  metricGroups?: readonly MetricGroup[];
  /** Final metrics (test accuracy, balanced accuracy, sparsity, time...), in the words to show. */
  final?: Record<string, number | string | null | undefined>;
  /** Sparsity per prunable layer (a table). */
  layers?: readonly LayerSparsity[];
  /** Sparsity over all prunable weights. */
  overallSparsity?: number;
  /** Figures, each shown in its section. */
  figures?: readonly ReportFigure[];
  /** A pruning sweep: one row per (pruner, sparsity). */
  sweep?: readonly SweepRow[];
  notes?: readonly string[];
}

const require = createRequire(import.meta.url);

/** uPlot's browser build and stylesheet, read from the installed package at render time. */
function uplotAssets(): { js: string; css: string } {
  const js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  return { js, css };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Text that can sit inside a <script> or <style> element: no closing tag can appear in it. */
function inlineSafe(code: string, tag: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1');
}

/**
 * An SVG made to sit inline beside others: its ids (Vega's clip paths and gradients, numbered alike in every
 * figure) prefixed with the figure's own, so that no figure clips or fills by another's definitions.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/<\?xml[^>]*>\s*/, '')
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

function figure(f: ReportFigure, index: number): string {
  const caption = f.caption ? `<figcaption>${escapeHtml(f.caption)}</figcaption>` : '';
  return `<figure role="group" aria-label="${escapeHtml(f.title)}">${scopeSvgIds(f.svg, `fig${index}`)}${caption}</figure>`;
}

function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((v) => `<td${typeof v === 'number' ? ' class="num"' : ''}>${escapeHtml(formatValue(v))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Nested objects as dotted keys; arrays and other values as JSON text. */
function flatten(obj: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  return Object.entries(obj).flatMap(([k, v]): Array<[string, string]> => {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return flatten(v as Record<string, unknown>, key);
    return [[key, typeof v === 'string' ? v : JSON.stringify(v) ?? String(v)]];
  });
}

function metricKeys(epochs: readonly EpochMetrics[]): string[] {
  const keys = new Set<string>();
  for (const row of epochs) for (const k of Object.keys(row)) if (k !== 'epoch') keys.add(k);
  return [...keys];
}

/**
 * Default grouping: all loss keys together, then fractions (values all within [0, 1] and reaching 0.05:
 * accuracies, sparsity; not a learning rate), then one chart for each other key.
 */
export function defaultMetricGroups(epochs: readonly EpochMetrics[]): MetricGroup[] {
  const keys = metricKeys(epochs);
  const values = (k: string) => epochs.map((r) => r[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const loss = keys.filter((k) => /loss/i.test(k));
  const unit = keys.filter((k) => !loss.includes(k) && values(k).every((v) => v >= 0 && v <= 1) && Math.max(...values(k)) >= 0.05);
  const rest = keys.filter((k) => !loss.includes(k) && !unit.includes(k));
  const groups: MetricGroup[] = [];
  if (loss.length) groups.push({ title: 'Loss', keys: loss, yLabel: 'loss' });
  if (unit.length) groups.push({ title: 'Accuracy and sparsity', keys: unit });
  for (const k of rest) groups.push({ title: humanLabel(k), keys: [k] });
  return groups;
}

/** The chart data the page script draws: x values and named y series (null = missing). */
interface ChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: Array<{ name: string; y: Array<number | null> }>;
  /** For the trade-off: the same x as compression ratios, for the log2 view, and that view's title. */
  xCompression?: Array<number | null>;
  titleCompression?: string;
}

function epochCharts(epochs: readonly EpochMetrics[], groups: readonly MetricGroup[]): ChartSpec[] {
  const x = epochs.map((r) => r.epoch);
  return groups.map((g, i) => ({
    id: `curve${i}`,
    title: g.title,
    xLabel: 'epoch',
    yLabel: g.yLabel ?? '',
    x,
    series: g.keys.map((k, j) => ({ name: g.labels?.[j] ?? humanLabel(k), y: epochs.map((r) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : null)) })),
  }));
}

/** One series per pruner over the union of the sweep's sparsities (uPlot needs one shared x). */
function sweepChart(sweep: readonly SweepRow[]): ChartSpec {
  const xs = [...new Set(sweep.map((r) => r.sparsity))].sort((a, b) => a - b);
  const pruners = [...new Set(sweep.map((r) => r.pruner))];
  return {
    id: 'tradeoff',
    title: 'Accuracy against sparsity',
    xLabel: 'sparsity (weights pruned)',
    yLabel: 'test accuracy',
    x: xs,
    xCompression: xs.map((s) => (s < 1 ? compressionRatio(s) : null)),
    titleCompression: 'Accuracy against compression',
    series: pruners.map((p) => ({
      name: p,
      y: xs.map((s) => sweep.find((r) => r.pruner === p && r.sparsity === s)?.accuracy ?? null),
    })),
  };
}

/** Draws every chart spec with uPlot; the trade-off chart gets a sparsity / compression (log2) switch. */
const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var colors = data.colors;
  function draw(spec, el, compression) {
    el.innerHTML = '';
    var x = compression ? spec.xCompression : spec.x;
    var keep = x.map(function (v) { return v !== null; });
    var xs = x.filter(function (v, i) { return keep[i]; });
    var ys = spec.series.map(function (s) { return s.y.filter(function (v, i) { return keep[i]; }); });
    var xLabel = compression ? 'compression ratio 1 / (1 - sparsity), log scale' : spec.xLabel;
    var width = Math.max(320, Math.min(960, el.clientWidth || 800));
    new uPlot({
      title: compression ? spec.titleCompression : spec.title,
      width: width,
      height: 360,
      scales: { x: compression ? { time: false, distr: 3, log: 2 } : { time: false } },
      axes: [{ label: xLabel }, { label: spec.yLabel }],
      series: [{ label: xLabel }].concat(spec.series.map(function (s, i) {
        return { label: s.name, stroke: colors[i % colors.length], width: 2, spanGaps: true, points: { show: true, size: 6 } };
      }))
    }, [xs].concat(ys), el);
  }
  data.charts.forEach(function (spec) {
    var el = document.getElementById(spec.id);
    draw(spec, el, false);
    var toggle = document.getElementById(spec.id + '-x');
    if (toggle) toggle.addEventListener('change', function () { draw(spec, el, toggle.value === 'compression'); });
  });
})();
`;

const PAGE_CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1040px; padding: 0 16px; color: #222; }
h1 { margin-bottom: 4px; } .subtitle { color: #666; margin-top: 0; }
nav a { margin-right: 12px; } section { margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; } th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { max-height: 420px; overflow: auto; display: inline-block; }
figure { margin: 12px 0; } figure svg { max-width: 100%; height: auto; } figcaption { color: #555; font-size: 14px; }
.chart { margin: 12px 0; }
`;

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2>\n${body}\n</section>`;
}

/** The whole report as one HTML document; reads uPlot from node_modules. */
export function renderReport(run: RunReportData): string {
  const sections: Array<{ id: string; title: string; body: string }> = [];
  const charts: ChartSpec[] = [];

  if (run.final && Object.keys(run.final).length) {
    sections.push({ id: 'final', title: 'Final metrics', body: table(['metric', 'value'], Object.entries(run.final)) });
  }

  const figures = (section: ReportSection) =>
    (run.figures ?? []).flatMap((f, i) => (f.section === section ? [figure(f, i)] : [])).join('\n');

  const epochs = run.epochs ?? [];
  if (epochs.length) {
    const groups = run.metricGroups ?? defaultMetricGroups(epochs);
    const specs = epochCharts(epochs, groups);
    charts.push(...specs);
    const interactive = specs.map((spec) => `<div class="chart" id="${spec.id}"></div>`).join('\n');
    const keys = metricKeys(epochs);
    const rows = epochs.map((r) => [r.epoch, ...keys.map((k) => r[k])]);
    const body = `${figures('curves')}
<details open><summary>Interactive (cursor reads every series; drag to zoom)</summary>${interactive}</details>
<h3>Metrics per epoch</h3><div class="scroll">${table(['epoch', ...keys.map(humanLabel)], rows)}</div>`;
    sections.push({ id: 'curves', title: 'Training curves', body });
  } else if (figures('curves')) {
    sections.push({ id: 'curves', title: 'Training curves', body: figures('curves') });
  }

  if (run.layers?.length) {
    const rows = run.layers.map((l) => [
      l.name,
      l.shape ? shapeText(l.shape) : '-',
      l.params ?? null,
      l.params !== undefined ? Math.round(l.params * (1 - l.sparsity)) : null,
      formatPercent(l.sparsity, 2),
    ]);
    const overall = run.overallSparsity !== undefined ? `<p>Overall sparsity: ${formatPercent(run.overallSparsity, 2)}</p>` : '';
    sections.push({ id: 'layers', title: 'Sparsity per layer', body: `${overall}${table(['layer', 'shape', 'weights', 'kept', 'pruned'], rows)}${figures('layers')}` });
  } else if (figures('layers')) {
    sections.push({ id: 'layers', title: 'Sparsity per layer', body: figures('layers') });
  }

  if (figures('confusion')) sections.push({ id: 'confusion', title: 'Confusion matrix', body: figures('confusion') });
  if (figures('pictures')) sections.push({ id: 'pictures', title: 'Masks and filters', body: figures('pictures') });

  if (run.sweep?.length || figures('sweep')) {
    const sweep = run.sweep ?? [];
    let body = figures('sweep');
    if (sweep.length) {
      const spec = sweepChart(sweep);
      charts.push(spec);
      const extras = [...new Set(sweep.flatMap((r) => Object.keys(r)))].filter((k) => !['pruner', 'sparsity', 'accuracy'].includes(k));
      const rows = sweep.map((r) => [r.pruner, r.sparsity, r.sparsity < 1 ? compressionRatio(r.sparsity) : null, r.accuracy, ...extras.map((k) => r[k])]);
      const toggle = `<label>x axis: <select id="${spec.id}-x"><option value="sparsity">sparsity</option><option value="compression">compression ratio (log scale)</option></select></label>`;
      body += `<details open><summary>Interactive (means)</summary>${toggle}<div class="chart" id="${spec.id}"></div></details>
${table(['pruner', 'sparsity', 'compression ratio', 'test accuracy', ...extras.map(humanLabel)], rows)}`;
    }
    sections.push({ id: 'sweep', title: 'Sparsity sweep', body });
  }

  if (run.config && Object.keys(run.config).length) {
    sections.push({ id: 'config', title: 'Configuration', body: table(['key', 'value'], flatten(run.config)) });
  }
  if (run.notes?.length) {
    sections.push({ id: 'notes', title: 'Notes', body: `<ul>${run.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` });
  }

  const { js, css } = uplotAssets();
  const colors = PALETTE.map(rgbHex);
  // JSON inside <script type="application/json">: '<' escaped so no '</script>' can end it early.
  const data = JSON.stringify({ charts, colors }).replace(/</g, '\\u003c');
  const nav = sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join('');
  const subtitle = run.subtitle ? `<p class="subtitle">${escapeHtml(run.subtitle)}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(run.title)}</title>
<style>${inlineSafe(css, 'style')}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<h1>${escapeHtml(run.title)}</h1>
${subtitle}
<nav>${nav}</nav>
${sections.map((s) => section(s.id, s.title, s.body)).join('\n')}
<script type="application/json" id="report-data">${data}</script>
<script>${inlineSafe(js, 'script')}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** Renders the report and writes it to `path` (temp file + rename). */
export function writeReport(path: string, run: RunReportData): void {
  writeFileAtomic(path, renderReport(run));
}
