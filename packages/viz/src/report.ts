/**
 * A run report as ONE self-contained HTML file: PNG figures as data: URIs, tables, and interactive uPlot charts
 * with uPlot's JS and CSS inlined, so that it opens from disk with no server and no network.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { renderSparsityBars, type LayerSparsity } from './bars.js';
import { PALETTE } from './colormap.js';
import { renderConfusion } from './confusion.js';
import { renderCurves } from './curves.js';
import { renderFilterGrid, renderRgbFilters } from './filters.js';
import { formatPercent, formatValue, shapeText } from './format.js';
import { renderMaskHeatmap } from './heatmap.js';
import { compressionRatio, renderTradeoff, type SweepPoint } from './tradeoff.js';
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
  yLabel?: string;
}

/** A PNG made elsewhere (e.g. by the training code), embedded as it is. */
export interface ReportImage {
  title: string;
  png: Uint8Array;
  caption?: string;
}

/** One point of a sweep: a pruner at a sparsity, its accuracy and any further measurements. */
export interface SweepRow extends SweepPoint {
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
  /** Final metrics (test accuracy, balanced accuracy, sparsity, time...). */
  final?: Record<string, number | string | null | undefined>;
  /** Sparsity per prunable layer. */
  layers?: readonly LayerSparsity[];
  /** Sparsity over all prunable weights. */
  overallSparsity?: number;
  confusion?: { classNames: readonly string[]; counts: readonly (readonly number[])[] };
  /** Masks to draw as sparsity heatmaps (nonzero = kept). */
  masks?: readonly { name: string; shape: readonly number[]; mask: ArrayLike<number> }[];
  /** Filters to draw: 'rgb' for [out,3,kh,kw] input layers (default when in = 3), else 'signed' or 'magnitude'. */
  filters?: readonly { name: string; shape: readonly number[]; weights: ArrayLike<number>; kind?: 'rgb' | 'signed' | 'magnitude' }[];
  /** Ready-made PNGs (masks, filters, anything else). */
  images?: readonly ReportImage[];
  /** A pruning sweep: one row per (pruner, sparsity). */
  sweep?: readonly SweepRow[];
  /** Accuracy of the dense model, drawn in the trade-off figure. */
  sweepBaseline?: number;
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

function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

function figure(title: string, png: Uint8Array, caption?: string): string {
  const cap = caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : '';
  return `<figure><img alt="${escapeHtml(title)}" src="${pngDataUri(png)}">${cap}</figure>`;
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
  for (const k of rest) groups.push({ title: k, keys: [k] });
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
    series: g.keys.map((k) => ({ name: k, y: epochs.map((r) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : null)) })),
  }));
}

