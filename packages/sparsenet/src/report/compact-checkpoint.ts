/**
 * `npm run compact`: a structured-pruned checkpoint of any zoo model written as the narrower dense model of the
 * same architecture (compact-model.ts), its architecture in the run metadata so that eval, predict, report and
 * the web page rebuild it; the other metadata (the run's config) is kept, plus where it was compacted from.
 */
import { compactModel } from '../compact-model.js';
import { traceLayerGraph } from '../graph/trace.js';
import type { Compaction } from '../prune/index.js';
import type { ArchitectureSpec } from '../run-metadata.js';
import { saveModel } from '../train/checkpoint.js';
import { describeArchitecture } from '../zoo/index.js';
import { commandUsage, parseCommand, type CommandFlag } from './args.js';
import { loadCheckpointModel } from './checkpoint-model.js';

export interface CompactedCheckpoint {
  /** The narrower architecture the file records. */
  architecture: ArchitectureSpec;
  /** Kept units per layer, parameter and FLOP counts of the masked and the compacted layers. */
  compaction: Compaction;
}

/** Writes `checkpoint` compacted to `out` (temp name, then renamed; nothing written on an error). */
export async function compactCheckpoint(checkpoint: string, out: string): Promise<CompactedCheckpoint> {
  const { model, run, metadata } = await loadCheckpointModel(checkpoint);
  try {
    const graph = traceLayerGraph(model, [run.channels, run.imageSize, run.imageSize]);
    const small = await compactModel(model, graph, run.architecture, { numClasses: run.classes.length, imageSize: run.imageSize, seed: 0 });
    try {
      // saveModel replaces the run metadata with the narrower architecture's.
      await saveModel(out, small.model, { ...run, architecture: small.architecture }, { ...metadata, sparsenet: 'compacted', compacted_from: checkpoint });
    } finally {
      small.model.dispose();
    }
    return { architecture: small.architecture, compaction: small.compaction };
  } finally {
    model.dispose();
  }
}

const COMPACT_USAGE = 'npm run compact -- --checkpoint FILE --out FILE';
const COMPACT_FLAGS: Record<string, CommandFlag> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint of a structured-pruned zoo model (.safetensors); required' },
  out: { type: 'string', value: 'FILE', help: 'the compacted checkpoint to write; required' },
};

/** `npm run compact -- --checkpoint FILE --out FILE`: writes the compacted model and prints its architecture and size. */
export async function compactCommand(argv: string[], print: (text: string) => void): Promise<void> {
  const { values, positionals, help } = parseCommand('compact', argv, COMPACT_USAGE, COMPACT_FLAGS);
  const usage = commandUsage(COMPACT_USAGE, COMPACT_FLAGS);
  if (help) return print(usage);
  if (positionals.length) throw new Error(`compact: unexpected argument ${positionals[0]}\n\n${usage}`);
  if (typeof values.checkpoint !== 'string' || typeof values.out !== 'string') throw new Error(`compact: --checkpoint FILE and --out FILE are required\n\n${usage}`);
  const { architecture, compaction } = await compactCheckpoint(values.checkpoint, values.out);
  const { params, flops } = compaction;
  const mflops = (f: number) => (f / 1e6).toFixed(2);
  print([
    `${values.out}: ${describeArchitecture(architecture)}`,
    `conv and linear parameters: ${params.compact.total} of ${params.masked.total}`,
    `MFLOPs per image: ${mflops(flops.compact.dense)} (the masked model: ${mflops(flops.masked.dense)} dense, ${mflops(flops.masked.effective)} effective)`,
  ].join('\n'));
}
