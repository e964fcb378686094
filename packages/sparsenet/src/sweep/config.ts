/**
 * The sweep's command line: one table describes every flag, so `--help`, parsing and validation cannot drift
 * apart. `--merge DIR...` takes the folders that follow it.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_TRAIN_CONFIG, flagName, type LrSchedule } from '../train/config.js';
import { ARCHITECTURES } from '../zoo/index.js';
import { parseShard, SWEEP_PRUNERS, type Shard, type SweepGrid, type SweepMethod } from './grid.js';
import { isScratchMethod, SCRATCH_METHOD_NAMES } from './scratch.js';
import { SHARD_COUNT_VARIABLE, shardFromEnvironment } from './shard-env.js';

export interface SweepConfig extends SweepGrid {
  out: string;
  shard: Shard;
  /** Where the shard came from ('--shard K/N', or the cluster engine's task for --shard auto), for the log. */
  shardSource: string;
  /** Part folders to join instead of training; null when training. */
  merge: string[] | null;
  /** Write the tables from the units finished so far in --out, and train nothing. */
  tablesOnly: boolean;
  /** Time every finished unit again (its accuracy and counts stay), so that all rows are timed under one load. */
  remeasure: boolean;
  /** --merge: tabulate the finished units of unfinished or missing parts instead of refusing them. */
  allowPartial: boolean;
}

export const DEFAULT_SWEEP_CONFIG: SweepConfig = {
  arch: DEFAULT_TRAIN_CONFIG.arch,
  seeds: [0, 1, 2],
  pruners: [...SWEEP_PRUNERS],
  sparsities: null,
  scope: 'global',
  // The baselines are `npm run train`'s default run, seed by seed.
  epochs: DEFAULT_TRAIN_CONFIG.epochs,
  finetuneEpochs: 5,
  batchSize: DEFAULT_TRAIN_CONFIG.batchSize,
  lr: DEFAULT_TRAIN_CONFIG.lr,
  lrSchedule: DEFAULT_TRAIN_CONFIG.lrSchedule,
  data: null,
  limit: null,
  out: 'runs/sweep',
  shard: { index: 1, count: 1 },
  shardSource: 'the whole sweep',
  merge: null,
  tablesOnly: false,
  remeasure: false,
  allowPartial: false,
};

interface Flag {
  key: keyof SweepConfig;
  help: string;
  parse: (raw: string, name: string) => unknown;
  shown: (config: SweepConfig) => string;
}

const fail = (message: string): never => {
  throw new Error(`sweep: ${message}`);
};

function integer(least: number) {
  return (raw: string, name: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < least) fail(`--${name} must be an integer >= ${least}, got '${raw}'`);
    return n;
  };
}

function list<T>(item: (text: string, name: string) => T) {
  return (raw: string, name: string): T[] => {
    const items = raw.split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) fail(`--${name} must be a comma-separated list, got '${raw}'`);
    const values = items.map((s) => item(s, name));
    if (new Set(values).size !== values.length) fail(`--${name} lists a value twice: '${raw}'`);
    return values;
  };
}

const pruner = (text: string, name: string): SweepMethod =>
  (SWEEP_PRUNERS as readonly string[]).includes(text) || isScratchMethod(text)
    ? text
    : fail(`--${name}: unknown pruner '${text}' (choices: ${SWEEP_PRUNERS.join(', ')}; trained from scratch: ${SCRATCH_METHOD_NAMES.join(', ')})`);

const sparsity = (text: string, name: string): number => {
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 && n < 1 ? n : fail(`--${name}: each sparsity must be a number in [0, 1), got '${text}'`);
};

const shownList = (values: readonly unknown[] | null, none = '-') => (values ? values.join(',') : none);

export const SWEEP_FLAGS: readonly Flag[] = [
  {
    key: 'arch', help: `the architecture every unit trains (${ARCHITECTURES.join('|')}); its defaults`,
    parse: (raw, name) => (ARCHITECTURES.includes(raw) ? raw : fail(`--${name} must be one of ${ARCHITECTURES.join(', ')}, got '${raw}'`)), shown: (c) => c.arch,
  },
  { key: 'epochs', help: 'epochs of each dense baseline and of each unit trained from scratch', parse: integer(1), shown: (c) => String(c.epochs) },
  { key: 'finetuneEpochs', help: 'epochs of each fine-tune after the one-shot pruning', parse: integer(1), shown: (c) => String(c.finetuneEpochs) },
  { key: 'seeds', help: 'seeds (init, split, batches); one baseline per seed', parse: list(integer(0)), shown: (c) => shownList(c.seeds) },
  {
    key: 'pruners', help: `pruners of the baseline, fine-tuned (${SWEEP_PRUNERS.join('|')}; structured prunes conv filters and linear neurons), or methods trained sparse from scratch for --epochs (${SCRATCH_METHOD_NAMES.join('|')})`,
    parse: list(pruner), shown: (c) => shownList(c.pruners),
  },
  {
    key: 'sparsities', help: 'one sparsity list for every pruner (default: 0,0.5,0.7,0.8,0.9,0.95,0.98 unstructured; 0,0.25,0.5,0.75 structured)',
    parse: list(sparsity), shown: (c) => shownList(c.sparsities, 'per pruner'),
  },
  {
    key: 'scope', help: 'unstructured pruning: rank across all layers (global) or per layer',
    parse: (raw, name) => (raw === 'global' || raw === 'layer' ? raw : fail(`--${name} must be global or layer, got '${raw}'`)), shown: (c) => c.scope,
  },
  { key: 'data', help: 'a HAM10000 folder; default: the embedded 64x64 set', parse: (raw) => raw, shown: (c) => c.data ?? '-' },
  { key: 'limit', help: 'use only N images (smoke runs)', parse: integer(10), shown: (c) => String(c.limit ?? '-') },
  { key: 'batchSize', help: 'images per training step', parse: integer(1), shown: (c) => String(c.batchSize) },
  {
    key: 'lr', help: 'Adam learning rate (baselines and fine-tunes)',
    parse: (raw, name) => (Number(raw) > 0 && Number.isFinite(Number(raw)) ? Number(raw) : fail(`--${name} must be a number > 0, got '${raw}'`)), shown: (c) => String(c.lr),
  },
  {
    key: 'lrSchedule', help: 'learning rate per step in each training: constant, or cosine from --lr to 0 over that training',
    parse: (raw, name): LrSchedule => (raw === 'constant' || raw === 'cosine' ? raw : fail(`--${name} must be constant or cosine, got '${raw}'`)), shown: (c) => c.lrSchedule,
  },
  { key: 'out', help: 'sweep folder: one run folder per unit, the part file, the tables', parse: (raw) => raw, shown: (c) => c.out },
  {
    key: 'shard', help: `run the K-th of N disjoint parts, or 'auto': the part of this Slurm array task or Kubernetes Indexed Job pod (with --shard-count or ${SHARD_COUNT_VARIABLE}); join with --merge`,
    parse: (raw) => (raw.trim() === 'auto' ? 'auto' : parseShard(raw)), shown: (c) => `${c.shard.index}/${c.shard.count}`,
  },
  { key: 'merge', help: 'DIR...: join the parts found in these folders into the table in --out (no training)', parse: (raw) => [raw], shown: () => '-' },
];