/** One series per pruner over the union of the sweep's sparsities (uPlot needs one shared x). */
function sweepChart(sweep: readonly SweepRow[]): ChartSpec {
  const xs = [...new Set(sweep.map((r) => r.sparsity))].sort((a, b) => a - b);
  const pruners = [...new Set(sweep.map((r) => r.pruner))];
  return {
    id: 'tradeoff',
    title: 'Accuracy vs sparsity',
    xLabel: 'sparsity',
    yLabel: 'accuracy',
    x: xs,
    xCompression: xs.map((s) => (s < 1 ? compressionRatio(s) : null)),
    titleCompression: 'Accuracy vs compression',
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
    var xLabel = compression ? 'compression ratio 1/(1-sparsity), log2' : spec.xLabel;
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
figure { margin: 12px 0; } figure img { max-width: 100%; border: 1px solid #eee; } figcaption { color: #555; font-size: 14px; }
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

  const epochs = run.epochs ?? [];
  if (epochs.length) {
    const groups = run.metricGroups ?? defaultMetricGroups(epochs);
    const specs = epochCharts(epochs, groups);
    charts.push(...specs);
    const blocks = specs.map((spec, i) => {
      const png = renderCurves(spec.series.map((s) => ({ ...s, x: spec.x })), { title: spec.title, yLabel: groups[i].yLabel });
      return `<div class="chart" id="${spec.id}"></div><details><summary>PNG</summary>${figure(spec.title, png)}</details>`;
    });
    const keys = metricKeys(epochs);
    const rows = epochs.map((r) => [r.epoch, ...keys.map((k) => r[k])]);
    const body = `${blocks.join('\n')}\n<h3>Metrics per epoch</h3><div class="scroll">${table(['epoch', ...keys], rows)}</div>`;
    sections.push({ id: 'curves', title: 'Training curves', body });
  }

  if (run.layers?.length) {
    const rows = run.layers.map((l) => [
      l.name,
      l.shape ? shapeText(l.shape) : '-',
      l.params ?? null,
      l.params !== undefined ? Math.round(l.params * (1 - l.sparsity)) : null,
      formatPercent(l.sparsity, 2),
    ]);
    const png = renderSparsityBars(run.layers, { overall: run.overallSparsity });
    const overall = run.overallSparsity !== undefined ? `<p>Overall sparsity: ${formatPercent(run.overallSparsity, 2)}</p>` : '';
    sections.push({
      id: 'layers',
      title: 'Sparsity per layer',
      body: `${overall}${table(['layer', 'shape', 'weights', 'kept', 'pruned'], rows)}${figure('Sparsity per layer', png)}`,
    });
  }

  if (run.confusion) {
    const png = renderConfusion(run.confusion.counts, run.confusion.classNames);
    sections.push({ id: 'confusion', title: 'Confusion matrix', body: figure('Confusion matrix', png, 'Rows: true class; columns: predicted; colour: share of the row.') });
  }

  const pictures: string[] = [];
  for (const m of run.masks ?? []) pictures.push(figure(`${m.name} mask`, renderMaskHeatmap(m.mask, m.shape, { name: m.name })));
  for (const f of run.filters ?? []) {
    const kind = f.kind ?? (f.shape[1] === 3 ? 'rgb' : 'signed');
    const png = kind === 'rgb' ? renderRgbFilters(f.weights, f.shape, { name: f.name }) : renderFilterGrid(f.weights, f.shape, { name: f.name, mode: kind });
    pictures.push(figure(`${f.name} filters`, png));
  }
  for (const img of run.images ?? []) pictures.push(figure(img.title, img.png, img.caption ?? img.title));
  if (pictures.length) sections.push({ id: 'pictures', title: 'Masks and filters', body: pictures.join('\n') });

  if (run.sweep?.length) {
    const spec = sweepChart(run.sweep);
    charts.push(spec);
    const extras = [...new Set(run.sweep.flatMap((r) => Object.keys(r)))].filter((k) => !['pruner', 'sparsity', 'accuracy'].includes(k));
    const rows = run.sweep.map((r) => [r.pruner, r.sparsity, r.sparsity < 1 ? compressionRatio(r.sparsity) : null, r.accuracy, ...extras.map((k) => r[k])]);
    const toggle = `<label>x axis: <select id="${spec.id}-x"><option value="sparsity">sparsity</option><option value="compression">compression ratio (log2)</option></select></label>`;
    const pngs = [
      figure('Accuracy vs sparsity', renderTradeoff(run.sweep, { baseline: run.sweepBaseline })),
      figure('Accuracy vs compression', renderTradeoff(run.sweep, { baseline: run.sweepBaseline, xAxis: 'compression' })),
    ];
    const body = `${toggle}<div class="chart" id="${spec.id}"></div><details><summary>PNG</summary>${pngs.join('\n')}</details>
${table(['pruner', 'sparsity', 'compression', 'accuracy', ...extras], rows)}`;
    sections.push({ id: 'sweep', title: 'Sparsity sweep', body });
  }

  if (run.config && Object.keys(run.config).length) {
    sections.push({ id: 'config', title: 'Configuration', body: table(['key', 'value'], flatten(run.config)) });
  }
  if (run.notes?.length) {
    sections.push({ id: 'notes', title: 'Notes', body: `<ul>${run.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` });
  }

  const { js, css } = uplotAssets();
  const colors = PALETTE.map(([r, g, b]) => `rgb(${r},${g},${b})`);
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
