/**
 * The page in Debian's Chromium (/usr/bin/chromium, driven by playwright-core; never a browser download), headless,
 * with WebGPU on SwiftShader, against Node on the same SwiftShader (a child process: one process, one device) with
 * the same kernel variants forced:
 *   - the kernel conformance set: every case passes its float64 reference in the page, and the page's outputs
 *     equal Node's to 1e-5 (max |diff| relative to max |value|, per case and output);
 *   - a checkpoint from a tiny training run in Node (32x32 inputs, normalised by the data set's mean and std)
 *     classifies the sample images in the page, decoded at the checkpoint's size, normalised and labelled as its
 *     run metadata says, with Node's evaluation probabilities (1e-5) on the pixels the browser decoded, and its
 *     mask heatmaps show pruned cells;
 *   - a few training steps in the page lower the loss;
 *   - the run's report.html, opened from disk, draws its uPlot charts and its inline SVG figures (pixels in the
 *     series' colours).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { nn, safetensors } from '@sparsenet/tensor';
import { conformanceCases } from '@sparsenet/tensor/conformance';
import { CLASSES, readMetadata } from '@sparsenet/sparsenet';
import { PALETTE, PRUNED_RGB, viridis } from '@sparsenet/viz';
import type { PageState } from '../page/api.js';
import type { PredictedReference, PreparedReference } from '../node/reference.js';
import { NODE_REFERENCE, nodeReferenceConfig, REPO, SAMPLES_DIR, WEB, webConfig } from '../vite.config.js';
import samplesJson from '../samples.json';

/** The flag set seen working with Chromium 156 (the README lists them); a fresh --user-data-dir is given by playwright. */
export const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--disable-gpu-sandbox', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
const CHROMIUM = process.env.SPARSENET_CHROMIUM ?? '/usr/bin/chromium';
/** Forced in Node (SPARSENET_VARIANTS) and in the page (?variants=): the variants the CPU heuristic picks on SwiftShader. */
const VARIANTS = 'matmul=subgroup,conv2d=register';
const TRAIN_STEPS = 6;
const DATA_DIR = join(REPO, 'data', 'ham10000-64');

let work: string;
let server: PreviewServer;
let context: BrowserContext;
let page: Page;
let node: PreparedReference;
let state: PageState;
const logs: string[] = [];

/** Runs the bundled Node side on SwiftShader; resolves when it exits 0, with its stderr tail on failure. */
function nodeReference(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NODE_REFERENCE, ...args], {
      cwd: REPO,
      env: { ...process.env, SPARSENET_ADAPTER: 'swiftshader', SPARSENET_VARIANTS: VARIANTS },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`reference.js ${args[0]} exited with ${code}:\n${stderr}`))));
  });
}

async function waitForPage(): Promise<PageState> {
  await page.waitForFunction(() => ['ready', 'done', 'error'].includes(window.sparsenet?.state.status), undefined, { timeout: 150_000, polling: 250 });
  const s = await page.evaluate(() => window.sparsenet.state);
  if (s.status === 'error') throw new Error(`page: ${s.error}\n${logs.slice(-20).join('\n')}`);
  return s;
}

