/** The run report: figures and report.html rebuilt from a run folder alone, finished or not; errors naming what is missing. */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safetensors } from '@sparsenet/tensor';
import { formatValue } from '@sparsenet/viz';
import { FIGURE_SIZES, FIGURES_DIR, readRunFolder, reportCommand, writeRunReport, type EpochRecord, type FinalRecord, type RunReportFiles, type TrainResult } from '@sparsenet/sparsenet';
import { useDevice } from '../../tensor/test/helpers.js';
import { trainTinyRun } from './report-fixtures.js';

useDevice();

const uplotJs = readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
const LAYERS = ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'];

/** Every figure of a SparseNet run and its size. */
const EXPECTED_FIGURES: Record<string, keyof typeof FIGURE_SIZES> = {
  'curves-loss.png': 'curves',
  'curves-accuracy.png': 'curves',
  'curves-balanced-accuracy.png': 'curves',
  'curves-sparsity.png': 'curves',
  'sparsity-layers.png': 'sparsityBars',
  'confusion.png': 'confusion',
  'filters-conv1.png': 'rgbFilters',
  'filters-conv2.png': 'filterGrid',
  ...Object.fromEntries(LAYERS.map((l) => [`mask-${l}.png`, 'mask'])),
};

function reportData(html: string): { charts: Array<{ title: string; x: number[]; series: Array<{ name: string; y: Array<number | null> }> }> } {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(match, 'report-data script').not.toBeNull();
  return JSON.parse(match![1]);
}

/** A copy of the run folder as if the run had been stopped after its last epoch (no final files). */
function unfinishedCopy(runDir: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'sparsenet-unfinished-')), 'run');
  mkdirSync(dir);
  for (const file of ['config.json', 'metrics.json', 'metrics.csv', 'split.csv', 'last.safetensors']) copyFileSync(join(runDir, file), join(dir, file));
  return dir;
}

