/**
 * Running a sweep (or one shard of it): every unit in its own run folder under --out, trained by train().
 * A fine-tune starts from its seed's dense final.safetensors, pruned one-shot before the first step (the same
 * pruning and seed as train's one-shot at epoch 0; structured pruning masks filters, then neurons, on the same
 * masks), saved as pruned-init.safetensors and fine-tuned as a SparseNet (masked Adam keeps the zeros). The
 * unpruned control (dense-finetuned) starts from final.safetensors as it is, with all-ones masks. A method trained
 * from scratch (scratch.ts) is train() from the initialisation with the method's settings, for the baseline's epochs.
 * A structured unit's compacted model is written beside its final one as compact.safetensors.
 *
 * A unit's folder holds sweep-unit.json: its settings from the start, its result once measured. On a rerun a
 * unit with a result is skipped (measured again with --remeasure), a trained but unmeasured one measured (also
 * one whose result lacks a measurement this version takes), a started one resumed by the trainer;
 * a folder started with other settings is refused. Kernel tuning choices are kept in <out>/tuning-<adapter>.json
 * so a rerun does not tune again and every unit on one adapter runs the same kernel variants.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { getDevice, getDeviceInfo, runtime } from '@sparsenet/tensor';
import { writeFileAtomic } from '@sparsenet/viz';
import { checkpointRun, loadInto, modelState } from '../model-state.js';
import { traceLayerGraph } from '../graph/trace.js';
import type { RunMetadata } from '../run-metadata.js';
import { readCheckpoint, saveModel } from '../train/checkpoint.js';
import { DEFAULT_TRAIN_CONFIG, type PrunerName, type TrainConfig } from '../train/config.js';
import { pruneModel } from '../train/pruning.js';
import type { FinalRecord } from '../train/run-files.js';
import { train, type TrainHooks } from '../train/trainer.js';
import type { SweepConfig } from './config.js';
import { enumerateUnits, shardName, shardWork, SWEEP_STRUCTURES, unitFolder, type SweepGrid, type SweepUnit } from './grid.js';
import { DEFAULT_TIMING, measureCheckpoint, type TimingOptions } from './measure.js';
import { PART_FORMAT, partFileName, type SweepPart } from './parts.js';
import { scratchMethod, type ScratchSettings } from './scratch.js';
import { writeSweepOutputs, type UnitResult } from './table.js';
import { UnitLock } from './unit-lock.js';

export interface SweepHooks {
  log?: (line: string) => void;
  /** Inference timing (tests use fewer blocks). */
  timing?: TimingOptions;
  /** Passed to every train() call. */
  train?: TrainHooks;
}

/** What a run did with a unit's folder. */
export type UnitAction = 'trained' | 'resumed' | 'measured' | 'skipped';

export interface SweepRun {
  /** Results of the units this shard owns, in grid order. */
  results: UnitResult[];
  /** By folder (relative to --out), baseline copies included. */
  actions: Record<string, UnitAction>;
  partPath: string;
  /** Written when the run covers the whole grid (--shard 1/1). */
  tablesWritten: boolean;
}

interface UnitSpec {
  id: string;
  /** Absent for LeNet, so that the folders of sweeps from before --arch still match their settings. */
  arch?: string;
  kind: SweepUnit['kind'];
  seed: number;
  pruner: SweepUnit['pruner'];
  sparsity: number;
  epochs: number;
  /** Fine-tunes: epochs of the baseline they start from. */
  baselineEpochs: number | null;
  /** Unstructured fine-tunes only. */
  scope: SweepGrid['scope'] | null;
  batchSize: number;
  lr: number;
  lrSchedule: SweepGrid['lrSchedule'];
  data: string | null;
  limit: number | null;
  /** Scratch units only (absent otherwise, so older folders still match): the method's training settings. */
  train?: ScratchSettings;
}

interface UnitFile {
  spec: UnitSpec;
  result?: UnitResult;
}

export function gridOf(config: SweepConfig): SweepGrid {
  const { arch, seeds, pruners, sparsities, scope, epochs, finetuneEpochs, batchSize, lr, lrSchedule, data, limit } = config;
  return { arch, seeds, pruners, sparsities, scope, epochs, finetuneEpochs, batchSize, lr, lrSchedule, data, limit };
}

