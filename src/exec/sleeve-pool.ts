/**
 * The local worker pool for sleeves: each sleeve of a meta pipeline runs as a child run in its own worker
 * thread (at most `threads` at a time), validating its file and running exactly as it would in process; the
 * result comes back as plain data. Workers run the compiled code (dist/); without it, the runner runs sleeves
 * in process. A nested meta inside a worker runs its own sleeves in that worker, one after the other.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChildRun } from '../core/plugin.js';

export interface SleeveTask {
  name: string;
  kind: 'selection' | 'meta';
  file: string;
  profile?: string;
  sets?: string[];
  outRoot: string;
  cacheRoot: string;
  lakehousePath: string;
  noCache?: boolean;
  /** The config hash the meta's validation gave this sleeve: the worker's must be the same. */
  expectHash: string;
  /** The data roots the meta was validated with (the sleeve's paths are confined the same way). */
  dataRoots?: string[];
  finalPrefixes?: { from: string; to: string }[];
}

const workerUrl = new URL('./sleeve-worker.js', import.meta.url);
export const sleevePoolAvailable = (): boolean => workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));

export async function runSleevesInPool(tasks: SleeveTask[], threads: number, onDone: (done: number) => void): Promise<ChildRun[]> {
  const out: ChildRun[] = new Array(tasks.length);
  const live = new Set<Worker>();
  let next = 0;
  let done = 0;
  let failed: Error | undefined;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(workerUrl, { workerData: tasks[i] });
      live.add(w);
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        live.delete(w);
        void w.terminate();
        if (err) reject(err);
        else resolve();
      };
      w.once('message', (m: { ok: boolean; run?: ChildRun; message?: string }) => {
        if (!m.ok) return settle(new Error(`sleeve ${tasks[i].name}: ${m.message}`));
        const r = m.run!;
        if (r.result) r.result = { ...r.result, dates: Int32Array.from(r.result.dates), returns: Float64Array.from(r.result.returns) };
        out[i] = r;
        onDone(++done);
        settle();
      });
      w.once('error', (err) => settle(new Error(`sleeve ${tasks[i].name}: worker crashed: ${err.message}`)));
      w.once('exit', (code) => settle(new Error(`sleeve ${tasks[i].name}: worker exited (code ${code}) without a result`)));
    });
  const lanes = Array.from({ length: Math.min(threads, tasks.length) }, async () => {
    while (next < tasks.length && !failed) {
      try {
        await one(next++);
      } catch (err) {
        // The first failure stops the pool: no new sleeve starts and the running ones are stopped.
        failed ??= err as Error;
        for (const w of live) void w.terminate();
      }
    }
  });
  await Promise.all(lanes);
  if (failed) throw failed;
  return out;
}
