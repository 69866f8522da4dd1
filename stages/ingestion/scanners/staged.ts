/**
 * Sources that are not a lakehouse (a CSV file, a synthetic market) are staged in a temporary lakehouse, so they
 * are read, health-checked, aligned and hashed by exactly the code that reads the real one.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { Lakehouse } from '../../../src/lakehouse/index.js';

/** Writes a staging: deleted with its run or its process and never read after a crash, so written whole, not flushed to the disk. */
async function fillStaging(dir: string, fill: (writable: Lakehouse) => Promise<unknown>): Promise<void> {
  const { openLakehouse } = await import('../../../src/lakehouse/index.js');
  await fill(await openLakehouse(dir, { create: true, durable: false }));
}

async function readStaging(dir: string): Promise<Lakehouse> {
  const { openLakehouse } = await import('../../../src/lakehouse/index.js');
  return openLakehouse(dir, { readOnly: true });
}

/**
 * A market staged for one scan, removed by its `close`. Under this process's folder (processRoot below): a scan whose
 * close never comes (a replay worker ended mid-run, a killed process) leaves it to the process's exit, or to the next
 * process's sweep, not in the temporary folder for ever.
 */
export async function stageTemporary(label: string, fill: (writable: Lakehouse) => Promise<unknown>): Promise<{ lakehouse: Lakehouse; close: () => Promise<void> }> {
  sweepDead();
  mkdirSync(processRoot(), { recursive: true });
  const dir = mkdtempSync(join(processRoot(), `${label}-`));
  const close = async () => rmSync(dir, { recursive: true, force: true });
  try {
    await fillStaging(dir, fill);
    return { lakehouse: await readStaging(dir), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The folder of the markets this process staged once for all its runs: its threads share the pid, so a tournament's
 * cells and a meta's sleeves find the same one whichever thread they run in.
 */
const processRoot = () => join(tmpdir(), `fractal-staged-${process.pid}`);

const removeQuietly = (dir: string) => {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* held open or not ours (another user's, a virus scanner): left for the next sweep */
  }
};

// The main thread owns the folder: one left under this pid by a process that is gone (the pid reused, a container's
// /tmp kept) is removed before anything is staged here, and this process's is removed as it exits. A worker
// thread's end must not remove it: the others read it.
if (isMainThread) {
  removeQuietly(processRoot());
  process.once('exit', () => removeQuietly(processRoot()));
}

/** Removes the folders of processes that are gone without removing theirs (killed): once per process, on first use. */
let swept = false;
function sweepDead(): void {
  if (swept) return;
  swept = true;
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return; // the temporary folder unreadable: nothing to sweep
  }
  for (const name of names) {
    const pid = /^fractal-staged-(\d+)$/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !alive(Number(pid))) removeQuietly(join(tmpdir(), name));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
};

/**
 * A market that is a function of `key` alone (a synthetic market of given params), staged once per process and read
 * by every run that asks for it, instead of written and deleted by each: at 400 tiny cells on one synthetic market,
 * staging was about half of each cell's time. Staged under a folder of its own and renamed into place whole, so a
 * run only ever reads a complete one; a thread that loses the race to stage it reads the winner's. Read-only once
 * there; kept until the process exits (the `exit` above), so a long-lived process keeps one per distinct key: the
 * caller shares only markets small enough for that (synthetic.scanner.ts).
 */
export async function stageOnce(label: string, key: string, fill: (writable: Lakehouse) => Promise<unknown>): Promise<{ lakehouse: Lakehouse; close: () => Promise<void> }> {
  const root = processRoot();
  const dir = join(root, `${label}-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`);
  if (!existsSync(dir)) {
    sweepDead();
    mkdirSync(root, { recursive: true });
    const work = mkdtempSync(join(root, `.${label}-`));
    try {
      await fillStaging(work, fill);
      renameSync(work, dir);
    } catch (err) {
      rmSync(work, { recursive: true, force: true });
      // Another thread staged it first (the rename finds the folder there): read that one.
      if (!existsSync(dir)) throw err;
    }
  }
  return { lakehouse: await readStaging(dir), close: async () => {} };
}