function unitSpec(unit: SweepUnit, grid: SweepGrid): UnitSpec {
  const finetune = unit.kind === 'finetune';
  return {
    id: unit.id, ...(grid.arch === 'lenet' ? {} : { arch: grid.arch }), kind: unit.kind, seed: unit.seed, pruner: unit.pruner, sparsity: unit.sparsity,
    epochs: finetune ? grid.finetuneEpochs : grid.epochs,
    baselineEpochs: finetune ? grid.epochs : null,
    scope: unit.pruner === 'magnitude' || unit.pruner === 'random' ? grid.scope : null,
    batchSize: grid.batchSize, lr: grid.lr, lrSchedule: grid.lrSchedule, data: grid.data, limit: grid.limit,
    ...(unit.kind === 'scratch' ? { train: scratchMethod(unit.pruner).settings(grid.epochs) } : {}),
  };
}

function trainConfig(spec: UnitSpec, dir: string, init: string | null): TrainConfig {
  return {
    ...DEFAULT_TRAIN_CONFIG,
    arch: spec.arch ?? 'lenet',
    model: spec.kind === 'dense' ? 'lenet' : 'sparsenet',
    pruner: 'none',
    ...(spec.train ? { ...spec.train, sparsity: spec.sparsity } : {}),
    epochs: spec.epochs, batchSize: spec.batchSize, lr: spec.lr, lrSchedule: spec.lrSchedule, seed: spec.seed, data: spec.data, limit: spec.limit,
    init, out: dir, report: false,
  };
}

/** The baseline's final weights pruned as train's one-shot at epoch 0 would (random pruning: seed * 1000). */
async function writePrunedInit(unit: SweepUnit, grid: SweepGrid, baseline: string, path: string): Promise<void> {
  if (unit.kind !== 'finetune' || unit.pruner === 'dense-finetuned') throw new Error(`sweep: ${unit.id} is not a pruned fine-tune`);
  const checkpoint = readCheckpoint(baseline);
  const state = modelState(checkpoint.state, checkpoint.metadata);
  const run = checkpointRun(state, checkpoint.metadata, baseline);
  const masked: RunMetadata = { ...run, architecture: { ...run.architecture, masked: true } };
  const model = loadInto(masked.architecture, masked, state, baseline, { strict: false });
  try {
    const config: TrainConfig = {
      ...DEFAULT_TRAIN_CONFIG, arch: grid.arch, model: 'sparsenet', pruner: unit.pruner as PrunerName, scope: grid.scope, sparsity: unit.sparsity, seed: unit.seed, structure: SWEEP_STRUCTURES,
    };
    await pruneModel(model, traceLayerGraph(model, [masked.channels, masked.imageSize, masked.imageSize]), config, unit.sparsity, unit.seed * 1000);
    await saveModel(path, model, masked, { format: 'pt', sparsenet: 'pruned-init', baseline, pruner: unit.pruner, sparsity: String(unit.sparsity) });
  } finally {
    model.dispose();
  }
}

/** A file-name-safe short form of an adapter's description ('llvmpipe-llvm-15-0-6-256-bits'). */
export function adapterSlug(description: string): string {
  return description.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80) || 'adapter';
}

function readUnitFile(path: string, spec: UnitSpec): UnitFile | null {
  if (!existsSync(path)) return null;
  const file = JSON.parse(readFileSync(path, 'utf8')) as UnitFile;
  const differ = (Object.keys(spec) as (keyof UnitSpec)[]).filter((k) => JSON.stringify(file.spec?.[k]) !== JSON.stringify(spec[k]));
  if (differ.length) {
    const shown = differ.map((k) => `${k} ${JSON.stringify(spec[k])} here, ${JSON.stringify(file.spec?.[k])} there`).join('; ');
    throw new Error(`sweep: ${path} was started with other settings (${shown}); use another --out or remove that folder`);
  }
  return file;
}

async function runUnit(unit: SweepUnit, dir: string, baselineDir: string | null, grid: SweepGrid, remeasure: boolean, hooks: SweepHooks): Promise<{ result: UnitResult; action: UnitAction }> {
  const spec = unitSpec(unit, grid);
  const filePath = join(dir, 'sweep-unit.json');
  const done = readUnitFile(filePath, spec);
  if (done?.result && isComplete(done.result) && !remeasure) return { result: done.result, action: 'skipped' };
  mkdirSync(dir, { recursive: true });
  const log = hooks.log ?? (() => {});
  // Another attempt of this part (a requeue racing a slow node) may hold the unit: wait for it, then look again.
  const lock = await UnitLock.acquire(dir, { log: (line) => log(`  ${unit.id}: ${line}`) });
  try {
    return await runLockedUnit(unit, dir, baselineDir, grid, remeasure, hooks, spec, filePath);
  } finally {
    lock.release();
  }
}

