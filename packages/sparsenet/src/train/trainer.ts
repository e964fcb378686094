/**
 * The training run, for any zoo architecture with or without masks: Adam and cross-entropy, pruning on a
 * schedule, an evaluation every epoch, and a run folder with metrics, checkpoints, the split and a report.
 * train() only orders the steps: the data (one call), the model (run-model.ts), the epoch (steps.ts), its
 * evaluation and records (records.ts), the checkpoint choice (selection.ts) and the files.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDevice, getDeviceInfo, optim, runtime, type nn } from '@sparsenet/tensor';
import { BatchLoader, CLASSES, writeSplitCsv, type LoaderState } from '../data/index.js';
import { traceLayerGraph } from '../graph/trace.js';
import { prunableLayers, sparsityReport, formatSparsity, type SavedWeights } from '../prune/index.js';
import { readSparsityPlan } from '../sensitivity/plan-file.js';
import { encodeRunMetadata } from '../run-metadata.js';
import { buildModel, describeArchitecture } from '../zoo/index.js';
import { architectureSpec, checkTrainConfig, type TrainConfig } from './config.js';
import { loadTrainingState, saveModel, saveTrainingState } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { KernelStartup, runShapesOf } from './kernel-startup.js';
import { formatClassMetrics } from './metrics.js';
import { pruneModel, pruningSchedule, rewind, saveWeights, scoringBatches } from './pruning.js';
import { DynamicTraining, type DynamicState } from './dynamic-training.js';
import { isDynamicMethod } from '../sparse-training/dynamic-config.js';
import { checkNmLayers, nmLayerNames, parseNmPattern } from '../sparse-training/nm.js';
import { evaluateEpoch, finalRecord } from './records.js';
import { loadRunData } from './run-data.js';
import { buildRunModel } from './run-model.js';
import { readRunConfig, writeRunConfig, writeRunFiles, type EpochRecord, type FinalRecord } from './run-files.js';
import { isNewBest, selectionScore } from './selection.js';
import { runningTotals, trainEpoch } from './steps.js';
import { writeRunReport } from '../report/run-report.js';

export interface TrainResult {
  history: EpochRecord[];
  final: FinalRecord;
  outDir: string;
}

/** What the resume checkpoint remembers of the loop. */
interface LoopState {
  epoch: number;
  step: number;
  loader: LoaderState;
  history: EpochRecord[];
  best: number | null;
  pruneEvents: number;
  /** Dynamic sparse training (--pruner set|rigl): its updates so far. */
  dynamic?: DynamicState;
}

export interface TrainHooks {
  /** Called after each epoch (tests use it to stop a run as if it were killed). */
  afterEpoch?: (record: EpochRecord) => void | Promise<void>;
  log?: (line: string) => void;
}

