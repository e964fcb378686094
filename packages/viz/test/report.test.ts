import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { defaultMetricGroups, renderReport, renderSparsityBars, type RunReportData } from '@sparsenet/viz';
import { decode } from './png.js';

const require = createRequire(import.meta.url);
const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');

function sampleRun(): RunReportData {
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
    final: { testAccuracy: 0.7, balancedAccuracy: 0.61 },
    layers: [
      { name: 'conv1', sparsity: 0.3, params: 450, shape: [6, 3, 5, 5] },
      { name: 'fc1', sparsity: 0.9, params: 48000, shape: [120, 400] },
    ],
    overallSparsity: 0.88,
    confusion: { classNames: ['a', 'b'], counts: [[5, 1], [2, 7]] },
    masks: [{ name: 'conv1', shape: [6, 3, 5, 5], mask: Float32Array.from({ length: 450 }, (_, i) => i % 2) }],
    filters: [{ name: 'conv1', shape: [6, 3, 5, 5], weights: Float32Array.from({ length: 450 }, (_, i) => Math.sin(i)) }],
    images: [{ title: 'extra figure', png: renderSparsityBars([{ name: 'x', sparsity: 0.5 }]) }],
    sweep: [
      { pruner: 'magnitude', sparsity: 0.5, accuracy: 0.75, balancedAccuracy: 0.6 },
      { pruner: 'magnitude', sparsity: 0.9, accuracy: 0.7 },
      { pruner: 'random', sparsity: 0.5, accuracy: 0.72 },
      { pruner: 'random', sparsity: 0.75, accuracy: 0.66 },
    ],
    sweepBaseline: 0.77,
    notes: ['note <b>'],
  };
}

describe('run report', () => {
  const run = sampleRun();
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

  it('embeds the PNG figures as data: URIs that decode', () => {
    const uris = [...html.matchAll(/src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => m[1]);
    // 3 curves (loss, fractions, lr) + bars + confusion + mask + filters + extra image + 2 trade-offs
    expect(uris.length).toBe(10);
    for (const b64 of uris) {
      const img = decode(Buffer.from(b64, 'base64'));
      expect(img.width).toBeGreaterThan(100);
    }
  });

  it('carries the series data for the interactive charts', () => {
    const json = html.match(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/)![1];
    const data = JSON.parse(json);
    const byTitle = new Map<string, { x: number[]; series: Array<{ name: string; y: Array<number | null> }> }>(
      data.charts.map((c: { title: string }) => [c.title, c]),
    );
    const loss = byTitle.get('Loss')!;
    expect(loss.x).toEqual([1, 2, 3, 4]);
    expect(loss.series.map((s) => s.name)).toEqual(['trainLoss', 'testLoss']);
    expect(loss.series[0].y).toEqual(run.epochs!.map((r) => r.trainLoss));
    const fractions = byTitle.get('Accuracy and sparsity')!;
    expect(fractions.series.map((s) => s.name)).toEqual(['testAccuracy', 'sparsity']);
    const sweep = byTitle.get('Accuracy vs sparsity')!;
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
    expect(html).toContain('balancedAccuracy');
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
  });
});
