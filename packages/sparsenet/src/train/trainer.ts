/**
 * The training run: LeNet or SparseNet on HAM10000 with Adam and cross-entropy, pruning on a schedule, an
 * evaluation every epoch, and a run folder with metrics, checkpoints, the split and a report. The hot loop
 * never reads back: the running loss and accuracy stay on the GPU and are read only when progress is drawn.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  accumulate, accumulateCorrect, beginScope, crossEntropy, getDevice, getDeviceInfo, labels, memory, optim, runtime, scale, tensor,
} from '@sparsenet/tensor';
import { BatchLoader, writeSplitCsv, type ImageDataset, type LoaderState } from '../data/index.js';
import { LeNet } from '../model.js';
import type { RunMetadata } from '../run-metadata.js';
import { prunableLayers, sparsityReport, formatSparsity, type SavedWeights } from '../prune/index.js';
import { checkTrainConfig, type TrainConfig } from './config.js';
import { loadTrainingState, readCheckpoint, saveModel, saveTrainingState } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { KernelStartup, runShapesOf } from './kernel-startup.js';
import { formatClassMetrics, formatMetric, type ClassificationMetrics } from './metrics.js';
import { Progress } from './progress.js';
import { pruneModel, pruningSchedule, rewind, saveWeights } from './pruning.js';
import { loadRunData } from './run-data.js';
import { readRunConfig, writeRunConfig, writeRunFiles, type EpochRecord, type FinalRecord } from './run-files.js';
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
  // image size and HAM10000's class count (the data's is known only once it has loaded).
  const likelyModel = new LeNet({ sparse: config.model === 'sparsenet', seed: config.seed, inputSize: config.imageSize });
  const kernels = await KernelStartup.begin(log, { model: likelyModel, makeOptimizer: () => makeOptimizer(likelyModel, config), batchSize: config.batchSize, imageSize: config.imageSize });
  likelyModel.dispose();

  const data = await loadRunData(config, log);
  const { classes, run } = data;
  // The detected layout is recorded, so a resumed run reads the folder the same way.
  config = { ...config, layout: data.layout };
  writeRunConfig(outDir, config, run);
  writeSplitCsv(join(outDir, 'split.csv'), data.assignment);
  log(`data: ${data.dir} (${data.layout}, ${classes.length} classes: ${classes.join(', ')}): train ${data.train.count}, val ${data.val.count}, test ${data.test.count} images${data.fromCache ? ' (cached)' : ''}${data.skipped.length ? `, ${data.skipped.length} skipped` : ''}`);
  log(`device: ${device.kind} (${device.description})`);

  const model = new LeNet({ sparse: config.model === 'sparsenet', seed: config.seed, numClasses: classes.length, inputSize: config.imageSize });
  // A dense checkpoint has no masks; a sparse model keeps its all-ones masks then.
  if (config.init && !config.resume) {
    const { state } = readCheckpoint(config.init);
    const missing = model.namedParameters().map(([name]) => name).filter((name) => !(name in state));
    if (missing.length) throw new Error(`train --init ${config.init}: the checkpoint lacks ${missing.join(', ')}`);
    model.loadStateDict(state, { strict: false });
  }
  // Traced before the kernels are tuned, so that the trace's shapes are tuned with the others.
  const graph = model.layerGraph();
  let optimizer = makeOptimizer(model, config);
  const { normalization } = data;
  const loader = new BatchLoader(data.train, { batchSize: config.batchSize, seed: config.seed, flipHorizontal: config.flips, flipVertical: config.flips, balanced: config.balanced, normalization });
  const stepsPerEpoch = loader.batchesPerEpoch;
  const totalSteps = config.epochs * stepsPerEpoch;
  const schedule = pruningSchedule(config, stepsPerEpoch);
  const lastEventStep = schedule?.events.at(-1)?.step ?? -1;
  const rewindEpoch = config.rewind === 'none' ? null : config.rewind === 'init' ? 0 : Number(config.rewind);

  let loop: LoopState = { epoch: 0, step: 0, loader: loader.getState(), history: [], best: null, pruneEvents: 0 };
  let rewindWeights: SavedWeights[] | null = null;
  const tuningPath = join(outDir, 'tuning.json');
  if (config.resume) {
    const saved = loadTrainingState<LoopState>(lastPath, model);
    optimizer.loadStateDict(saved.optimizer);
    rewindWeights = saved.rewind;
    loop = saved.loop;
    loader.setState(loop.loader);
    if (existsSync(tuningPath)) runtime().runner.tuner.import(JSON.parse(readFileSync(tuningPath, 'utf8')));
    log(`resumed ${outDir} after epoch ${loop.epoch} (step ${loop.step})`);
  }
  const runShapes = runShapesOf(model, () => makeOptimizer(model, config), data, config);
  await kernels.beforeFirstStep(runShapes);

  const lossSum = tensor(new Float32Array(1), []);
  const correct = tensor(new Float32Array(1), [1]);
  try {
    for (let epoch = loop.epoch; epoch < config.epochs; epoch++) {
      if (rewindEpoch === epoch && !rewindWeights) rewindWeights = await saveWeights(model, graph);
      const progress = new Progress(`epoch ${epoch + 1}/${config.epochs}`, stepsPerEpoch);
      runtime().runner.write(lossSum.buffer, 0, new Float32Array(1));
      runtime().runner.write(correct.buffer, 0, new Float32Array(1));
      let started = performance.now();
      let seen = 0;
      let done = 0;
      for (const batch of loader.epoch()) {
        if (schedule?.isPruningStep(loop.step)) {
          const target = schedule.sparsityAt(loop.step);
          await pruneModel(model, graph, config, target, config.seed * 1000 + loop.pruneEvents++);
          if (loop.step === lastEventStep && rewindWeights) {
            await rewind(model, graph, rewindWeights);
            optimizer.dispose();
            optimizer = makeOptimizer(model, config);
          }
        }
        const scope = beginScope();
        try {
          const x = tensor(batch.x, batch.shape);
          const y = labels(batch.y);
          const logits = model.forward(x);
          const loss = crossEntropy(logits, y);
          loss.backward();
          optimizer.lr = learningRate(config, loop.step, totalSteps);
          optimizer.step();
          optimizer.zeroGrad();
          // Mean loss times batch size: the running sum is divided by images seen (the last batch may be smaller).
          accumulate(lossSum, scale(loss, batch.y.length));
          accumulateCorrect(correct, logits, y);
        } finally {
          scope.end();
        }
        loop.step++;
        // Compiling and tuning the run's other shapes is not training time.
        started += await kernels.afterFirstSteps(runShapes, tuningPath);
        seen += batch.y.length;
        done++;
        if (progress.due(done)) {
          const [l, c] = [await lossSum.item({ checkFinite: true }), await correct.item()];
          progress.update(done, { loss: l / seen, acc: c / seen, 'img/s': seen / ((performance.now() - started) / 1000) });
        }
      }
      progress.done();
      const seconds = (performance.now() - started) / 1000;
      const trainLoss = (await lossSum.item({ checkFinite: true })) / seen;
      const trainAccuracy = (await correct.item()) / seen;
      const val = await evaluate(model, data.val, { batchSize: config.evalBatchSize, normalization });
      const test = await evaluate(model, data.test, { batchSize: config.evalBatchSize, normalization });
      const layers = await prunableLayers(model, graph);
      const sparsity = sparsityReport(layers);
      const record: EpochRecord = {
        epoch: epoch + 1, step: loop.step, lr: optimizer.lr, trainLoss, trainAccuracy, seconds, imagesPerSecond: seen / seconds,
        valLoss: val.loss, valAccuracy: val.accuracy, valBalancedAccuracy: val.balancedAccuracy,
        testLoss: test.loss, testAccuracy: test.accuracy, testBalancedAccuracy: test.balancedAccuracy,
        testRecall: Object.fromEntries(classes.map((c, i) => [c, test.recall[i]])), testConfusion: test.confusion,
        sparsity: sparsity.total.sparsity, layerSparsity: Object.fromEntries(sparsity.layers.map((l) => [l.name, l.sparsity])),
        gpuLiveBytes: memory().liveBytes,
      };
      loop.history.push(record);
      log(`epoch ${epoch + 1}: train loss ${trainLoss.toFixed(4)} acc ${trainAccuracy.toFixed(4)} | val acc ${val.accuracy.toFixed(4)} bal ${val.balancedAccuracy.toFixed(4)} | test loss ${test.loss.toFixed(4)} acc ${test.accuracy.toFixed(4)} bal ${test.balancedAccuracy.toFixed(4)} | sparsity ${sparsity.total.sparsity.toFixed(3)} | ${record.imagesPerSecond.toFixed(0)} img/s`);
      const recall = classes.map((c, i) => `${c} ${formatMetric(test.recall[i], 3)}`).join(' ');
      const layerSparsity = model.sparse ? ` | sparsity ${sparsity.layers.map((l) => `${l.name} ${l.sparsity.toFixed(3)}`).join(' ')}` : '';
      log(`  test recall ${recall}${layerSparsity}`);

      // The best checkpoint is chosen on validation, after pruning has finished (a dense early epoch is not a
      // pruned model's best).
      const score = selectionScore(val, config);
      const pruningDone = loop.step > lastEventStep;
      if (pruningDone && (loop.best === null || score > loop.best)) {
        loop.best = score;
        await saveModel(join(outDir, 'best.safetensors'), model, run, checkpointMetadata(config, record, 'best'));
      }
      loop.epoch = epoch + 1;
      loop.loader = loader.getState();
      await saveTrainingState(lastPath, model, optimizer, rewindWeights, loop);
      writeRunFiles(outDir, { config, history: loop.history, device: device.description });
      await hooks.afterEpoch?.(record);
    }

    const finalTest = await evaluate(model, data.test, { batchSize: config.evalBatchSize, normalization });
    for (const line of ['final model, test part:', ...formatClassMetrics(finalTest, classes)]) log(line);
    const report = sparsityReport(await prunableLayers(model, graph));
    await saveModel(join(outDir, 'final.safetensors'), model, run, checkpointMetadata(config, loop.history.at(-1)!, 'final'));
    const final: FinalRecord = finalRecord(finalTest, report, data.test, device.description, loop.history, run);
    writeRunFiles(outDir, { config, history: loop.history, device: device.description, final, sparsityText: formatSparsity(report, { withTotal: true }) });
    if (config.report) log(`report: ${(await writeRunReport(outDir)).html}`);
    return { history: loop.history, final, outDir };
  } finally {
    lossSum.dispose();
    correct.dispose();
    optimizer.dispose();
    model.dispose();
  }
}

function makeOptimizer(model: LeNet, config: TrainConfig): optim.Adam {
  return new optim.Adam(model.parametersWithMasks(), { lr: config.lr, weightDecay: config.weightDecay });
}

/** The learning rate of optimizer step `step` (0-based), a function of the step alone so that --resume matches. */
function learningRate(config: TrainConfig, step: number, totalSteps: number): number {
  return config.lrSchedule === 'cosine' ? optim.cosineAnnealingLr(config.lr, step, totalSteps) : config.lr;
}

