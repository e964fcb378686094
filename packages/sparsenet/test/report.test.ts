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

/** Every figure of a SparseNet run, and its size in SVG pixels where it is fixed (pictures of weights take their layer's shape). */
const EXPECTED_FIGURES: Record<string, keyof typeof FIGURE_SIZES | null> = {
  'curves-loss': 'curves',
  'curves-accuracy': 'curves',
  'curves-balanced-accuracy': 'curves',
  'curves-sparsity': 'curves',
  'sparsity-layers': 'sparsityBars',
  confusion: 'confusion',
  'filters-conv1': null,
  'filters-conv2': null,
  ...Object.fromEntries(LAYERS.map((l) => [`mask-${l}`, null])),
};
const FIGURE_FILES = Object.keys(EXPECTED_FIGURES).flatMap((f) => [`${f}.svg`, `${f}.png`]);

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
    files = await writeRunReport(run.outDir);
  });
  afterAll(() => {
    for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
  });

  it('writes every figure as an SVG and a PNG of twice its size, the fixed ones at their documented size', () => {
    expect(files.figures.map((f) => basename(f)).sort()).toEqual([...FIGURE_FILES].sort());
    for (const [file, kind] of Object.entries(EXPECTED_FIGURES)) {
      const svg = readFileSync(join(run.outDir, FIGURES_DIR, `${file}.svg`), 'utf8');
      const [, width, height] = /<svg[^>]*\swidth="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
      if (kind) expect([width, height], file).toEqual([...FIGURE_SIZES[kind]]);
      const png = PNG.sync.read(readFileSync(join(run.outDir, FIGURES_DIR, `${file}.png`)));
      expect([png.width, png.height], file).toEqual([2 * width, 2 * height]);
      // The report shows the very same SVG, its ids prefixed with the figure's.
      expect(readFileSync(files.html, 'utf8').replace(/(id="|url\(#|href="#)fig\d+-/g, '$1'), file).toContain(svg);
    }
  });

  it('labels the figures in words: train, validation, test; the layers by name', () => {
    const read = (file: string) => readFileSync(join(run.outDir, FIGURES_DIR, `${file}.svg`), 'utf8');
    const texts = (file: string) => [...read(file).matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const file of ['curves-loss', 'curves-accuracy']) expect(texts(file)).toEqual(expect.arrayContaining(['train', 'validation', 'test', 'epoch']));
    expect(texts('curves-sparsity')).toEqual(expect.arrayContaining(['all layers', ...LAYERS]));
    // fc1's long matrix is drawn by (neuron, conv2 channel), and says so with its share pruned.
    expect(texts('mask-fc1').some((t) => /^fc1 \[120,2704\] as \[120,16,13,13\]: \d+\.\d% pruned$/.test(t)), texts('mask-fc1').join(' | ')).toBe(true);
    for (const file of Object.keys(EXPECTED_FIGURES)) for (const t of texts(file)) expect(t, `${file}: '${t}'`).not.toMatch(/\b[a-z]+[A-Z][A-Za-z]*\b/);
    expect(read('curves-accuracy')).toContain(`aria-label="test, epoch 1: ${history[0].testAccuracy}"`);
    // Sparsity per layer counts the zeros of weight x mask (the checkpoint's weights).
    const fc1 = readRunFolder(run.outDir).state['fc1.weight'].data;
    const plotted = Number(/aria-label="fc1: ([\d.e-]+) pruned"/.exec(read('sparsity-layers'))![1]);
    expect(plotted).toBeCloseTo(fc1.filter((v) => v === 0).length / fc1.length, 12);
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
    expect((html.match(/<svg\b/g) ?? []).length).toBe(Object.keys(EXPECTED_FIGURES).length);

    const { charts } = reportData(html);
    expect(charts.map((c) => c.series.map((s) => s.name))).toEqual([
      ['train', 'validation', 'test'],
      ['train', 'validation', 'test'],
      ['validation', 'test'],
      ['all layers', ...LAYERS],
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

  it('an unfinished run (no final.json, no final.safetensors) uses its last epoch and last.safetensors', async () => {
    const dir = unfinishedCopy(run.outDir);
    cleanup.push(dirname(dir));
    const folder = readRunFolder(dir);
    expect(folder.final).toBeNull();
    expect(folder.checkpointFile).toBe('last.safetensors');
    // The resume checkpoint's optimizer moments are not model tensors.
    expect(Object.keys(folder.state).every((k) => /^(conv[12]|fc[123])\./.test(k))).toBe(true);
    const { html, figures } = await writeRunReport(dir, ['png']);
    expect(figures.map((f) => basename(f)).sort()).toEqual(Object.keys(EXPECTED_FIGURES).map((f) => `${f}.png`).sort());
    const text = readFileSync(html, 'utf8');
    expect(text).toContain(`unfinished: ${history.at(-1)!.epoch} of 1 epochs`);
    expect(text).toContain(`<td class="num">${formatValue(history.at(-1)!.testAccuracy)}</td>`);
  });

  it('errors name a missing folder, or the file that makes a folder not a run', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sparsenet-notarun-'));
    cleanup.push(empty);
    await expect(writeRunReport(join(empty, 'nope'))).rejects.toThrow(`report: run folder not found: ${join(empty, 'nope')}`);
    await expect(writeRunReport(empty)).rejects.toThrow(`report: ${empty} is not a run folder: config.json is missing`);
    writeFileSync(join(empty, 'config.json'), '{}');
    await expect(writeRunReport(empty)).rejects.toThrow('metrics.json is missing');
    writeFileSync(join(empty, 'metrics.json'), '{"epochs": []}');
    await expect(writeRunReport(empty)).rejects.toThrow('final.safetensors and last.safetensors are missing');
    writeFileSync(join(empty, 'last.safetensors'), 'not safetensors');
    await expect(writeRunReport(empty)).rejects.toThrow('metrics.json records no epoch');
    writeFileSync(join(empty, 'metrics.json'), '{"epochs": [');
    await expect(writeRunReport(empty)).rejects.toThrow(`${join(empty, 'metrics.json')} is not valid JSON`);
    expect(existsSync(join(empty, 'report.html'))).toBe(false);
  });

  it('npm run report -- RUN_DIR [--format]: rebuilds the report; wants exactly one folder and known formats', async () => {
    const printed: string[] = [];
    await reportCommand([run.outDir, '--format', 'svg'], (t) => printed.push(t));
    expect(printed[0]).toContain(join(run.outDir, 'report.html'));
    expect(printed[0]).toContain(`${Object.keys(EXPECTED_FIGURES).length} figure files`);
    await expect(reportCommand([], () => {})).rejects.toThrow('report: expected one run folder or sweep CSV, got none');
    await expect(reportCommand(['a', 'b'], () => {})).rejects.toThrow('report: expected one run folder or sweep CSV, got a b');
    await expect(reportCommand(['--nope'], () => {})).rejects.toThrow(/^report: Unknown option '--nope'/);
    await expect(reportCommand([run.outDir, '--format', 'pdf'], () => {})).rejects.toThrow(/--format pdf: not supported/);
    await expect(reportCommand([run.outDir, '--out', 'x'], () => {})).rejects.toThrow(/--out is for a sweep CSV/);
  });

  it("npm run report -- sweep.csv: the trade-off figures of a sweep's per-seed rows; names a bad row", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparsenet-sweepcsv-'));
    cleanup.push(dir);
    const rows = [
      'pruner,target_sparsity,seed,test_accuracy,balanced_accuracy,sparsity',
      ...[0, 1].flatMap((seed) => [`dense,0,${seed},0.7${seed},0.4,0`, `dense-finetuned,0,${seed},0.71,0.41,0`, `magnitude,0.9,${seed},0.6${seed},0.3,0.9`]),
    ];
    writeFileSync(join(dir, 'sweep.csv'), `${rows.join('\n')}\n`);
    const printed: string[] = [];
    await reportCommand([join(dir, 'sweep.csv'), '--out', join(dir, 'figures')], (t) => printed.push(t));
    for (const f of ['tradeoff', 'tradeoff-compression', 'tradeoff-balanced']) for (const ext of ['svg', 'png']) expect(existsSync(join(dir, 'figures', `${f}.${ext}`)), `${f}.${ext}`).toBe(true);
    const svg = readFileSync(join(dir, 'figures', 'tradeoff.svg'), 'utf8');
    expect(svg).toContain('aria-label="magnitude, sparsity 0.9: mean 0.605, band');
    expect(svg).toContain('aria-label="dense baseline: mean 0.705, band');
    writeFileSync(join(dir, 'bad.csv'), `${rows[0]}\nrandom,0.5,0,x,0.3,0.5\n`);
    await expect(reportCommand([join(dir, 'bad.csv')], () => {})).rejects.toThrow(`${join(dir, 'bad.csv')} line 2: test_accuracy 'x' is not a number`);
  });
});
