/**
 * The run folder's plain files: metrics.json and metrics.csv (one row per epoch), final.json, sparsity.txt.
 * Each is written whole to a temporary file and renamed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@sparsenet/viz';
import { checkRunMetadata, type RunMetadata } from '../run-metadata.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from './config.js';

/** config.json: the run's settings, with the run's metadata (classes, image size, normalisation, layout) as `run`. */
export type RunConfigFile = TrainConfig & { run?: RunMetadata };

export function writeRunConfig(outDir: string, config: TrainConfig, run: RunMetadata): void {
  writeFileAtomic(join(outDir, 'config.json'), `${JSON.stringify({ ...config, run }, null, 2)}\n`);
}

/**
 * A run folder's config.json: its settings over today's defaults (a run from before a setting existed used its
 * default) and its run metadata, null for a run from before config.json carried it.
 */
export function readRunConfig(path: string): { config: TrainConfig; run: RunMetadata | null } {
  if (!existsSync(path)) throw new Error(`${path} is missing`);
  let parsed: RunConfigFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as RunConfigFile;
  } catch (error) {
    throw new Error(`${path}: not JSON (${(error as Error).message})`);
  }
  const { run, ...config } = parsed;
  return { config: { ...DEFAULT_TRAIN_CONFIG, ...config }, run: run ? checkRunMetadata(run, path) : null };
}

export interface EpochRecord {
  epoch: number;
  step: number;
  /** The learning rate of the epoch's last step. */
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  valBalancedAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  testBalancedAccuracy: number;
  testRecall: Record<string, number>;
  testConfusion: number[][];
  /** Over all prunable weights. */
  sparsity: number;
  layerSparsity: Record<string, number>;
  seconds: number;
  imagesPerSecond: number;
  gpuLiveBytes: number;
}

export interface FinalRecord {
  testAccuracy: number;
  testBalancedAccuracy: number;
  testLoss: number;
  testRecall: Record<string, number>;
  testConfusion: number[][];
  testImages: number;
  sparsity: number;
  layerSparsity: Record<string, number>;
  trainSeconds: number;
  device: string;
  classes: string[];
  numClasses: number;
}

export interface RunFiles {
  config: TrainConfig;
  history: EpochRecord[];
  device: string;
  final?: FinalRecord;
  sparsityText?: string;
}

export function writeRunFiles(outDir: string, run: RunFiles): void {
  writeFileAtomic(join(outDir, 'metrics.json'), `${JSON.stringify({ device: run.device, epochs: run.history }, null, 2)}\n`);
  writeFileAtomic(join(outDir, 'metrics.csv'), metricsCsv(run.history));
  if (run.final) writeFileAtomic(join(outDir, 'final.json'), `${JSON.stringify(run.final, null, 2)}\n`);
  if (run.sparsityText) writeFileAtomic(join(outDir, 'sparsity.txt'), `${run.sparsityText}\n`);
}

/** Scalars per epoch, with per-class recall and per-layer sparsity as their own columns. */
export function metricsCsv(history: readonly EpochRecord[]): string {
  if (!history.length) return '';
  const first = history[0];
  const scalarKeys = (Object.keys(first) as (keyof EpochRecord)[]).filter((k) => typeof first[k] === 'number');
  const recallKeys = Object.keys(first.testRecall);
  const layerKeys = Object.keys(first.layerSparsity);
  const header = [...scalarKeys, ...recallKeys.map((c) => `testRecall_${c}`), ...layerKeys.map((l) => `sparsity_${l}`)];
  const rows = history.map((r) => [
    ...scalarKeys.map((k) => r[k] as number),
    ...recallKeys.map((c) => r.testRecall[c]),
    ...layerKeys.map((l) => r.layerSparsity[l]),
  ].map((v) => (Number.isNaN(v) ? '' : String(v))).join(','));
  return `${header.join(',')}\n${rows.join('\n')}\n`;
}
