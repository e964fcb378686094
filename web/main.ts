/**
 * The page: opens navigator.gpu through @sparsenet/tensor, then on request runs the kernel conformance set,
 * classifies the sample images with a checkpoint and draws its masks, and trains LeNet a few steps.
 * URL parameters: variants=matmul=register,conv2d=direct (forced kernel variants), checkpoint=URL,
 * run=conformance,classify,train (run these at load, in order), steps=N (training steps).
 * Everything it finds is kept in `window.sparsenet.state` as JSON-able values.
 */
import { getDevice, getDeviceInfo, noGrad, parseVariants, runtime, scoped, tensor } from '@sparsenet/tensor';
import { describeArchitecture } from '../packages/sparsenet/src/zoo/index.js';
import type { MaskSummary, PageApi, PageState, Prediction } from './page/api.js';
import { loadCheckpoint, type LoadedCheckpoint } from './page/checkpoint.js';
import { softmax } from '../packages/sparsenet/src/train/metrics.js';
import { runConformancePanel } from './page/conformance.js';
import { cellCenter, drawHeatmap, type HeatmapPlan } from './page/heatmap.js';
import { decodeImage, imageUrl, normalisedBatch } from './page/images.js';
import { drawLosses, trainSteps } from './page/train.js';
import samplesJson from './samples.json';

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const { classes: CLASS_NAMES, samples: SAMPLES } = samplesJson as { classes: string[]; samples: { file: string; dx: string }[] };

const state: PageState = {
  status: 'starting', error: null, device: null, variants: parseVariants(params.get('variants') ?? ''),
  conformance: null, checkpoint: null, predictions: null, masks: null, training: null,
};

let loaded: LoadedCheckpoint | null = null;
const heatmaps = new Map<string, { canvas: HTMLCanvasElement; plan: HeatmapPlan }>();
/** The samples decoded at each image size asked for (a checkpoint's run says its size). */
const decodedSamples = new Map<number, Promise<Uint8Array[]>>();

/** Runs one action at a time with the buttons disabled; errors land in the page and in the state. */
async function busy(action: () => Promise<void>): Promise<void> {
  const controls = ['run-conformance', 'load-url', 'checkpoint-file', 'image-files', 'train'].map((id) => $<HTMLButtonElement>(id));
  controls.forEach((c) => (c.disabled = true));
  state.status = 'running';
  try {
    await action();
    state.status = 'ready';
  } catch (error) {
    state.status = 'error';
    state.error = (error as Error).stack ?? String(error);
    $('error').textContent = String(error);
    throw error;
  } finally {
    controls.forEach((c) => (c.disabled = false));
  }
}

function sampleImages(size?: number): Promise<Uint8Array[]> {
  const key = size ?? 0;
  if (!decodedSamples.has(key)) decodedSamples.set(key, Promise.all(SAMPLES.map(async ({ file }) => decodeImage(await fetchBlob(`samples/${file}`), size))));
  return decodedSamples.get(key)!;
}

async function fetchBlob(url: string): Promise<Blob> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.blob();
}

/** Class probabilities of images (decoded at the checkpoint's image size) with the loaded model, one forward pass for all. */
async function predict(images: Uint8Array[], files: string[], labels: (string | undefined)[]): Promise<Prediction[]> {
  if (!loaded) throw new Error('load a checkpoint first');
  const { model, run } = loaded;
  const size = run.imageSize;
  const n = run.classes.length;
  const logits = await scoped(async () => {
    const x = tensor(normalisedBatch(images, size, run.normalization), [images.length, 3, size, size]);
    model.eval();
    return (await noGrad(() => model.forward(x)).toArray({ checkFinite: true })) as Float32Array;
  });
  return images.map((rgb, i) => {
    const row = Array.from(logits.subarray(i * n, (i + 1) * n));
    return { file: files[i], dx: labels[i], pixels: Array.from(rgb), logits: row, probabilities: softmax(row), classes: [...run.classes] };
  });
}

function showPredictions(predictions: Prediction[]): void {
  $('predictions').replaceChildren(...predictions.map((p) => {
    const card = document.createElement('div');
    card.className = 'card';
    const img = document.createElement('img');
    img.src = imageUrl(Uint8Array.from(p.pixels), Math.round(Math.sqrt(p.pixels.length / 3)));
    const ranked = p.probabilities.map((prob, c) => ({ prob, name: p.classes[c] })).sort((a, b) => b.prob - a.prob).slice(0, 3);
    card.append(img, Object.assign(document.createElement('div'), { textContent: `${p.file}${p.dx ? ` (true: ${p.dx})` : ''}` }));
    for (const r of ranked) {
      const line = document.createElement('div');
      line.innerHTML = `<span class="bar" style="width:${Math.round(100 * r.prob)}px"></span>${r.name} ${(100 * r.prob).toFixed(1)}%`;
      card.append(line);
    }
    return card;
  }));
}