describe('run report', () => {
  let run: TrainResult;
  let final: FinalRecord;
  let history: EpochRecord[];
  let files: RunReportFiles;
  const cleanup: string[] = [];

  beforeAll(async () => {
    run = await trainTinyRun('sparsenet-report-');
    cleanup.push(dirname(run.outDir));
    final = JSON.parse(readFileSync(join(run.outDir, 'final.json'), 'utf8'));
    history = JSON.parse(readFileSync(join(run.outDir, 'metrics.json'), 'utf8')).epochs;
    files = writeRunReport(run.outDir);
  });
  afterAll(() => {
    for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
  });

  it('writes every figure as a PNG of its documented size', () => {
    expect(files.figures.map((f) => basename(f)).sort()).toEqual(Object.keys(EXPECTED_FIGURES).sort());
    for (const [file, kind] of Object.entries(EXPECTED_FIGURES)) {
      const png = PNG.sync.read(readFileSync(join(run.outDir, FIGURES_DIR, file)));
      expect([png.width, png.height], file).toEqual([...FIGURE_SIZES[kind]]);
    }
  });

  it('report.html inlines uPlot and holds the run: final metrics, curves, seed-format sparsity, config', () => {
    const html = readFileSync(files.html, 'utf8');
    expect(html).toContain(uplotJs.slice(0, 2000));
    expect(html).toContain(uplotJs.slice(-2000));
    expect(html).not.toMatch(/<script[^>]*\ssrc\s*=/i);
    expect(html).toContain(`<td class="num">${formatValue(final.testAccuracy)}</td>`);
    expect(html).toContain(`<td class="num">${formatValue(final.testLoss)}</td>`);
    for (const line of readFileSync(join(run.outDir, 'sparsity.txt'), 'utf8').trim().split('\n')) expect(html).toContain(line);
    expect(html).toContain(`>${run.outDir}</td>`);
    expect((html.match(/src="data:image\/png;base64,/g) ?? []).length).toBeGreaterThanOrEqual(Object.keys(EXPECTED_FIGURES).length);

    const { charts } = reportData(html);
    expect(charts.map((c) => c.series.map((s) => s.name))).toEqual([
      ['trainLoss', 'valLoss', 'testLoss'],
      ['trainAccuracy', 'valAccuracy', 'testAccuracy'],
      ['valBalancedAccuracy', 'testBalancedAccuracy'],
      ['sparsity', ...LAYERS.map((l) => `sparsity_${l}`)],
    ]);
    const value = (chart: number, series: number) => charts[chart].series[series].y;
    expect(charts[0].x).toEqual(history.map((r) => r.epoch));
    expect(value(0, 0)).toEqual(history.map((r) => r.trainLoss));
    expect(value(1, 2)).toEqual(history.map((r) => r.testAccuracy));
    expect(value(2, 1)).toEqual(history.map((r) => r.testBalancedAccuracy));
    expect(value(3, 0)).toEqual(history.map((r) => r.sparsity));
  });

  it('reads the masks and per-layer zeros from the checkpoint', () => {
    const folder = readRunFolder(run.outDir);
    expect(folder.checkpointFile).toBe('final.safetensors');
    expect(folder.final).toEqual(final);
    const saved = safetensors.decode(new Uint8Array(readFileSync(join(run.outDir, 'final.safetensors')))).tensors;
    for (const layer of LAYERS) {
      const mask = folder.state[`${layer}.weight_mask`];
      expect(mask.shape).toEqual(saved[`${layer}.weight_mask`].shape);
      expect(Array.from(mask.data)).toEqual(Array.from(saved[`${layer}.weight_mask`].data as Float32Array));
    }
    // One-shot magnitude pruning at step 0 to 50%: the masks are not all ones.
    expect(final.sparsity).toBeGreaterThan(0.45);
  });

  it('an unfinished run (no final.json, no final.safetensors) uses its last epoch and last.safetensors', () => {
    const dir = unfinishedCopy(run.outDir);
    cleanup.push(dirname(dir));
    const folder = readRunFolder(dir);
    expect(folder.final).toBeNull();
    expect(folder.checkpointFile).toBe('last.safetensors');
    // The resume checkpoint's optimizer moments are not model tensors.
    expect(Object.keys(folder.state).every((k) => /^(conv[12]|fc[123])\./.test(k))).toBe(true);
    const { html, figures } = writeRunReport(dir);
    expect(figures.length).toBe(Object.keys(EXPECTED_FIGURES).length);
    const text = readFileSync(html, 'utf8');
    expect(text).toContain(`unfinished: ${history.at(-1)!.epoch} of 1 epochs`);
    expect(text).toContain(`<td class="num">${formatValue(history.at(-1)!.testAccuracy)}</td>`);
  });

  it('errors name a missing folder, or the file that makes a folder not a run', () => {
    const empty = mkdtempSync(join(tmpdir(), 'sparsenet-notarun-'));
    cleanup.push(empty);
    expect(() => writeRunReport(join(empty, 'nope'))).toThrow(`report: run folder not found: ${join(empty, 'nope')}`);
    expect(() => writeRunReport(empty)).toThrow(`report: ${empty} is not a run folder: config.json is missing`);
    writeFileSync(join(empty, 'config.json'), '{}');
    expect(() => writeRunReport(empty)).toThrow('metrics.json is missing');
    writeFileSync(join(empty, 'metrics.json'), '{"epochs": []}');
    expect(() => writeRunReport(empty)).toThrow('final.safetensors and last.safetensors are missing');
    writeFileSync(join(empty, 'last.safetensors'), 'not safetensors');
    expect(() => writeRunReport(empty)).toThrow('metrics.json records no epoch');
    writeFileSync(join(empty, 'metrics.json'), '{"epochs": [');
    expect(() => writeRunReport(empty)).toThrow(`${join(empty, 'metrics.json')} is not valid JSON`);
    expect(existsSync(join(empty, 'report.html'))).toBe(false);
  });

  it('npm run report -- RUN_DIR: rebuilds the report; wants exactly one folder', () => {
    const printed: string[] = [];
    reportCommand([run.outDir], (t) => printed.push(t));
    expect(printed[0]).toContain(join(run.outDir, 'report.html'));
    expect(() => reportCommand([], () => {})).toThrow('report: expected one run folder, got none');
    expect(() => reportCommand(['a', 'b'], () => {})).toThrow('report: expected one run folder, got a b');
    expect(() => reportCommand(['--nope'], () => {})).toThrow(/^report: Unknown option '--nope'/);
  });
});