export async function train(config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  checkTrainConfig(config);
  const log = hooks.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  await getDevice();
  const device = await getDeviceInfo();
  const outDir = config.out;
  mkdirSync(outDir, { recursive: true });
  const lastPath = join(outDir, 'last.safetensors');
  if (!config.resume && existsSync(lastPath)) {
    throw new Error(`train: ${outDir} already holds a run (last.safetensors); pass --resume to continue it or choose another --out`);
  }
  if (config.resume) config = resumedConfig(outDir, config, log);
  // Before the data loads: kernels compile on the driver's thread while it does. The likely model has the run's
  // architecture and image size and HAM10000's class count (the data's is known only once it has loaded).
  const likelyModel = buildModel(architectureSpec(config), { numClasses: CLASSES.length, imageSize: config.imageSize, seed: config.seed });
  const kernels = await KernelStartup.begin(log, { model: likelyModel, makeOptimizer: () => makeOptimizer(likelyModel, config), batchSize: config.batchSize, imageSize: config.imageSize });
  likelyModel.dispose();

  const data = await loadRunData(config, log);
  const { classes, normalization, run } = data;
  // The detected layout is recorded, so a resumed run reads the folder the same way.
  config = { ...config, layout: data.layout };
  writeRunConfig(outDir, config, run);
  writeSplitCsv(join(outDir, 'split.csv'), data.assignment);
  log(`data: ${data.dir} (${data.layout}, ${classes.length} classes: ${classes.join(', ')}): train ${data.train.count}, val ${data.val.count}, test ${data.test.count} images${data.fromCache ? ' (cached)' : ''}${data.skipped.length ? `, ${data.skipped.length} skipped` : ''}`);
  log(`device: ${device.kind} (${device.description})`);

  const model = buildRunModel(config, run);
  log(`model: ${describeArchitecture(run.architecture)}, ${model.numParameters()} parameters`);
  // Traced before the kernels are compiled, so that the trace's shapes are among theirs.
  const graph = traceLayerGraph(model, [run.channels, run.imageSize, run.imageSize]);
  // A bad --nm-layers fails now, not at the first pruning event epochs later.
  if (config.pruner === 'nm') checkNmLayers(await prunableLayers(model, graph), parseNmPattern(config.nm, 'train: --nm'), nmLayerNames(config.nmLayers));
  if (config.sparsityPlan !== null) {
    // Checked before training; its overall sparsity is the schedule's target.
    config = { ...config, sparsity: readSparsityPlan(config.sparsityPlan, graph).overall };
    writeRunConfig(outDir, config, run);
    log(`sparsity plan: ${config.sparsityPlan}, overall sparsity ${config.sparsity}`);
  }
  let optimizer = makeOptimizer(model, config);
  const loader = new BatchLoader(data.train, { batchSize: config.batchSize, seed: config.seed, flipHorizontal: config.flips, flipVertical: config.flips, balanced: config.balanced, normalization });
  const totalSteps = config.epochs * loader.batchesPerEpoch;
  const schedule = pruningSchedule(config, loader.batchesPerEpoch);
  const lastEventStep = schedule?.events.at(-1)?.step ?? -1;
  const rewindEpoch = config.rewind === 'none' ? null : config.rewind === 'init' ? 0 : Number(config.rewind);
  const learningRate = (step: number) => (config.lrSchedule === 'cosine' ? optim.cosineAnnealingLr(config.lr, step, totalSteps) : config.lr);

  let loop: LoopState = { epoch: 0, step: 0, loader: loader.getState(), history: [], best: null, pruneEvents: 0 };
  let rewindWeights: SavedWeights[] | null = null;
  const tuningPath = join(outDir, 'tuning.json');
  if (config.resume) {
    const saved = loadTrainingState<LoopState>(lastPath, model);
    optimizer.loadStateDict(saved.optimizer);
    rewindWeights = saved.rewind;
    loop = saved.loop;
    loader.setState(loop.loader);
    if (existsSync(tuningPath)) importTuning(tuningPath, log);
    log(`resumed ${outDir} after epoch ${loop.epoch} (step ${loop.step})`);
  }
  // Dynamic sparse training draws its masks before the first step (a resumed run has them in its checkpoint).
  const dynamic = isDynamicMethod(config.pruner)
    ? await DynamicTraining.start({ model, graph, config, totalSteps, optimizer: () => optimizer, outDir, state: config.resume ? (loop.dynamic ?? { updates: [] }) : undefined, log })
    : null;
  const runShapes = runShapesOf(model, () => makeOptimizer(model, config), data, config);
  await kernels.beforeFirstStep(runShapes);

  /** A pruning event before step `step`, and lottery-ticket rewinding after the last one. */
  const pruneBefore = async (step: number) => {
    if (!schedule?.isPruningStep(step)) return;
    await pruneModel(model, graph, config, schedule.sparsityAt(step), config.seed * 1000 + loop.pruneEvents++, { scoreBatches: () => scoringBatches(data.train, config, normalization), log });
    if (step === lastEventStep && rewindWeights) {
      await rewind(model, graph, rewindWeights);
      optimizer.dispose();
      optimizer = makeOptimizer(model, config);
    }
  };
  const metadata = (record: EpochRecord, kind: string) => checkpointMetadata(config, record, kind);
  const totals = runningTotals();
  try {
    for (let epoch = loop.epoch; epoch < config.epochs; epoch++) {
      if (rewindEpoch === epoch && !rewindWeights) rewindWeights = await saveWeights(model, graph);
      const training = await trainEpoch({
        model, optimizer: () => optimizer, loader, totals, firstStep: loop.step, learningRate, beforeStep: pruneBefore, replaceStep: dynamic?.replaceStep, label: `epoch ${epoch + 1}/${config.epochs}`,
        // Compiling and tuning the run's other shapes after its first steps is not training time.
        afterStep: () => kernels.afterFirstSteps(runShapes, tuningPath),
      });
      loop.step += training.steps;
      const context = { epoch: epoch + 1, step: loop.step, lr: optimizer.lr, masked: run.architecture.masked, evalBatchSize: config.evalBatchSize, classes, normalization, graph };
      const { record, val, lines } = await evaluateEpoch(model, data, training, context);
      loop.history.push(record);
      for (const line of lines) log(line);
      const score = selectionScore(val, config.select);
      if (isNewBest(score, loop.best, loop.step > lastEventStep)) {
        loop.best = score;
        await saveModel(join(outDir, 'best.safetensors'), model, run, metadata(record, 'best'));
      }
      loop.epoch = epoch + 1;
      loop.loader = loader.getState();
      if (dynamic) {
        loop.dynamic = dynamic.state();
        dynamic.writeRecords();
      }
      await saveTrainingState(lastPath, model, optimizer, rewindWeights, loop, { ...metadata(record, 'last'), ...encodeRunMetadata(run) });
      writeRunFiles(outDir, { config, history: loop.history, device: device.description });
      await hooks.afterEpoch?.(record);
    }

    const finalTest = await evaluate(model, data.test, { batchSize: config.evalBatchSize, normalization });
    for (const line of ['final model, test part:', ...formatClassMetrics(finalTest, classes)]) log(line);
    const report = sparsityReport(await prunableLayers(model, graph));
    await saveModel(join(outDir, 'final.safetensors'), model, run, metadata(loop.history.at(-1)!, 'final'));
    const final: FinalRecord = finalRecord(finalTest, report, data.test, device.description, loop.history, run);
    writeRunFiles(outDir, { config, history: loop.history, device: device.description, final, sparsityText: formatSparsity(report, { withTotal: true }) });
    if (config.report) log(`report: ${(await writeRunReport(outDir)).html}`);
    return { history: loop.history, final, outDir };
  } finally {
    totals.lossSum.dispose();
    totals.correct.dispose();
    optimizer.dispose();
    model.dispose();
  }
}