function showMasks(checkpoint: LoadedCheckpoint): MaskSummary[] {
  heatmaps.clear();
  const figures: HTMLElement[] = [];
  const summaries: MaskSummary[] = [];
  for (const [name, mask] of Object.entries(checkpoint.state)) {
    if (!name.endsWith('.weight_mask')) continue;
    const layer = name.slice(0, -'.weight_mask'.length);
    const canvas = document.createElement('canvas');
    const plan = drawHeatmap(canvas, mask.data, mask.shape);
    heatmaps.set(layer, { canvas, plan });
    let kept = 0;
    for (const v of mask.data) if (v !== 0) kept++;
    summaries.push({ layer, shape: [...mask.shape], kept, total: mask.data.length, mode: plan.mode, block: plan.block });
    const figure = document.createElement('figure');
    const pruned = (100 * (1 - kept / mask.data.length)).toFixed(1);
    const how = plan.mode === 'full' ? '' : `; cell = ${plan.block.join('x')} weights, coloured by the fraction kept`;
    figure.append(canvas, Object.assign(document.createElement('figcaption'), { textContent: `${layer} [${mask.shape}]: ${pruned}% pruned${how}` }));
    figures.push(figure);
  }
  $('masks').replaceChildren(...(figures.length ? figures : [Object.assign(document.createElement('p'), { textContent: 'A checkpoint without masks.' })]));
  return summaries;
}

async function useCheckpoint(bytes: Uint8Array, source: string): Promise<void> {
  loaded?.model.dispose();
  loaded = null;
  loaded = loadCheckpoint(bytes, source);
  const { run, metadata } = loaded;
  state.checkpoint = { source, sparse: run.architecture.masked, architecture: run.architecture };
  const about = Object.entries(metadata).filter(([k]) => !k.startsWith('optimizer') && k !== 'sparsenet.run').slice(0, 4).map(([k, v]) => `${k} ${v.slice(0, 40)}`).join('; ');
  const { classes, imageSize } = run;
  $('checkpoint-info').textContent = `${source}: ${describeArchitecture(run.architecture)}, ${classes.length} classes (${classes.join(', ')}) at ${imageSize}x${imageSize}${about ? `; ${about}` : ''}`;
  state.masks = showMasks(loaded);
  state.predictions = await predict(await sampleImages(run.imageSize), SAMPLES.map((s) => s.file), SAMPLES.map((s) => s.dx));
  showPredictions(state.predictions);
}

const api: PageApi = {
  state,
  runConformance: () => busy(async () => {
    state.conformance = await runConformancePanel($<HTMLTableSectionElement>('conformance-rows'), $('conformance-summary'));
  }),
  classify: (url) => busy(async () => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`checkpoint ${url}: HTTP ${response.status}`);
    await useCheckpoint(new Uint8Array(await response.arrayBuffer()), url);
  }),
  train: (steps) => busy(async () => {
    const started = performance.now();
    const batch = normalisedBatch(await sampleImages());
    const targets = Int32Array.from(SAMPLES, (s) => CLASS_NAMES.indexOf(s.dx));
    const losses: number[] = [];
    await trainSteps(batch, targets, {
      steps,
      onStep: (step, loss) => {
        losses.push(loss);
        drawLosses($<HTMLCanvasElement>('loss-chart'), losses);
        $('train-info').textContent = `step ${step + 1}/${steps}: loss ${loss.toFixed(4)}`;
      },
    });
    state.training = { losses, ms: performance.now() - started };
    $('train-info').textContent = `loss ${losses[0].toFixed(4)} -> ${losses.at(-1)!.toFixed(4)} in ${steps} steps (${(state.training.ms / 1000).toFixed(1)} s)`;
  }),
  maskCellColor(layer, o, i, ky = 0, kx = 0) {
    const drawn = heatmaps.get(layer);
    if (!drawn) throw new Error(`no heatmap of layer ${layer}`);
    const { x, y } = cellCenter(drawn.plan, o, i, ky, kx);
    const [r, g, b] = drawn.canvas.getContext('2d')!.getImageData(x, y, 1, 1).data;
    return [r, g, b];
  },
};
window.sparsenet = api;

$('run-conformance').addEventListener('click', () => void api.runConformance());
$('load-url').addEventListener('click', () => void api.classify($<HTMLInputElement>('checkpoint-url').value));
$('train').addEventListener('click', () => void api.train(8));
$('checkpoint-file').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file) void busy(async () => useCheckpoint(new Uint8Array(await file.arrayBuffer()), file.name));
});
$('image-files').addEventListener('change', (event) => {
  const files = Array.from((event.target as HTMLInputElement).files ?? []);
  if (files.length) {
    void busy(async () => {
      const images = await Promise.all(files.map((f) => decodeImage(f, loaded?.run.imageSize)));
      showPredictions(await predict(images, files.map((f) => f.name), files.map(() => undefined)));
    });
  }
});

async function start(): Promise<void> {
  await getDevice();
  state.device = await getDeviceInfo();
  runtime().runner.tuner.force(state.variants);
  const forced = Object.entries(state.variants).map(([k, v]) => `${k}=${v}`).join(', ');
  $('device').textContent = `Device: ${state.device.description}${forced ? `; forced variants ${forced}` : ''}.`;
  state.status = 'ready';
  for (const id of ['run-conformance', 'load-url', 'checkpoint-file', 'image-files', 'train']) $<HTMLButtonElement>(id).disabled = false;
  const checkpoint = params.get('checkpoint');
  if (checkpoint) $<HTMLInputElement>('checkpoint-url').value = checkpoint;
  for (const step of (params.get('run') ?? '').split(',').filter(Boolean)) {
    if (step === 'conformance') await api.runConformance();
    else if (step === 'classify') await api.classify($<HTMLInputElement>('checkpoint-url').value);
    else if (step === 'train') await api.train(Number(params.get('steps') ?? 8));
    else throw new Error(`run=${step}: expected conformance, classify or train`);
  }
  state.status = 'done';
}

start().catch((error: Error) => {
  state.status = 'error';
  state.error ??= error.stack ?? String(error);
  $('error').textContent = String(error);
});
