/**
 * One writer at a time. The lock is a file created with O_EXCL (`wx`), holding the owner's pid, host and a random
 * token. A lock whose pid is dead on this host is stale (a writer was killed): it is moved aside and cleared. Waiting
 * writers poll until the lock is free or the timeout passes, then fail naming the holder.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, unlink, link, lstat, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runError } from '../core/errors.js';
import { codeOf } from '../util/thrown.js';
import { FileTooLarge, NotRegularFile, readRegularFile } from '../util/regular-file.js';

export const LOCK_FILE = 'LOCK';

export interface LockInfo {
  pid: number;
  host: string;
  token: string;
  since: string;
  command?: string;
}

export interface LockHandle {
  readonly info: LockInfo;
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for another writer (ms). */
  timeoutMs?: number;
  pollMs?: number;
  /** Called once when the lock is busy, e.g. to tell the user whom we wait for. */
  onWait?: (holder: LockInfo | undefined) => void;
}

/**
 * What a writer does, by default, when the lock is busy (the CLI says whom it waits for on stderr; a program using
 * the API sets none and passes `onWait` itself if it wants to).
 */
let defaultOnWait: LockOptions['onWait'];
export function setDefaultLockWait(fn: LockOptions['onWait']): void {
  defaultOnWait = fn;
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return codeOf(err) === 'EPERM';
  }
}

function parseLock(raw: string): LockInfo | undefined {
  try {
    const v = JSON.parse(raw) as LockInfo;
    return typeof v.pid === 'number' && typeof v.token === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The largest LOCK read: a lock holds a pid, a host, a token, a time and a command cut to 200 characters. */
const MAX_LOCK_BYTES = 64 * 1024;

/**
 * Reads the current lock: undefined when there is none. `raw` is kept to detect a lock replaced under us. Something
 * at LOCK that is not a lock file (a folder, a FIFO, a link to nothing, a file too large to be one) stops every
 * writer: LAKEHOUSE_LOCKED naming it (it was INTERNAL_ERROR EISDIR, or a hang on a FIFO).
 */
export async function readLock(root: string): Promise<{ raw: string; info: LockInfo | undefined; ageMs: number } | undefined> {
  const path = join(root, LOCK_FILE);
  try {
    const [raw, st] = await Promise.all([readRegularFile(path, MAX_LOCK_BYTES), stat(path)]);
    return { raw: raw.toString('utf8'), info: parseLock(raw.toString('utf8')), ageMs: Date.now() - st.mtimeMs };
  } catch (err) {
    if (err instanceof NotRegularFile) throw notALock(path, err.kind);
    if (err instanceof FileTooLarge) throw notALock(path, `a file of ${err.size} bytes`);
    if (codeOf(err) === 'ENOENT') {
      // Gone (released), or a link to nothing, which no writer can create over: that would be a wait without end. Only
      // a link counts: another writer may have taken the lock (a file) since the open found none.
      if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) throw notALock(path, 'a link to nothing');
      return undefined;
    }
    throw err;
  }
}

function notALock(path: string, kind: string) {
  return runError('LAKEHOUSE_LOCKED', `${path} is ${kind}, not a lock file: no writer can take the lakehouse lock`, `Remove ${path}: writers create it as a file of their own, and remove it when they finish.`);
}

/** A lock is stale when its owner is a dead pid on this host, or it is unreadable and old (torn by a crash at creation). */
export function isStale(lock: { info: LockInfo | undefined; ageMs: number }): boolean {
  if (!lock.info) return lock.ageMs > 5_000;
  return lock.info.host === hostname() && !pidAlive(lock.info.pid);
}

/**
 * Clears a stale lock. It is renamed aside first (atomic, only one clearer wins); if what we moved is not the lock we
 * judged stale (another process cleared it and took a fresh one in between), it is linked back.
 */
async function clearStale(root: string, staleRaw: string): Promise<void> {
  const path = join(root, LOCK_FILE);
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return;
    throw err;
  }
  const moved = await readFile(aside, 'utf8').catch(() => staleRaw);
  if (moved !== staleRaw) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
}

export async function acquireLock(root: string, opts: LockOptions = {}): Promise<LockHandle> {
  const path = join(root, LOCK_FILE);
  // How long to wait: the caller's, else FRACTAL_LAKEHOUSE_LOCK_WAIT (seconds), else two minutes.
  const fromEnv = Number(process.env.FRACTAL_LAKEHOUSE_LOCK_WAIT);
  const timeoutMs = opts.timeoutMs ?? (process.env.FRACTAL_LAKEHOUSE_LOCK_WAIT && Number.isFinite(fromEnv) && fromEnv >= 0 ? fromEnv * 1000 : 120_000);
  const pollMs = opts.pollMs ?? 25;
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    token: randomBytes(8).toString('hex'),
    since: new Date().toISOString(),
    command: process.argv.slice(1).join(' ').slice(0, 200),
  };
  const started = Date.now();
  let warned = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(JSON.stringify(info));
        await fh.sync();
      } finally {
        await fh.close();
      }
      // A process that ends while holding the lock (process.exit, a signal the command turns into one) removes it
      // as it exits: the next writer on another host could not tell it is stale. An interrupted commit is finished
      // by that next writer from the journal.
      const onExit = () => {
        try {
          if (parseLock(readFileSync(path, 'utf8'))?.token === info.token) unlinkSync(path);
        } catch {
          /* gone already */
        }
      };
      process.on('exit', onExit);
      return {
        info,
        async release() {
          process.removeListener('exit', onExit);
          // Only remove the lock if it is still ours (it could have been judged stale and cleared if we were frozen).
          const cur = await readLock(root);
          if (cur?.info?.token === info.token) await unlink(path).catch(() => {});
        },
      };
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err;
    }
    const cur = await readLock(root);
    if (!cur) continue;
    if (isStale(cur)) {
      await clearStale(root, cur.raw);
      continue;
    }
    if (!warned) {
      warned = true;
      (opts.onWait ?? defaultOnWait)?.(cur.info);
    }
    if (Date.now() - started > timeoutMs) {
      const who = cur.info ? `pid ${cur.info.pid} on ${cur.info.host} since ${cur.info.since}${cur.info.command ? ` (${cur.info.command})` : ''}` : 'an unknown process';
      throw runError(
        'LAKEHOUSE_LOCKED',
        `The lakehouse at ${root} is locked by ${who}; gave up after ${Math.round(timeoutMs / 1000)} s.`,
        `Wait for that writer to finish. If it is gone, remove ${path}.`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs + Math.random() * pollMs));
  }
}
