/**
 * The Node side of the browser test, run as a child process (one process, one device) on the adapter and
 * with the kernel variants the test chooses (SPARSENET_ADAPTER, SPARSENET_VARIANTS). Bundled by Vite from the
 * same sources as the page (web/vite.config.ts, nodeReferenceConfig).
 *
 *   reference.js prepare DATA_DIR RUN_DIR OUT.json
 *     trains a tiny SparseNet run on DATA_DIR (a HAM10000 folder) into RUN_DIR (magnitude pruning, so its masks
 *     show something), writes its report.html, runs the kernel conformance set, and writes the device and every
 *     case's outputs to OUT.json.
 *   reference.js predict CHECKPOINT IMAGES_DIR IN.json OUT.json
 *     IN.json holds [{ file, pixels }] (64x64 RGB bytes as the browser decoded IMAGES_DIR/file): writes the
 *     checkpoint's class probabilities for those pixels through the evaluation path (predictLogits), and for
 *     the same files decoded in Node (jpeg-js), with those pixels.
 * Paths come as arguments: inside the bundle, import.meta.url points at the bundle, not at the sources.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDevice, getDeviceInfo, runConformance } from '@sparsenet/tensor';
import { DEFAULT_TRAIN_CONFIG, ImageDataset, predictLogits, train } from '@sparsenet/sparsenet';
import { loadCheckpointModel } from '../../packages/sparsenet/src/report/checkpoint-model.js';
import { loadImages } from '../../packages/sparsenet/src/report/predict.js';
import { softmax } from '../../packages/sparsenet/src/train/metrics.js';
import { writeRunReport } from '../../packages/sparsenet/src/report/run-report.js';

/** What `prepare` writes. */
export interface PreparedReference {
  device: Awaited<ReturnType<typeof getDeviceInfo>>;
  trainSeconds: number;
  conformanceSeconds: number;
  conformance: { name: string; status: string; outputs: Record<string, number[]> }[];
}

export interface NodePrediction {
  file: string;
  logits: number[];
  probabilities: number[];
}

/** What `predict` writes. */
export interface PredictedReference {
  /** On the browser's pixels. */
  browserPixels: NodePrediction[];
  /** On Node's own decoding of the same files, with those pixels. */
  nodeDecoded: (NodePrediction & { pixels: number[] })[];
}

async function prepare(dataDir: string, runDir: string, out: string): Promise<void> {
  await getDevice();
  const started = performance.now();
  await train({
    ...DEFAULT_TRAIN_CONFIG,
    model: 'sparsenet', pruner: 'magnitude', scope: 'layer', sparsity: 0.6, schedule: 'oneshot', pruneStart: 1,
    epochs: 2, batchSize: 16, limit: 96, evalBatchSize: 64, data: dataDir, out: runDir, report: false,
  }, { log: () => {} });
  writeRunReport(runDir);
  const trained = performance.now();
  const results = await runConformance();
  const reference: PreparedReference = {
    device: await getDeviceInfo(),
    trainSeconds: (trained - started) / 1000,
    conformanceSeconds: (performance.now() - trained) / 1000,
    conformance: results.map((r) => ({ name: r.name, status: r.status, outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, Array.from(v)])) })),
  };
  writeFileSync(out, JSON.stringify(reference));
}

async function predict(checkpoint: string, imagesDir: string, input: string, out: string): Promise<void> {
  const browser = JSON.parse(readFileSync(input, 'utf8')) as { file: string; pixels: number[] }[];
  const { model, run } = await loadCheckpointModel(checkpoint);
  const size = run.imageSize;
  const classes = run.classes.length;
  const probabilities = async (dataset: ImageDataset): Promise<NodePrediction[]> => {
    const logits = await predictLogits(model, dataset, { normalization: run.normalization });
    return dataset.imageIds.map((file, i) => {
      const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
      return { file, logits: row, probabilities: softmax(row) };
    });
  };
  const files = browser.map((b) => b.file);
  const fromBrowser = new ImageDataset(Uint8Array.from(browser.flatMap((b) => b.pixels)), new Int32Array(files.length), files, files, size);
  const decoded = loadImages(files.map((f) => join(imagesDir, f)), size);
  const pixels = size * size * 3;
  const nodeDecoded = (await probabilities(decoded)).map((p, i) => ({ ...p, file: files[i], pixels: Array.from(decoded.images.subarray(i * pixels, (i + 1) * pixels)) }));
  const result: PredictedReference = { browserPixels: await probabilities(fromBrowser), nodeDecoded };
  writeFileSync(out, JSON.stringify(result));
  model.dispose();
}

const [command, ...args] = process.argv.slice(2);
const run = command === 'prepare' && args.length === 3 ? prepare(args[0], args[1], args[2])
  : command === 'predict' && args.length === 4 ? predict(args[0], args[1], args[2], args[3])
  : Promise.reject(new Error('usage: reference.js prepare DATA_DIR RUN_DIR OUT.json | predict CHECKPOINT IMAGES_DIR IN.json OUT.json'));
run.then(() => process.exit(0), (error: Error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
