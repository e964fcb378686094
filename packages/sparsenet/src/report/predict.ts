/**
 * Class probabilities for image files, prepared as training prepared its images: decoded, resized (PIL's BOX) to the
 * checkpoint's image size (squashing the aspect ratio), normalised with its run's normalisation and labelled
 * with its classes; the softmax of the logits is taken on the host in float64.
 */
import { writeFileAtomic } from '@sparsenet/viz';
import { CHANNELS, ImageDataset, loadImageInto } from '../data/index.js';
import { predictLogits } from '../train/evaluate.js';
import { softmax } from '../train/metrics.js';
import { commandUsage, parseCommand, type CommandFlag } from './args.js';
import { loadCheckpointModel } from './checkpoint-model.js';

export interface ImagePrediction {
  file: string;
  /** The checkpoint's classes, the order of logits and probabilities. */
  classes: readonly string[];
  /** One per class, in the checkpoint's class order. */
  logits: number[];
  /** softmax(logits), in class order. */
  probabilities: number[];
  /** Classes from most to least probable. */
  ranked: { className: string; probability: number }[];
}

/** The files as an unlabelled dataset of size x size images; throws naming a file that is missing or not a readable image. */
export async function loadImages(files: readonly string[], size: number, classes: readonly string[]): Promise<ImageDataset> {
  const pixels = size * size * CHANNELS;
  const images = new Uint8Array(files.length * pixels);
  for (const [i, file] of files.entries()) await loadImageInto(file, size, images, i * pixels);
  return new ImageDataset(images, new Int32Array(files.length), files, files, size, classes);
}

/** Loads the model, decodes every image (a bad file fails before anything runs), then runs the model once over them. */
export async function predictImages(checkpoint: string, files: readonly string[]): Promise<ImagePrediction[]> {
  if (files.length === 0) throw new Error('predict: no images given');
  const { model, run } = await loadCheckpointModel(checkpoint);
  try {
    let dataset: ImageDataset;
    try {
      dataset = await loadImages(files, run.imageSize, run.classes);
    } catch (error) {
      throw new Error(`predict: ${(error as Error).message}`);
    }
    const logits = await predictLogits(model, dataset, { normalization: run.normalization });
    const n = run.classes.length;
    return files.map((file, i) => {
      const row = Array.from(logits.subarray(i * n, (i + 1) * n));
      const probabilities = softmax(row);
      const ranked = run.classes.map((className, c) => ({ className, probability: probabilities[c] })).sort((a, b) => b.probability - a.probability);
      return { file, classes: run.classes, logits: row, probabilities, ranked };
    });
  } finally {
    model.dispose();
  }
}

export function formatPredictions(predictions: readonly ImagePrediction[]): string {
  const width = Math.max(...predictions.flatMap((p) => p.ranked.map((r) => r.className.length)));
  return predictions
    .map((p) => [p.file, ...p.ranked.map((r) => `  ${r.className.padEnd(width)}  ${r.probability.toFixed(4)}`)].join('\n'))
    .join('\n\n');
}

const PREDICT_USAGE = 'npm run predict -- --checkpoint FILE IMAGE.jpg... [--json FILE]';
const PREDICT_FLAGS: Record<string, CommandFlag> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint of any zoo model (.safetensors); required' },
  json: { type: 'string', value: 'FILE', help: 'also write the probabilities as JSON' },
};

/** `npm run predict -- --checkpoint FILE IMAGE...`: each image's class probabilities, most probable first. */
export async function predictCommand(argv: string[], print: (text: string) => void): Promise<void> {
  const { values, positionals, help } = parseCommand('predict', argv, PREDICT_USAGE, PREDICT_FLAGS);
  const usage = commandUsage(PREDICT_USAGE, PREDICT_FLAGS);
  if (help) return print(usage);
  if (typeof values.checkpoint !== 'string') throw new Error(`predict: --checkpoint FILE is required\n\n${usage}`);
  if (positionals.length === 0) throw new Error(`predict: give at least one image (JPEG, PNG or WebP)\n\n${usage}`);
  const predictions = await predictImages(values.checkpoint, positionals);
  print(formatPredictions(predictions));
  if (typeof values.json === 'string') {
    const { classes } = predictions[0];
    const rows = predictions.map((p) => ({ file: p.file, probabilities: Object.fromEntries(classes.map((c, i) => [c, p.probabilities[i]])), logits: p.logits }));
    writeFileAtomic(values.json, `${JSON.stringify({ checkpoint: values.checkpoint, classes, images: rows }, null, 2)}\n`);
  }
}
