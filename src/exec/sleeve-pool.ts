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
}

const workerUrl = new URL('./sleeve-worker.js', import.meta.url);
export const sleevePoolAvailable = (): boolean => workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));

export async function runSleevesInPool(tasks: SleeveTask[], threads: number, onDone: (done: number) => void): Promise<ChildRun[]> {
  const out: ChildRun[] = new Array(tasks.length);
  let next = 0;
  let done = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(workerUrl, { workerData: tasks[i] });
      w.once('message', (m: { ok: boolean; run?: ChildRun; message?: string }) => {
        if (m.ok) {
          const r = m.run!;
          // Typed arrays arrive as plain objects of the same class; rebuild to be safe across versions.
          if (r.result) r.result = { ...r.result, dates: Int32Array.from(r.result.dates), returns: Float64Array.from(r.result.returns) };
          out[i] = r;
          onDone(++done);
          resolve();
        } else reject(new Error(`sleeve ${tasks[i].name}: ${m.message}`));
        void w.terminate();
      });
      w.once('error', (err) => reject(new Error(`sleeve ${tasks[i].name}: worker crashed: ${err.message}`)));
    });
  const lanes = Array.from({ length: Math.min(threads, tasks.length) }, async () => {
    while (next < tasks.length) await one(next++);
  });
  await Promise.all(lanes);
  return out;
}