async function runLockedUnit(
  unit: SweepUnit, dir: string, baselineDir: string | null, grid: SweepGrid, remeasure: boolean, hooks: SweepHooks, spec: UnitSpec, filePath: string,
): Promise<{ result: UnitResult; action: UnitAction }> {
  const existing = readUnitFile(filePath, spec);
  if (existing?.result && isComplete(existing.result) && !remeasure) return { result: existing.result, action: 'skipped' };
  if (!existing) writeFileAtomic(filePath, `${JSON.stringify({ spec }, null, 2)}\n`);
  const log = hooks.log ?? (() => {});
  const trainHooks: TrainHooks = { ...hooks.train, log: (line) => log(`  ${unit.id}: ${line}`) };
  let action: UnitAction;
  if (existsSync(join(dir, 'final.json'))) action = 'measured';
  else if (existsSync(join(dir, 'last.safetensors'))) {
    await train({ ...trainConfig(spec, dir, null), resume: true }, trainHooks);
    action = 'resumed';
  } else {
    let init: string | null = null;
    if (unit.pruner === 'dense-finetuned') init = join(baselineDir!, 'final.safetensors');
    else if (unit.kind === 'finetune') {
      init = join(dir, 'pruned-init.safetensors');
      await writePrunedInit(unit, grid, join(baselineDir!, 'final.safetensors'), init);
    }
    await train(trainConfig(spec, dir, init), trainHooks);
    action = 'trained';
  }
  const final = JSON.parse(readFileSync(join(dir, 'final.json'), 'utf8')) as FinalRecord;
    const compact = unit.pruner === 'structured' ? join(dir, 'compact.safetensors') : null;
    const m = await measureCheckpoint(join(dir, 'final.safetensors'), { sparse: unit.kind !== 'dense', compact, timing: hooks.timing ?? DEFAULT_TIMING });
  const result: UnitResult = {
    unit: unit.id, pruner: unit.pruner, targetSparsity: unit.sparsity, seed: unit.seed,
    testAccuracy: final.testAccuracy, testBalancedAccuracy: final.testBalancedAccuracy, testLoss: final.testLoss,
    sparsity: m.sparsity, params: m.params, nonzeroParams: m.nonzeroParams, flops: m.flops, denseFlops: m.denseFlops,
    compressionRatio: m.compressionRatio, theoreticalSpeedup: m.theoreticalSpeedup, msPerImage: m.msPerImage,
    sparseMsPerImage: m.sparseMsPerImage, compactMsPerImage: m.compact?.msPerImage ?? null, compactParams: m.compact?.params ?? null, compactFlops: m.compact?.flops ?? null,
    compactWidths: m.compact?.widths ?? null,
    trainSeconds: final.trainSeconds,
    adapter: final.device,
  };
  writeFileAtomic(filePath, `${JSON.stringify({ spec, result }, null, 2)}\n`);
  return { result, action };
}

/**
 * A result with every field this version measures: results written before the sparse timing lack it, and before
 * the layer graph a non-LeNet unit's FLOPs, sparse-kernel and compaction columns are null.
 */
function isComplete(result: UnitResult): boolean {
  if (result.sparseMsPerImage === undefined || result.flops === null) return false;
  if (result.pruner !== 'dense' && result.sparseMsPerImage === null) return false;
  return result.pruner !== 'structured' || result.compactMsPerImage !== null;
}

