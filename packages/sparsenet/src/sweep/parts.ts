/**
 * Sweep parts: each run of `--shard K/N` writes `sweep-part-K-of-N.json` into its --out (the grid, the units it
 * owns and their results, rewritten after every unit), so parts can live in separate folders or share one.
 * Merging checks that the parts are finished, come from the same grid and together cover it exactly.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { enumerateUnits, shardName, type Shard, type SweepGrid } from './grid.js';
import { writeSweepOutputs, type SummaryRow, type UnitResult } from './table.js';

export const PART_FORMAT = 'sparsenet-sweep-part';

export interface SweepPart {
  format: typeof PART_FORMAT;
  version: 1;
  grid: SweepGrid;
  shard: Shard;
  /** Ids of the units this part owns, in grid order. */
  units: string[];
  /** Results of its finished units. */
  results: UnitResult[];
  complete: boolean;
}

export function partFileName(shard: Shard): string {
  return `sweep-part-${shardName(shard)}.json`;
}

const PART_FILE = /^sweep-part-(\d+)-of-(\d+)\.json$/;

/** The parts in a folder, each with the file it came from. */
export function readParts(dir: string): { path: string; part: SweepPart }[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`sweep --merge: ${dir} is not a folder`);
  const files = readdirSync(dir).filter((f) => PART_FILE.test(f)).sort();
  if (!files.length) throw new Error(`sweep --merge: ${dir} is not a sweep part (no sweep-part-K-of-N.json in it; a part is the --out of 'npm run sweep -- --shard K/N')`);
  return files.map((file) => {
    const path = join(dir, file);
    let part: SweepPart;
    try {
      part = JSON.parse(readFileSync(path, 'utf8')) as SweepPart;
    } catch (error) {
      throw new Error(`sweep --merge: ${path} is not valid JSON (${(error as Error).message})`);
    }
    if (part?.format !== PART_FORMAT || !part.grid || !part.shard || !Array.isArray(part.results)) throw new Error(`sweep --merge: ${path} is not a sweep part file`);
    return { path, part };
  });
}

export interface MergeOptions {
  /** Take the finished units of unfinished parts, and go on without missing parts (a partial table). */
  allowPartial?: boolean;
}

/**
 * The grid and the results of all its units, from parts that together cover it exactly once; with
 * `allowPartial`, the results of the units finished so far (`total` says how many the grid has).
 */
export function mergeParts(dirs: readonly string[], options: MergeOptions = {}): { grid: SweepGrid; results: UnitResult[]; total: number } {
  const partial = options.allowPartial ?? false;
  if (!dirs.length) throw new Error('sweep --merge: name at least one part folder');
  const parts = [...new Set(dirs.map((d) => resolve(d)))].flatMap((dir) => readParts(dir));
  const [first] = parts;
  const gridText = JSON.stringify(first.part.grid);
  for (const { path, part } of parts) {
    if (JSON.stringify(part.grid) !== gridText) {
      const keys = Object.keys(first.part.grid) as (keyof SweepGrid)[];
      const differ = keys.filter((k) => JSON.stringify(part.grid[k]) !== JSON.stringify(first.part.grid[k]));
      const shown = differ.map((k) => `${k} ${JSON.stringify(first.part.grid[k])} vs ${JSON.stringify(part.grid[k])}`).join(', ');
      throw new Error(`sweep --merge: ${path} comes from another sweep than ${first.path} (${shown})`);
    }
    if (part.shard.count !== first.part.shard.count) {
      throw new Error(`sweep --merge: ${path} is part ${part.shard.index}/${part.shard.count} but ${first.path} is part ${first.part.shard.index}/${first.part.shard.count}: merge parts of one split`);
    }
  }
  const count = first.part.shard.count;
  const byIndex = new Map<number, string>();
  for (const { path, part } of parts) {
    const other = byIndex.get(part.shard.index);
    if (other) throw new Error(`sweep --merge: part ${part.shard.index}/${count} appears twice (${other} and ${path})`);
    byIndex.set(part.shard.index, path);
    if (!part.complete && !partial) {
      throw new Error(`sweep --merge: part ${part.shard.index}/${count} (${path}) is unfinished: ${part.results.length} of ${part.units.length} units done; rerun that shard to finish it (or --allow-partial for a partial table)`);
    }
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((k) => !byIndex.has(k));
  if (missing.length && !partial) throw new Error(`sweep --merge: missing part${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${count}`).join(', ')}`);
  const results = new Map(parts.flatMap(({ part }) => part.results.map((r) => [r.unit, r] as const)));
  const grid = first.part.grid;
  const units = enumerateUnits(grid);
  const lacking = units.filter((u) => !results.has(u.id));
  if (lacking.length && !partial) throw new Error(`sweep --merge: the parts lack results for ${lacking.map((u) => u.id).join(', ')}`);
  if (!results.size) throw new Error(`sweep --merge: no part in ${dirs.join(', ')} has a finished unit yet`);
  // Grid order, whatever order the parts were read in.
  return { grid, results: units.flatMap((u) => results.get(u.id) ?? []), total: units.length };
}

/** `--merge DIR...`: joins the parts and writes the tables, figure and report into `out`. */
export async function mergeSweep(dirs: readonly string[], out: string, options: MergeOptions = {}): Promise<{ rows: SummaryRow[]; finished: number; total: number }> {
  const { grid, results, total } = mergeParts(dirs, options);
  const partial = results.length < total ? `partial: ${results.length} of ${total} units, ` : '';
  return { rows: await writeSweepOutputs(out, grid, results, `${partial}merged from ${dirs.join(', ')}`), finished: results.length, total };
}
