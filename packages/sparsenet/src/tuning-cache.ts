/**
 * What runs learn about the kernels on this machine, kept between them (Node only): the tuner's measured
 * choices and the programs the last run used, one file per adapter and driver, so that a second run measures
 * nothing measured before and can compile its kernels before it needs them. Sweep shards on a mixed cluster
 * may share the folder: another adapter, driver or Dawn version is another file.
 *
 * Folder: $SPARSENET_CACHE_DIR, else $XDG_CACHE_HOME/sparsenet, else ~/.cache/sparsenet. Files are written
 * atomically; an unreadable or damaged one is ignored with a warning (the run measures again and rewrites it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DeviceInfo, Program, TuningRecord } from '@sparsenet/tensor';
import { writeFileAtomic } from '@sparsenet/viz';

const FORMAT = 'sparsenet-kernel-cache';
const FORMAT_VERSION = 1;

/** Everything that makes measured choices and compiled kernels differ between machines. */
export type AdapterIdentity = Pick<DeviceInfo, 'vendor' | 'architecture' | 'device' | 'description' | 'driver'>;

export interface KernelCache {
  /** The tuner's records by `kernel:shape` (see KernelTuner.export). */
  tuning: Record<string, TuningRecord>;
  /** The programs the last run used, in order of first use. */
  programs: Program[];
}

export function tuningCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SPARSENET_CACHE_DIR) return env.SPARSENET_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sparsenet');
}

/** The adapter's file in `dir`: named by a hash of its identity (the file repeats the identity in full). */
export function tuningCacheFile(dir: string, adapter: AdapterIdentity): string {
  const id = createHash('sha256').update(JSON.stringify(identity(adapter))).digest('hex').slice(0, 16);
  return join(dir, `kernels-${id}.json`);
}

/** The cache for `adapter` in `file`: empty when there is none yet, or (with a warning) when it cannot be used. */
export function readTuningCache(file: string, adapter: AdapterIdentity, warn: (line: string) => void): KernelCache {
  const empty: KernelCache = { tuning: {}, programs: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn(`kernel cache ${file} is unreadable (${(error as Error).message}); measuring again`);
    return empty;
  }
  try {
    return parseCache(JSON.parse(text), adapter);
  } catch (error) {
    warn(`kernel cache ${file} is damaged (${(error as Error).message}); ignoring it and measuring again`);
    return empty;
  }
}

/**
 * Writes this run's cache: its tuning records over those in the file now (another run may have added some
 * meanwhile), and its programs in place of the last run's.
 */
export function writeTuningCache(file: string, adapter: AdapterIdentity, cache: KernelCache): void {
  const current = readTuningCache(file, adapter, () => {});
  const body = {
    format: FORMAT,
    version: FORMAT_VERSION,
    adapter: identity(adapter),
    tuning: { ...current.tuning, ...cache.tuning },
    programs: cache.programs.map(({ key, wgsl, bindings }) => ({ key, wgsl, bindings })),
  };
  writeFileAtomic(file, `${JSON.stringify(body)}\n`);
}

function identity(a: AdapterIdentity): AdapterIdentity {
  return { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description, driver: a.driver };
}

function parseCache(body: unknown, adapter: AdapterIdentity): KernelCache {
  const object = (value: unknown, what: string): Record<string, unknown> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not an object`);
    return value as Record<string, unknown>;
  };
  const top = object(body, 'the file');
  if (top.format !== FORMAT || top.version !== FORMAT_VERSION) throw new Error(`not a ${FORMAT} file of version ${FORMAT_VERSION}`);
  if (JSON.stringify(identity(object(top.adapter, 'adapter') as AdapterIdentity)) !== JSON.stringify(identity(adapter))) throw new Error('it was written for another adapter or driver');
  const tuning: Record<string, TuningRecord> = {};
  for (const [key, value] of Object.entries(object(top.tuning, 'tuning'))) {
    const record = object(value, `tuning record ${key}`);
    if (typeof record.variant !== 'string' || typeof record.version !== 'string') throw new Error(`tuning record ${key} lacks a variant or version`);
    tuning[key] = { variant: record.variant, version: record.version };
  }
  if (!Array.isArray(top.programs)) throw new Error('programs is not a list');
  const programs = top.programs.map((value, i): Program => {
    const p = object(value, `program ${i}`);
    const bindings = p.bindings;
    if (typeof p.key !== 'string' || typeof p.wgsl !== 'string' || !Array.isArray(bindings) || !bindings.every((b) => b === 'read' || b === 'write' || b === 'uniform')) {
      throw new Error(`program ${i} lacks a key, WGSL or bindings`);
    }
    return { key: p.key, wgsl: p.wgsl, bindings };
  });
  return { tuning, programs };
}
