import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { defaultMetricGroups, renderReport, renderSvg, scopeSvgIds, sparsityBarsSpec, tradeoffSpec, type RunReportData } from '@sparsenet/viz';
import { CAMEL_CASE } from './svg.js';

const require = createRequire(import.meta.url);
const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');

async function sampleRun(): Promise<RunReportData> {
  const epochs = [1, 2, 3, 4].map((e) => ({
    epoch: e,
    trainLoss: 2 / e,
    testLoss: 2.5 / e,
    testAccuracy: 0.5 + e / 20,
    sparsity: e / 5,
    lr: 0.001,
  }));
  return {
    title: 'Run <lenet> & "magnitude"',
    subtitle: 'seed 1',
    config: { model: 'lenet5', optimizer: { name: 'adam', lr: 0.001 }, classes: ['a', 'b'] },
    epochs,
    final: { 'test accuracy': 0.7, 'balanced accuracy': 0.61 },
    layers: [
      { name: 'conv1', sparsity: 0.3, params: 450, shape: [6, 3, 5, 5] },
      { name: 'fc1', sparsity: 0.9, params: 48000, shape: [120, 400] },
    ],
    overallSparsity: 0.88,
    figures: [
      { section: 'layers', title: 'Sparsity per layer', svg: await renderSvg(sparsityBarsSpec([{ name: 'conv1', sparsity: 0.3 }, { name: 'fc1', sparsity: 0.9 }])) },
      { section: 'sweep', title: 'Trade-off', caption: 'mean over seeds', svg: await renderSvg(tradeoffSpec([0, 1].map((seed) => ({ pruner: 'magnitude', target: 0.5, sparsity: 0.5, accuracy: 0.7 + seed / 100, seed })))) },
    ],
    sweep: [
      { pruner: 'magnitude', sparsity: 0.5, accuracy: 0.75, balancedAccuracy: 0.6 },
      { pruner: 'magnitude', sparsity: 0.9, accuracy: 0.7 },
      { pruner: 'random', sparsity: 0.5, accuracy: 0.72 },
      { pruner: 'random', sparsity: 0.75, accuracy: 0.66 },
    ],
    notes: ['note <b>'],
  };
}

describe('run report', async () => {
  const run = await sampleRun();
  const html = renderReport(run);

  it('inlines uPlot and references nothing on the network', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(uplotJs.slice(0, 2000));
    expect(html).toContain(uplotJs.slice(-2000));
    expect(html).toContain('.uplot');
    expect(html).not.toMatch(/<script[^>]*\ssrc\s*=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
  });

  it('shows the figures as inline SVG, each with its own ids, in their sections', () => {
    const svgs = [...html.matchAll(/<svg\b[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    expect(svgs.length).toBe(2);
    expect(html).not.toMatch(/<img\b/);
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    // Every url(#id) points at an id of the same figure.
    for (const svg of svgs) {
      const own = new Set([...svg.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]));
      for (const ref of svg.matchAll(/url\(#([^)]+)\)/g)) expect(own.has(ref[1]), ref[1]).toBe(true);
    }
    const layers = html.slice(html.indexOf('<section id="layers">'), html.indexOf('</section>', html.indexOf('<section id="layers">')));
    expect(layers).toContain('aria-label="conv1: 0.3 pruned"');
    expect(html).toContain('<figcaption>mean over seeds</figcaption>');
  });

  it('scopes ids and their references', () => {
    expect(scopeSvgIds('<svg><clipPath id="clip1"/><g clip-path="url(#clip1)"/><use href="#clip1"/></svg>', 'f3')).toBe(
      '<svg><clipPath id="f3-clip1"/><g clip-path="url(#f3-clip1)"/><use href="#f3-clip1"/></svg>',
    );
  });

  it('carries the series data for the interactive charts', () => {
    const json = html.match(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/)![1];
    const data = JSON.parse(json);
    const byTitle = new Map<string, { x: number[]; series: Array<{ name: string; y: Array<number | null> }> }>(
      data.charts.map((c: { title: string }) => [c.title, c]),
    );
    const loss = byTitle.get('Loss')!;
    expect(loss.x).toEqual([1, 2, 3, 4]);
    expect(loss.series.map((s) => s.name)).toEqual(['train loss', 'test loss']);
    expect(loss.series[0].y).toEqual(run.epochs!.map((r) => r.trainLoss));
    const fractions = byTitle.get('Accuracy and sparsity')!;
    expect(fractions.series.map((s) => s.name)).toEqual(['test accuracy', 'sparsity']);
    for (const chart of data.charts as Array<{ series: Array<{ name: string }>; title: string }>) {
      for (const s of chart.series) expect(s.name).not.toMatch(CAMEL_CASE);
      expect(chart.title).not.toMatch(CAMEL_CASE);
    }
    const sweep = byTitle.get('Accuracy against sparsity')!;
    expect(sweep.x).toEqual([0.5, 0.75, 0.9]);
    expect(sweep.series).toEqual([
      { name: 'magnitude', y: [0.75, null, 0.7] },
      { name: 'random', y: [0.72, 0.66, null] },
    ]);
  });

  it('has the tables and escapes text', () => {
    expect(html).toContain('Run &#60;lenet&#62; &#38; &#34;magnitude&#34;');
    expect(html).not.toContain('<lenet>');
    expect(html).not.toContain('note <b>');
    expect(html).toContain('optimizer.lr');
    expect(html).toContain('<th>balanced accuracy</th>');
    expect(html).toContain('<th>train loss</th>');
    expect(html).toContain('48000');
    expect(html).toContain('90.00%');
  });

  it('has page scripts that parse', () => {
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(scripts.length).toBe(2);
    for (const code of scripts) expect(() => new Function(code)).not.toThrow();
  });

  it('groups epoch metrics into loss, fractions and the rest', () => {
    expect(defaultMetricGroups(run.epochs!).map((g) => g.keys)).toEqual([['trainLoss', 'testLoss'], ['testAccuracy', 'sparsity'], ['lr']]);
  });

  it('renders a run with nothing but a title', () => {
    expect(renderReport({ title: 'empty' })).toContain('<h1>empty</h1>');
    expect(renderReport({ title: 'empty' })).not.toContain('<section');
  });
});
