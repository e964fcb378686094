/** The bench's flags. */
import { parseArgs } from 'node:util';

export const SECTIONS = ['cold', 'ceilings', 'kernels', 'layers', 'lenet', 'zoo', 'profile', 'tfjs', 'wasm', 'torch', 'sparsity', 'nm'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchArgs {
  quick: boolean;
  json: string | null;
  checkpoint: string | null;
  /** Images of the embedded set to train on for the sparsity section (when no checkpoint is given). */
  limit: number;
  only: Set<Section>;
}

export const USAGE = `npm run bench [-- options]
  --quick             a shorter run (fewer blocks and sizes; about a third of the time)
  --json FILE         write the table's rows (and one row per LeNet workload) to FILE
  --checkpoint FILE   trained LeNet/SparseNet weights for the sparsity section (default: train one briefly)
  --limit N           images of the embedded set for that brief training (default 2000; --quick 600)
  --only a,b,...      run only these sections: ${SECTIONS.join(', ')}
  --skip a,b,...      run all sections but these`;

export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      checkpoint: { type: 'string' },
      limit: { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const list = (text: string | undefined, flag: string): Section[] => {
    const names = (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    for (const name of names) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`bench --${flag}: unknown section '${name}' (sections: ${SECTIONS.join(', ')})`);
    return names as Section[];
  };
  const only = values.only ? new Set(list(values.only, 'only')) : new Set<Section>(SECTIONS);
  for (const name of list(values.skip, 'skip')) only.delete(name);
  const limit = values.limit === undefined ? (values.quick ? 600 : 2000) : Number(values.limit);
  if (!(Number.isInteger(limit) && limit > 0)) throw new Error(`bench --limit: expected a positive integer, got '${values.limit}'`);
  return { quick: values.quick, json: values.json ?? null, checkpoint: values.checkpoint ?? null, limit, only };
}
