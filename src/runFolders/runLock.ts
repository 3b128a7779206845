// One writer per run folder: `run.lock`, created exclusively (O_CREAT | O_EXCL, which local file systems and NFS v3
// and later honour), holds its owner's pid, host, start time and SLURM job, and is touched while the owner trains.
// A second trainer, resume or sweep task refuses at once and names the holder. A lock is stale when its owner is
// gone: on this host, no process has its pid; the same SLURM job (a requeued task) takes it over; elsewhere, it
// has not been touched for STALE_MS. A stale lock is renamed aside (one claimant wins the rename) and claimed anew.

import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

const LOCK_FILE = 'run.lock';
/** A lock on another host untouched this long is its owner's no more (the owner touches it every TOUCH_MS). */
const STALE_MS = 10 * 60_000;
const TOUCH_MS = 30_000;

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  /** `SLURM_JOB_ID` of the owner's task: a requeued task keeps it. */
  job?: string;
}

class RunLockedError extends Error {}

function me(): LockOwner {
  const job = process.env.SLURM_JOB_ID;
  return { pid: process.pid, host: hostname(), since: new Date().toISOString(), ...(job ? { job } : {}) };
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return undefined; // being written, or garbled
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why the lock's owner no longer holds it, or undefined while it does. */
function staleBecause(file: string, owner: LockOwner | undefined, self: LockOwner): string | undefined {
  const age = Date.now() - statSync(file).mtimeMs;
  if (!owner) return age > TOUCH_MS ? 'it is unreadable' : undefined;
  if (owner.host === self.host && !alive(owner.pid)) return `process ${owner.pid} is gone`;
  if (owner.job && owner.job === self.job && owner.pid !== self.pid) return `SLURM job ${owner.job} was requeued`;
  if (age > STALE_MS) return `it was last touched ${Math.round(age / 60_000)} minutes ago`;
  return undefined;
}

export class RunLock {
  private lastTouch = Date.now();
  private constructor(
    readonly file: string,
    readonly owner: LockOwner,
    /** Why a stale lock was taken over, for the run's events. */
    readonly tookOver: string | undefined,
  ) {}

  /** The run folder's lock, or a RunLockedError naming the process that holds it. */
  static acquire(dir: string): RunLock {
    const file = join(dir, LOCK_FILE);
    const self = me();
    for (let attempt = 0; attempt < 3; attempt++) {
      if (tryCreate(file, self)) return new RunLock(file, self, undefined);
      const owner = readOwner(file);
      const why = staleBecause(file, owner, self);
      if (!why) {
        const who = owner ? `process ${owner.pid} on ${owner.host} since ${owner.since}` : 'another process';
        throw new RunLockedError(`${dir} is in use by ${who} (${file}); stop that run first, or wait for it to finish`);
      }
      if (takeOver(file, owner) && tryCreate(file, self))
        return new RunLock(file, self, `took over a stale lock of ${describe(owner)}: ${why}`);
    }
    throw new RunLockedError(`${dir}: could not take its lock ${file}, which others are claiming too`);
  }

  /** Marks the lock as held (at most every 30 s): another host sees a live owner. */
  touch(): void {
    if (Date.now() - this.lastTouch < TOUCH_MS) return;
    this.lastTouch = Date.now();
    try {
      utimesSync(this.file, new Date(), new Date());
    } catch {
      // the run folder went away: the next write says so
    }
  }

  /** Removes the lock if it is still this process's. */
  release(): void {
    const owner = readOwner(this.file);
    if (owner?.pid === this.owner.pid && owner.host === this.owner.host) rmSync(this.file, { force: true });
  }
}

const describe = (o: LockOwner | undefined) => (o ? `process ${o.pid} on ${o.host}` : 'an unreadable owner');

function tryCreate(file: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot create the run's lock ${file}: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, JSON.stringify(owner) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Renames a stale lock aside; false when another claimant renamed it first. A claimant that renamed a fresh
 * lock (taken between its read and its rename) puts it back.
 */
function takeOver(file: string, stale: LockOwner | undefined): boolean {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return false;
  }
  const moved = readOwner(aside);
  if (stale && moved && (moved.pid !== stale.pid || moved.since !== stale.since)) {
    renameSync(aside, file);
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}