function selectionScore(metrics: ClassificationMetrics, config: TrainConfig): number {
  if (config.select === 'loss') return -metrics.loss;
  return config.select === 'balanced-accuracy' ? metrics.balancedAccuracy : metrics.accuracy;
}

function checkpointMetadata(config: TrainConfig, record: EpochRecord, kind: string): Record<string, string> {
  return { format: 'pt', sparsenet: kind, config: JSON.stringify(config), epoch: String(record.epoch), metrics: JSON.stringify(record) };
}

function finalRecord(test: ClassificationMetrics, report: ReturnType<typeof sparsityReport>, dataset: ImageDataset, device: string, history: EpochRecord[], run: RunMetadata): FinalRecord {
  return {
    testAccuracy: test.accuracy,
    testBalancedAccuracy: test.balancedAccuracy,
    testLoss: test.loss,
    testRecall: Object.fromEntries(run.classes.map((c, i) => [c, test.recall[i]])),
    testConfusion: test.confusion,
    testImages: dataset.count,
    sparsity: report.total.sparsity,
    layerSparsity: Object.fromEntries(report.layers.map((l) => [l.name, l.sparsity])),
    trainSeconds: history.reduce((s, r) => s + r.seconds, 0),
    device,
    classes: [...run.classes],
    numClasses: run.classes.length,
  };
}

/**
 * On --resume the saved config rules (the command line of a resume usually carries only --resume and --out);
 * settings given now that differ from the saved ones are named in the log as ignored, not silently dropped.
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