function makeOptimizer(model: nn.Module, config: TrainConfig): optim.Adam {
  return new optim.Adam(model.parametersWithMasks(), { lr: config.lr, weightDecay: config.weightDecay });
}

function checkpointMetadata(config: TrainConfig, record: EpochRecord, kind: string): Record<string, string> {
  return { format: 'pt', sparsenet: kind, config: JSON.stringify(config), epoch: String(record.epoch), metrics: JSON.stringify(record) };
}

/** A resumed run's kernel choices; a file of an older format (plain variant names) is measured again, with a warning. */
function importTuning(path: string, log: (line: string) => void): void {
  try {
    runtime().runner.tuner.import(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    log(`kernels: ${path} ignored (${(error as Error).message}); its shapes are measured again`);
  }
}

/**
 * On --resume the saved config rules (the command line of a resume usually carries only --resume and --out);
 * settings given now that differ from the saved ones are named in the log as ignored, not silently dropped.
 * Settings added since the run started take their defaults, which reproduce what the run did (--arch lenet).
 */
function resumedConfig(outDir: string, given: TrainConfig, log: (line: string) => void): TrainConfig {
  const path = join(outDir, 'config.json');
  if (!existsSync(path)) throw new Error(`train --resume: ${path} is missing; nothing to resume in ${outDir}`);
  const saved = readRunConfig(path).config;
  const ignored = (Object.keys(saved) as (keyof TrainConfig)[]).filter((key) => key !== 'resume' && key !== 'out' && given[key] !== saved[key]);
  if (ignored.length) log(`resume: keeping the run's own settings; ignoring ${ignored.map((key) => `${key}=${given[key]} (run: ${saved[key]})`).join(', ')}`);
  // Killed before its first checkpoint (during start-up or its first epoch): a requeued job passes the same
  // command line, so start the run over with its saved settings rather than fail.
  if (!existsSync(join(outDir, 'last.safetensors'))) {
    log(`resume: ${outDir} has the run's settings but no checkpoint yet (stopped before the end of its first epoch); starting it from step 0 with those settings`);
    return { ...saved, resume: false, out: given.out };
  }
  return { ...saved, resume: true, out: given.out };
}