export function sweepHelp(command = 'npm run sweep --'): string {
  const lines = SWEEP_FLAGS.map((f) => `  --${flagName(f.key).padEnd(17)} ${f.help} [default: ${f.shown(DEFAULT_SWEEP_CONFIG)}]`);
  return [
    `usage: ${command} [flags]`,
    `       ${command} --merge DIR... [--out DIR]`,
    '',
    ...lines,
    `  --${'tables-only'.padEnd(17)} write the tables from the units finished so far in --out (rows may have fewer seeds); train nothing`,
    `  --${'shard-count'.padEnd(17)} N: the number of parts, for --shard auto under Kubernetes (the Job's completions)`,
    `  --${'allow-partial'.padEnd(17)} with --merge: tabulate the finished units of unfinished or missing parts (a partial table)`,
    `  --${'remeasure'.padEnd(17)} time the finished units again, one after another (run it on an idle machine so that the`,
    `  ${''.padEnd(19)} ms/img columns compare across rows); units not yet trained are trained as usual`,
    `  --${'help'.padEnd(17)} this list`,
    '',
    'Each unit (a dense baseline, a fine-tune, or a method trained from scratch) has its own run folder under --out; a finished unit is skipped',
    'and an unfinished one resumed, so rerunning a killed sweep continues it. Shard K/N owns a contiguous slice of',
    'the seed-major unit list, balanced by epochs; when its fine-tunes need a baseline owned by another shard, it',
    'trains its own copy (seedS/dense.copy-K-of-N). Parts may share one --out or use one each.',
  ].join('\n');
}

/** Parses argv; unknown flags and bad values throw naming the flag. */
export function parseSweepArgs(argv: string[], env: Record<string, string | undefined> = process.env): { config: SweepConfig; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    help: { type: 'boolean' }, 'tables-only': { type: 'boolean' }, remeasure: { type: 'boolean' }, 'allow-partial': { type: 'boolean' }, 'shard-count': { type: 'string' },
  };
  for (const f of SWEEP_FLAGS) options[flagName(f.key)] = { type: 'string', multiple: f.key === 'merge' };
  let parsed: { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    throw new Error(`sweep: ${(error as Error).message}\n\n${sweepHelp()}`);
  }
  const { values, positionals } = parsed;
  const config: SweepConfig = { ...DEFAULT_SWEEP_CONFIG };
  const record = config as unknown as Record<string, unknown>;
  for (const f of SWEEP_FLAGS) {
    const name = flagName(f.key);
    const raw = values[name];
    if (raw === undefined) continue;
    if (f.key === 'merge') record.merge = (raw as string[]).flatMap((dir) => f.parse(dir, name) as string[]);
    else record[f.key] = f.parse(raw as string, name);
  }
  if (positionals.length) {
    if (!config.merge) fail(`unexpected argument '${positionals[0]}' (only --merge takes several folders)`);
    config.merge = [...config.merge!, ...positionals];
  }
  if (config.merge && values.shard !== undefined) fail('--merge joins finished parts; it does not take --shard');
  const shardCount = values['shard-count'] === undefined ? undefined : integer(1)(values['shard-count'] as string, 'shard-count');
  if (shardCount !== undefined && (config.shard as Shard | 'auto') !== 'auto') fail('--shard-count goes with --shard auto');
  if ((config.shard as Shard | 'auto') === 'auto') {
    const { shard, source } = shardFromEnvironment(env, shardCount);
    config.shard = shard;
    config.shardSource = source;
  } else if (values.shard !== undefined) config.shardSource = `--shard ${config.shard.index}/${config.shard.count}`;
  config.allowPartial = Boolean(values['allow-partial']);
  if (config.allowPartial && !config.merge) fail('--allow-partial goes with --merge');
  config.tablesOnly = Boolean(values['tables-only']);
  if (config.tablesOnly && (config.merge || values.shard !== undefined)) fail('--tables-only reads the units in --out; it takes neither --merge nor --shard');
  config.remeasure = Boolean(values.remeasure);
  if (config.remeasure && (config.merge || config.tablesOnly)) fail('--remeasure times the units in --out; it takes neither --merge nor --tables-only');
  return { config, help: Boolean(values.help) };
}
