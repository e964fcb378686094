/**
 * One writer per unit folder, across hosts sharing the sweep's --out: a cluster engine may run two attempts of one
 * task at once (a requeue racing a slow node). The lock is `<unit>/.lock`, created with O_EXCL (atomic on local
 * filesystems and on NFSv3 and later), holding the holder's host, pid and start time; the holder touches it every
 * `staleSeconds / 4` while it works. Another attempt waits for it. A lock is stale, and is taken over, when its
 * holder is on this host and its pid is gone, or when it is on another host (whose pids mean nothing here) and
 * has not been touched for `staleSeconds`, measured against the shared filesystem's own clock (a probe file's
 * mtime), so that clock skew between hosts does not matter. Taking over renames the stale lock aside first, so two
 * attempts that both judge it stale cannot both win.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = '.lock';
/** A holder on another host that has not touched its lock for this long is taken to be gone. */
export const DEFAULT_STALE_SECONDS = 300;

export interface LockHolder {
  host: string;
  pid: number;
  started: string;
}

export interface LockOptions {
  staleSeconds?: number;
  /** Seconds between checks while waiting for another holder. */
  pollSeconds?: number;
  log?: (line: string) => void;
  /** This process's identity (tests pose as other holders). */
  self?: { host: string; pid: number };
}

export class UnitLock {
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(readonly path: string, staleSeconds: number) {
    this.heartbeat = setInterval(() => touch(this.path), (staleSeconds * 1000) / 4);
    this.heartbeat.unref();
  }

  /** Waits until this process holds `dir`'s lock, taking over a stale one. */
  static async acquire(dir: string, options: LockOptions = {}): Promise<UnitLock> {
    const staleSeconds = options.staleSeconds ?? DEFAULT_STALE_SECONDS;
    const self = options.self ?? { host: hostname(), pid: process.pid };
    const path = join(dir, LOCK_FILE);
    let announced = '';
    for (;;) {
      if (tryCreate(path, { ...self, started: new Date().toISOString() })) return new UnitLock(path, staleSeconds);
      const holder = readHolder(path);
      if (!holder) continue; // released, or being written: look again
      const stale = staleReason(path, holder, self, staleSeconds);
      if (stale) {
        options.log?.(`lock ${path}: taking over from ${holder.host} pid ${holder.pid} (${stale})`);
        takeAside(path);
        continue;
      }
      const line = `lock ${path}: held by ${holder.host} pid ${holder.pid} since ${holder.started}; waiting`;
      if (line !== announced) options.log?.(line);
      announced = line;
      await new Promise((resolve) => setTimeout(resolve, (options.pollSeconds ?? 10) * 1000));
    }
  }

  release(): void {
    clearInterval(this.heartbeat);
    rmSync(this.path, { force: true });
  }
}

function tryCreate(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`lock ${path}: cannot create (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(path: string): LockHolder | null {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return typeof holder.host === 'string' && Number.isInteger(holder.pid) ? holder : null;
  } catch {
    return null;
  }
}

/** Why the lock is stale, or null while its holder may still be working. */
function staleReason(path: string, holder: LockHolder, self: { host: string; pid: number }, staleSeconds: number): string | null {
  if (holder.host === self.host) {
    if (holder.pid === self.pid) return 'this process held it before';
    return processAlive(holder.pid) ? null : `pid ${holder.pid} is gone from this host`;
  }
  const age = ageOnFilesystem(path);
  return age !== null && age > staleSeconds ? `untouched for ${Math.round(age)} s, past ${staleSeconds} s` : null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Seconds since the lock was last touched, by the filesystem's clock; null if it vanished meanwhile. */
function ageOnFilesystem(path: string): number | null {
  const probe = `${path}.probe-${hostname()}-${process.pid}`;
  try {
    closeSync(openSync(probe, 'w'));
    const now = statSync(probe).mtimeMs;
    return (now - statSync(path).mtimeMs) / 1000;
  } catch {
    return null;
  } finally {
    rmSync(probe, { force: true });
  }
}

function takeAside(path: string): void {
  try {
    renameSync(path, `${path}.stale-${Date.now()}-${process.pid}`);
  } catch (error) {
    // Another attempt took it aside first: it competes for the lock like we do.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function touch(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    // Released or taken over meanwhile; the holder notices nothing until it releases.
  }
}
