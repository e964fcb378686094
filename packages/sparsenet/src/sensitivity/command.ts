/**
 * `npm run sensitivity -- RUN_DIR [--checkpoint final.safetensors] [--structure filters] [--sparsities ...]
 * [--target 0.9] [--out DIR]`: the sensitivity of a trained run's checkpoint, measured on the validation part of
 * its own split, written as sensitivity.csv, sensitivity.md and sensitivity.svg/.png, and with --target (magnitude
 * only) the plan.json that `npm run train -- --pruner magnitude --sparsity-plan plan.json` takes. Every file is
 * written to a temporary name and renamed.
 */
import { join } from 'node:path';
import { sensitivitySpec, writeFigure, writeFileAtomic } from '@sparsenet/viz';
import { traceLayerGraph } from '../graph/trace.js';
import { parseStructures, type StructuredMode } from '../prune/index.js';
import { commandUsage, parseCommand, type CommandFlag } from '../report/args.js';
import { loadCheckpointModel } from '../report/checkpoint-model.js';
import { evaluationImages, runConfig } from '../report/evaluate-checkpoint.js';
import { evaluate } from '../train/evaluate.js';
import { describeArchitecture } from '../zoo/index.js';
import { DEFAULT_SENSITIVITIES, measureSensitivity } from './measure.js';
import { writeSparsityPlan } from './plan-file.js';
import { planForTarget } from './plan.js';
import { sensitivityCsv, sensitivityCurves, sensitivityMarkdown } from './table.js';

const USAGE = 'npm run sensitivity -- RUN_DIR [--checkpoint FILE] [--structure filters|neurons|channels,...] [--sparsities 0.1,0.2,...] [--target 0.9] [--out DIR]';
const FLAGS: Record<string, CommandFlag> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'the checkpoint in RUN_DIR to analyse [default: final.safetensors]' },
  structure: { type: 'string', value: 'LIST', help: 'structured: prune that fraction of each channel group\'s filters / neurons (or a conv\'s input channels) [default: magnitude per layer]' },
  sparsities: { type: 'string', value: 'LIST', help: `comma-separated sparsities in (0, 1) [default: ${DEFAULT_SENSITIVITIES.join(',')}]` },
  target: { type: 'string', value: 'S', help: 'write plan.json: per-layer sparsities reaching overall sparsity S by the shared drop tolerance rule (magnitude only)' },
  out: { type: 'string', value: 'DIR', help: 'where to write [default: RUN_DIR/sensitivity]' },
};

export interface SensitivityCommandResult {
  files: string[];
}

export async function sensitivityCommand(argv: string[], log: (line: string) => void): Promise<SensitivityCommandResult> {
  const { values, positionals, help } = parseCommand('sensitivity', argv, USAGE, FLAGS);
  const usage = commandUsage(USAGE, FLAGS);
  if (help) {
    log(usage);
    return { files: [] };
  }
  if (positionals.length !== 1) throw new Error(`sensitivity: give one RUN_DIR, got ${positionals.length ? positionals.join(' ') : 'none'}\n\n${usage}`);
  const runDir = positionals[0];
  const structures: StructuredMode[] | undefined = typeof values.structure === 'string' ? parseStructures(values.structure) : undefined;
  const sparsities = typeof values.sparsities === 'string' ? values.sparsities.split(',').map((item) => numberFlag('sparsities', item)) : DEFAULT_SENSITIVITIES;
  const target = typeof values.target === 'string' ? numberFlag('target', values.target) : undefined;
  if (target !== undefined && structures) throw new Error('sensitivity: --target makes a plan for magnitude pruning; leave out --structure');
  const checkpoint = join(runDir, typeof values.checkpoint === 'string' ? values.checkpoint : 'final.safetensors');
  const out = typeof values.out === 'string' ? values.out : join(runDir, 'sensitivity');

  const { model, metadata, run } = await loadCheckpointModel(checkpoint);
  let files: string[];
  try {
    const config = runConfig(checkpoint, metadata);
    const { dataset, splitSource } = await evaluationImages({ checkpoint, split: 'val', onWarning: log }, config, run);
    if (dataset.count === 0) throw new Error(`sensitivity: the validation part of ${splitSource} is empty; nothing to measure on`);
    const what = `${describeArchitecture(run.architecture)} (${checkpoint})`;
    log(`sensitivity: ${what}, validation part of ${splitSource}: ${dataset.count} images`);
    const graph = traceLayerGraph(model, [run.channels, run.imageSize, run.imageSize]);
    const evaluateModel = (m: typeof model) => evaluate(m, dataset, { batchSize: config?.evalBatchSize ?? 256, normalization: run.normalization });
    const result = await measureSensitivity(model, graph, evaluateModel, { sparsities, structures, log });
    const curves = sensitivityCurves(result);
    const plan = target === undefined ? undefined : { target, result: planForTarget(curves, target), curves };
    const heading = [`# Sensitivity of ${what}`, '', `Each layer pruned alone on the validation part of ${splitSource} (${dataset.count} images), no fine-tuning; \`npm run sensitivity\`.`];
    files = [join(out, 'sensitivity.csv'), join(out, 'sensitivity.md')];
    writeFileAtomic(files[0], sensitivityCsv(result));
    writeFileAtomic(files[1], sensitivityMarkdown(result, heading, plan));
    for (const method of [...new Set(result.rows.map((r) => r.method))]) {
      const rows = result.rows.filter((r) => r.method === method);
      const name = method === 'magnitude' ? 'sensitivity' : `sensitivity-${method}`;
      // Plotted at the weights actually pruned: a structured fraction rounds to whole units (1 of conv1's 6 filters at 10%).
      const points = rows.map((r) => ({ layer: r.layer, sparsity: r.zeros / r.weights, accuracy: r.accuracy }));
      const spec = sensitivitySpec(points, {
        // A long axis title pushes the plot (and the figure's title) out of the frame: the method goes in the title.
        title: `Sensitivity of each layer: ${method === 'magnitude' ? 'smallest |w| pruned' : `whole ${method} pruned, smallest L1 norm`}`,
        dense: { label: `unpruned (${(result.dense.accuracy * 100).toFixed(1)}%)`, accuracy: result.dense.accuracy },
      });
      files.push(...(await writeFigure(join(out, name), spec)).files);
    }
    if (plan) {
      files.push(join(out, 'plan.json'));
      writeSparsityPlan(files.at(-1)!, plan.result.plan);
      log(`plan: overall ${plan.result.overall.toFixed(4)} at tolerance ${plan.result.tolerance.toFixed(4)}: ${Object.entries(plan.result.plan).map(([name, s]) => `${name} ${s.toFixed(3)}`).join(', ')}`);
    }
  } finally {
    model.dispose();
  }
  for (const file of files) log(`wrote ${file}`);
  return { files };
}

function numberFlag(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`sensitivity: --${flag} needs numbers, got '${text}'`);
  return value;
}