/** max |a - b| / max |b| over one output (0 / 0 = 0). */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff === 0 ? 0 : diff / scale;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sparsenet-web-'));
  await build({ configFile: false, ...webConfig() });
  await build(nodeReferenceConfig());
  // Node trains the checkpoint and runs the conformance set while the page runs it too.
  const prepared = nodeReference('prepare', DATA_DIR, join(work, 'run'), join(work, 'node.json'));
  prepared.catch(() => {});
  server = await preview({ configFile: false, ...webConfig({ mounts: { '/samples/': SAMPLES_DIR, '/runs/': work }, port: 0 }) });
  context = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: CHROMIUM, headless: false, args: CHROMIUM_FLAGS });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  const url = server.resolvedUrls!.local[0];
  await page.goto(`${url}?variants=${encodeURIComponent(VARIANTS)}&run=conformance`);
  state = await waitForPage();
  await prepared;
  node = JSON.parse(readFileSync(join(work, 'node.json'), 'utf8')) as PreparedReference;
  await page.evaluate(async (steps) => {
    await window.sparsenet.classify('runs/run/final.safetensors');
    await window.sparsenet.train(steps);
  }, TRAIN_STEPS);
  state = await waitForPage();
}, 300_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the page in Chromium on SwiftShader', () => {
  it('bundles without Node built-ins and runs on the browser adapter with the forced variants', () => {
    const bundle = readFileSync(join(WEB, 'dist', 'index.html'), 'utf8');
    expect(bundle).toContain('<script type="module"');
    expect(state.device?.kind).toBe('browser');
    expect(`${state.device?.vendor} ${state.device?.architecture}`).toMatch(/swiftshader/i);
    expect(node.device.kind).toBe('swiftshader');
    expect(state.variants).toEqual({ matmul: 'subgroup', conv2d: 'register' });
  });

  it('runs a fixed conformance list covering every kernel and variant', () => {
    const cases = conformanceCases();
    const kernels = new Set(cases.map((c) => c.spec.kernel));
    for (const kernel of ['matmul', 'matmul_csr', 'matmul_nm', 'conv2d_forward', 'conv2d_csr', 'conv2d_nm', 'conv2d_backward_input', 'conv2d_backward_weight', 'maxpool2d_forward',
      'maxpool2d_backward', 'relu', 'relu_backward', 'softmax_cross_entropy', 'count_correct', 'adam', 'sgd', 'sum_axes', 'fill', 'binary', 'transpose', 'scale',
      'avgpool2d_forward', 'avgpool2d_backward', 'add_relu', 'dropout', 'batchnorm_statistics', 'batchnorm_eval_statistics', 'batchnorm_normalize',
      'batchnorm_backward_reduce', 'batchnorm_backward_input', 'batchnorm_backward_input_eval'] as const) {
      expect(kernels.has(kernel), kernel).toBe(true);
    }
    const variants = (kernel: string) => [...new Set(cases.flatMap((c) => (c.spec.kernel === kernel && 'variant' in c.spec ? [c.spec.variant] : [])))].sort();
    expect(variants('matmul')).toEqual([...k.MATMUL_VARIANTS].sort());
    expect(variants('conv2d_forward')).toEqual([...k.CONV2D_FORWARD_VARIANTS].sort());
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(state.conformance!.map((r) => r.name)).toEqual(cases.map((c) => c.name));
    expect(node.conformance.map((r) => r.name)).toEqual(cases.map((c) => c.name));
  });

  it('passes every conformance case against the float64 references in the page', () => {
    const failed = state.conformance!.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
    expect(failed).toEqual([]);
    expect(state.conformance!.filter((r) => r.status === 'unsupported')).toEqual([]);
  });

  it("gives the same conformance outputs as Node on the same driver (1e-5)", () => {
    let worst = { case: '', difference: 0 };
    let values = 0;
    for (const [i, row] of state.conformance!.entries()) {
      const theirs = node.conformance[i];
      expect(row.status).toBe(theirs.status);
      expect(Object.keys(row.outputs).sort()).toEqual(Object.keys(theirs.outputs).sort());
      for (const [name, output] of Object.entries(row.outputs)) {
        const difference = relativeDifference(output, theirs.outputs[name]);
        values += output.length;
        if (difference >= worst.difference) worst = { case: `${row.name} ${name}`, difference };
      }
    }
    console.log(`conformance: ${state.conformance!.length} cases, ${values} output values; largest page-vs-Node difference ${worst.difference.toExponential(2)} (${worst.case})`);
    expect(worst.difference).toBeLessThanOrEqual(1e-5);
  });

  it("classifies the samples with Node's evaluation probabilities for the same checkpoint and pixels (1e-5)", async () => {
    const predictions = state.predictions!;
    expect(predictions.map((p) => p.file)).toEqual(samplesJson.samples.map((s) => s.file));
    writeFileSync(join(work, 'pixels.json'), JSON.stringify(predictions.map(({ file, pixels }) => ({ file, pixels }))));
    await nodeReference('predict', join(work, 'run', 'final.safetensors'), SAMPLES_DIR, join(work, 'pixels.json'), join(work, 'predicted.json'));
    const theirs = JSON.parse(readFileSync(join(work, 'predicted.json'), 'utf8')) as PredictedReference;
    const { run } = JSON.parse(readFileSync(join(work, 'run', 'config.json'), 'utf8'));
    expect([run.imageSize, run.normalization.mean[0] === 0.5]).toEqual([32, false]);
    for (const p of predictions) expect([p.pixels.length, p.classes]).toEqual([32 * 32 * 3, [...CLASSES]]);
    let probability = 0;
    let pixel = 0;
    let decodedProbability = 0;
    predictions.forEach((p, i) => {
      p.probabilities.forEach((v, c) => (probability = Math.max(probability, Math.abs(v - theirs.browserPixels[i].probabilities[c]))));
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      // For information: the browser's JPEG decoder against sharp (Node's), and what that does to the probabilities.
      p.pixels.forEach((v, j) => (pixel = Math.max(pixel, Math.abs(v - theirs.nodeDecoded[i].pixels[j]))));
      p.probabilities.forEach((v, c) => (decodedProbability = Math.max(decodedProbability, Math.abs(v - theirs.nodeDecoded[i].probabilities[c]))));
    });
    console.log(`classify: max |p_page - p_node| ${probability.toExponential(2)} on the same pixels; browser vs sharp decoding: max pixel difference ${pixel}, max probability difference ${decodedProbability.toExponential(2)}`);
    expect(probability).toBeLessThanOrEqual(1e-5);
  });

  it('shows the checkpoint masks with pruned cells in the pruned colour', async () => {
    const { tensors } = safetensors.decode(new Uint8Array(readFileSync(join(work, 'run', 'final.safetensors'))));
    const stateDict = nn.stateDictFromSafetensors(tensors);
    expect(state.checkpoint?.sparse).toBe(true);
    for (const summary of state.masks!) {
      const mask = stateDict[`${summary.layer}.weight_mask`].data;
      expect(summary.kept).toBe(Array.from(mask).filter((v) => v !== 0).length);
      expect(summary.kept).toBeLessThan(summary.total);
    }
    expect(state.masks!.map((m) => m.layer)).toEqual(['conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
    // conv1 [6,3,5,5] and fc2 [84,120] are drawn one cell per weight.
    for (const layer of ['conv1', 'fc2']) {
      const { data, shape } = stateDict[`${layer}.weight_mask`];
      const per = shape.slice(1).reduce((a, b) => a * b, 1);
      const at = (index: number) => {
        const [o, rest] = [Math.floor(index / per), index % per];
        return shape.length === 4 ? [o, Math.floor(rest / (shape[2] * shape[3])), Math.floor((rest % (shape[2] * shape[3])) / shape[3]), rest % shape[3]] : [o, rest, 0, 0];
      };
      const color = (index: number) => page.evaluate(([l, o, i, ky, kx]) => window.sparsenet.maskCellColor(l as string, o as number, i as number, ky as number, kx as number), [layer, ...at(index)]);
      expect(await color(data.indexOf(0)), `${layer} pruned`).toEqual([...PRUNED_RGB]);
      expect(await color(data.indexOf(1)), `${layer} kept`).toEqual([...viridis(1)]);
    }
  });

  it('lowers the loss in a few training steps in the browser', () => {
    const { losses, ms } = state.training!;
    console.log(`train: ${TRAIN_STEPS} steps in the page in ${(ms / 1000).toFixed(1)} s, loss ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    expect(losses).toHaveLength(TRAIN_STEPS);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
  });

  it('uses the sample labels and class names of the data set', () => {
    expect(samplesJson.classes).toEqual([...CLASSES]);
    const dx = new Map(readMetadata(join(DATA_DIR, 'HAM10000_metadata.csv')).map((r) => [`${r.imageId}.jpg`, r.dx]));
    for (const s of samplesJson.samples) expect(dx.get(s.file), s.file).toBe(s.dx);
  });

  it("draws the run report's uPlot charts and SVG figures from disk (pixels in the series' colours)", async () => {
    const report = await context.newPage();
    try {
      await report.goto(pathToFileURL(join(work, 'run', 'report.html')).href);
      await report.waitForSelector('.uplot canvas', { timeout: 30_000 });
      const charts = await report.locator('.uplot canvas').count();
      expect(charts).toBeGreaterThan(0);
      const chart = report.locator('.uplot canvas').first();
      await chart.scrollIntoViewIfNeeded();
      const png = PNG.sync.read(await chart.screenshot());
      const near = (color: readonly number[], image = png) => {
        let n = 0;
        for (let i = 0; i < image.data.length; i += 4) {
          if (Math.abs(image.data[i] - color[0]) + Math.abs(image.data[i + 1] - color[1]) + Math.abs(image.data[i + 2] - color[2]) <= 30) n++;
        }
        return n;
      };
      const series = [near(PALETTE[0]), near(PALETTE[1])];
      console.log(`report: ${charts} uPlot charts; first chart ${png.width}x${png.height}, pixels in the first two series' colours: ${series.join(', ')}`);
      for (const count of series) expect(count).toBeGreaterThan(100);
      // The figures are the inline SVGs of the figure files: the first (the loss curves) draws in the series' colours too.
      const figures = report.locator('figure svg');
      expect(await figures.count()).toBeGreaterThan(5);
      await figures.first().scrollIntoViewIfNeeded();
      const figure = PNG.sync.read(await figures.first().screenshot());
      const figureSeries = [near(PALETTE[0], figure), near(PALETTE[1], figure)];
      console.log(`report: ${await figures.count()} SVG figures; first ${figure.width}x${figure.height}, pixels in the first two series' colours: ${figureSeries.join(', ')}`);
      for (const count of figureSeries) expect(count).toBeGreaterThan(100);
    } finally {
      await report.close();
    }
  });
});