/** Runs the shard's units (all of them for 1/1) and, for 1/1, writes the tables. */
export async function runSweep(config: SweepConfig, hooks: SweepHooks = {}): Promise<SweepRun> {
  if (config.merge) throw new Error('runSweep: --merge is handled by mergeSweep');
  const log = hooks.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const grid = gridOf(config);
  const { shard, out } = config;
  const { owned, copies } = shardWork(grid, shard);
  await getDevice();
  const device = await getDeviceInfo();
  mkdirSync(out, { recursive: true });
  const { tuner } = runtime().runner;
  // Parts sharing one --out on a mixed cluster must not share kernel choices: one file per adapter.
  const tuningPath = join(out, `tuning-${adapterSlug(device.description)}.json`);
  if (existsSync(tuningPath)) tuner.import(JSON.parse(readFileSync(tuningPath, 'utf8')));

  const partPath = join(out, partFileName(shard));
  const results = new Map<string, UnitResult>();
  // From the unit folders, not from memory: two attempts of this part may run at once, and the part file must
  // only ever gain results, whichever attempt writes it last.
  const writePart = () => {
    for (const unit of owned) {
      if (results.has(unit.id)) continue;
      const file = readUnitFile(join(out, unitFolder(unit), 'sweep-unit.json'), unitSpec(unit, grid));
      if (file?.result && isComplete(file.result)) results.set(unit.id, file.result);
    }
    const part: SweepPart = {
      format: PART_FORMAT, version: 1, grid, shard, units: owned.map((u) => u.id),
      results: owned.flatMap((u) => results.get(u.id) ?? []), complete: results.size === owned.length,
    };
    writeFileAtomic(partPath, `${JSON.stringify(part, null, 2)}\n`);
  };
  writePart();

  const baselineDirs = new Map<number, string>();
  const ownedIds = new Set(owned.map((u) => u.id));
  const copyIds = new Set(copies.map((u) => u.id));
  const work = enumerateUnits(grid).filter((u) => ownedIds.has(u.id) || copyIds.has(u.id));
  const actions: Record<string, UnitAction> = {};
  log(`sweep part ${shard.index}/${shard.count} (${config.shardSource}) on ${hostname()} pid ${process.pid}, ${device.kind} (${device.description}): ${owned.length} units${copies.length ? ` + ${copies.length} baseline cop${copies.length > 1 ? 'ies' : 'y'}` : ''} into ${out}`);
  const folderOf = (unit: SweepUnit) => unitFolder(unit, ownedIds.has(unit.id) ? undefined : shard);
  // For the time-left estimate: the units still to train (not just to measure), weighed by epochs, at the pace of
  // those trained here.
  let costLeft = work.filter((u) => !existsSync(join(out, folderOf(u), 'final.json'))).reduce((sum, u) => sum + u.cost, 0);
  let trainedCost = 0;
  let trainedSeconds = 0;
  for (const [i, unit] of work.entries()) {
    const folder = folderOf(unit);
    const dir = join(out, folder);
    if (unit.kind === 'dense') baselineDirs.set(unit.seed, dir);
    const started = performance.now();
    const { result, action } = await runUnit(unit, dir, baselineDirs.get(unit.seed) ?? null, grid, config.remeasure, { ...hooks, log });
    actions[folder] = action;
    writeFileAtomic(tuningPath, `${JSON.stringify(tuner.export(), null, 2)}\n`);
    if (ownedIds.has(unit.id)) {
      results.set(unit.id, result);
      writePart();
    }
    const seconds = (performance.now() - started) / 1000;
    if (action === 'trained' || action === 'resumed') costLeft -= unit.cost;
    if (action === 'trained') {
      trainedCost += unit.cost;
      trainedSeconds += seconds;
    }
    const left = trainedCost > 0 && costLeft > 0 ? `; about ${Math.ceil((trainedSeconds / trainedCost) * costLeft / 60)} min left` : '';
    log(`sweep [${i + 1}/${work.length}] ${folder}: ${action} (${seconds.toFixed(0)} s): test acc ${result.testAccuracy.toFixed(4)}, sparsity ${result.sparsity.toFixed(3)}, ${result.msPerImage.toFixed(3)} ms/img${left}`);
  }
  const ordered = owned.map((u) => results.get(u.id)!);
  const tablesWritten = shard.count === 1;
  if (tablesWritten) await writeSweepOutputs(out, grid, ordered, `${ordered.length} units`);
  else log(`sweep part ${shardName(shard)} done; when every part is, join them: npm run sweep -- --merge <the parts' --out folders> --out DIR`);
  return { results: ordered, actions, partPath, tablesWritten };
}

/**
 * The tables of the units finished so far in `config.out` (the grid's own folders, with these settings), for a
 * sweep still running or stopped part-way; trains and measures nothing. Returns how many units it found.
 */
export async function writeFinishedTables(config: SweepConfig): Promise<{ finished: number; total: number }> {
  const grid = gridOf(config);
  const units = enumerateUnits(grid);
  const results = units.flatMap((unit) => {
    const file = readUnitFile(join(config.out, unit.id, 'sweep-unit.json'), unitSpec(unit, grid));
    return file?.result && isComplete(file.result) ? [file.result] : [];
  });
  if (!results.length) throw new Error(`sweep --tables-only: no finished unit of this grid in ${config.out}`);
  await writeSweepOutputs(config.out, grid, results, `${results.length} of ${units.length} units finished`);
  return { finished: results.length, total: units.length };
}
