import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE, parseSweepArgs, shardFromEnvironment, UnitLock } from '@sparsenet/sparsenet';

describe('--shard auto', () => {
  it('maps Slurm array tasks to parts 1..N, from any first index and with a step', () => {
    const slurm = (id: number, min: number, max: number, step?: number, count?: number) => shardFromEnvironment({
      SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_MAX: String(max),
      SLURM_ARRAY_TASK_STEP: step === undefined ? undefined : String(step), SLURM_ARRAY_TASK_COUNT: count === undefined ? undefined : String(count),
    }).shard;
    expect([0, 1, 2].map((id) => slurm(id, 0, 2))).toEqual([1, 2, 3].map((index) => ({ index, count: 3 })));
    expect([1, 2, 3].map((id) => slurm(id, 1, 3, 1, 3))).toEqual([1, 2, 3].map((index) => ({ index, count: 3 })));
    expect(slurm(17, 5, 20)).toEqual({ index: 13, count: 16 });
    // --array=0-10:2: tasks 0, 2, ..., 10 are parts 1..6.
    expect([0, 2, 4, 6, 8, 10].map((id) => slurm(id, 0, 10, 2, 6))).toEqual([1, 2, 3, 4, 5, 6].map((index) => ({ index, count: 6 })));
    // --array=1,2,7 is no range: a task cannot know its part.
    expect(() => slurm(2, 1, 7, 1, 3)).toThrow(/has 3 tasks, not the 7 of an arithmetic range; submit a range/);
    expect(() => slurm(3, 0, 10, 2, 6)).toThrow(/SLURM_ARRAY_TASK_ID=3 is not a task of the range 0-10:2/);
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3' })).toThrow(/not SLURM_ARRAY_TASK_MIN .* is this an array job/);
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '1' })).toThrow(/SLURM_ARRAY_TASK_ID='x' is not a non-negative integer/);
  });

  it('maps a Kubernetes Indexed Job completion index (0-based) with the count from the flag or the environment', () => {
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '0' }, 4).shard).toEqual({ index: 1, count: 4 });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '3', SPARSENET_SHARD_COUNT: '4' }).shard).toEqual({ index: 4, count: 4 });
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '4' }, 4)).toThrow(/JOB_COMPLETION_INDEX=4 is past the 4 parts/);
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '1' })).toThrow(/pass --shard-count N or set SPARSENET_SHARD_COUNT/);
    expect(() => shardFromEnvironment({})).toThrow(/neither SLURM_ARRAY_TASK_ID .* nor JOB_COMPLETION_INDEX .* is set/);
  });

  it('is what parseSweepArgs gives for --shard auto, and the log names where it came from', () => {
    const { config } = parseSweepArgs(['--shard', 'auto', '--shard-count', '3'], { JOB_COMPLETION_INDEX: '2' });
    expect(config.shard).toEqual({ index: 3, count: 3 });
    expect(config.shardSource).toBe('Kubernetes Indexed Job completion index 2 of 3');
    expect(parseSweepArgs(['--shard', 'auto'], { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_MAX: '6' }).config.shard).toEqual({ index: 1, count: 3 });
    expect(() => parseSweepArgs(['--shard', '1/2', '--shard-count', '2'], {})).toThrow(/--shard-count goes with --shard auto/);
    expect(() => parseSweepArgs(['--shard', 'auto', '--shard-count', '5'], { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2' })).toThrow(/--shard-count 5 disagrees with the Slurm array's 3 tasks/);
    expect(() => parseSweepArgs(['--allow-partial'], {})).toThrow(/--allow-partial goes with --merge/);
  });
});

describe('unit locks', () => {
  const folder = () => mkdtempSync(join(tmpdir(), 'sweep-lock-'));
  const holderOf = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));

  it('holds the folder with host and pid, and releases it', async () => {
    const dir = folder();
    const lock = await UnitLock.acquire(dir);
    expect(holderOf(dir)).toMatchObject({ host: hostname(), pid: process.pid });
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('waits for a live holder and takes the lock when it is released', async () => {
    const dir = folder();
    const first = await UnitLock.acquire(dir, { self: { host: 'node-a', pid: 1 } });
    const lines: string[] = [];
    let acquired = false;
    const second = UnitLock.acquire(dir, { self: { host: 'node-b', pid: 2 }, pollSeconds: 0.05, log: (line) => lines.push(line) }).then((lock) => {
      acquired = true;
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(acquired).toBe(false);
    expect(lines[0]).toMatch(/held by node-a pid 1 since .*; waiting/);
    first.release();
    (await second).release();
    expect(acquired).toBe(true);
  });

  it('takes over a stale lock: a dead pid on this host, or another host silent past the stale time', async () => {
    const dead = folder();
    // A pid that cannot be alive (beyond Linux's pid_max).
    writeFileSync(join(dead, LOCK_FILE), JSON.stringify({ host: hostname(), pid: 2 ** 30, started: 'earlier' }));
    const lines: string[] = [];
    (await UnitLock.acquire(dead, { log: (line) => lines.push(line) })).release();
    expect(lines[0]).toMatch(/taking over from .* pid 1073741824 \(pid 1073741824 is gone from this host\)/);
    expect(readdirSync(dead).some((f) => f.startsWith(`${LOCK_FILE}.stale-`))).toBe(true);

    const silent = folder();
    writeFileSync(join(silent, LOCK_FILE), JSON.stringify({ host: 'preempted-node', pid: 77, started: 'earlier' }));
    const past = new Date(Date.now() - 120_000);
    utimesSync(join(silent, LOCK_FILE), past, past);
    lines.length = 0;
    (await UnitLock.acquire(silent, { staleSeconds: 60, log: (line) => lines.push(line) })).release();
    expect(lines[0]).toMatch(/taking over from preempted-node pid 77 \(untouched for 1[12]\d s, past 60 s\)/);

    // The same holder recently touched is alive as far as anyone can tell: it is waited for.
    const busy = folder();
    writeFileSync(join(busy, LOCK_FILE), JSON.stringify({ host: 'slow-node', pid: 78, started: 'earlier' }));
    const waiting = UnitLock.acquire(busy, { staleSeconds: 60, pollSeconds: 0.05 });
    const outcome = await Promise.race([waiting.then(() => 'acquired'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
    expect(outcome).toBe('waiting');
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(busy, LOCK_FILE), old, old);
    (await waiting).release();
  });
});
