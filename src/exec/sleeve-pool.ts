/**
 * The local worker pool for child runs (a meta's sleeves, a tournament's cells): each runs in its own worker
 * thread (at most `threads` at a time), validating its file and running exactly as it would in process; the
 * result comes back as plain data. Workers run the compiled code (dist/); without it, the runner runs children
 * in process. A nested meta inside a worker runs its own sleeves in that worker, one after the other.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChildRun } from '../core/plugin.js';
import type { SleeveTask } from '../pipeline/executor.js';
import { adoptSpans, type PlainSpan } from '../util/tracing.js';
import { lakehousePins } from '../lakehouse/pins.js';

const what = (t: SleeveTask) => `${t.folderName ? 'cell' : 'sleeve'} ${t.name}`;

const workerUrl = new URL('./sleeve-worker.js', import.meta.url);
export const sleevePoolAvailable = (): boolean => workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));

/**
 * Runs the tasks, at most `threads` at once, each lane on one worker thread that takes its tasks one after the other
 * (a worker's start-up, loading the engine and compiling the plugins' schemas, is paid once per lane, not once per
 * child). A child whose worker fails (it cannot validate, or crashes) stops the pool (`failures: 'stop'`: a meta
 * needs every sleeve it can get, and says which failed) or comes back as a failed child with the error
 * (`'record'`: a tournament's other cells go on; a crashed worker is replaced).
 */
export async function runSleevesInPool(tasks: SleeveTask[], threads: number, onDone: (done: number) => void, failures: 'stop' | 'record' = 'stop'): Promise<ChildRun[]> {
  const out: ChildRun[] = new Array(tasks.length);
  // The lakehouse versions the parent run reads (src/lakehouse/pins.ts): its children read the same ones.
  const pins = lakehousePins();
  const live = new Set<Worker>();
  let next = 0;
  let done = 0;
  let failed: Error | undefined;
  /** One task on `w`; rejects when the worker reports a failure or dies (it is then discarded). */
  const one = (w: Worker, i: number) =>
    new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const onMessage = (m: { ok: boolean; run?: ChildRun; message?: string; spans?: PlainSpan[] }) => {
        cleanup();
        // A traced run: the child run's spans, exported here as part of the parent's trace.
        adoptSpans(m.spans);
        if (!m.ok) return reject(new Error(`${what(tasks[i])}: ${m.message}`));
        const r = m.run!;
        if (r.result) r.result = { ...r.result, dates: Int32Array.from(r.result.dates), returns: Float64Array.from(r.result.returns) };
        out[i] = r;
        onDone(++done);
        resolve();
      };
      const onError = (err: Error) => {
        cleanup();
        live.delete(w);
        void w.terminate();
        reject(new Error(`${what(tasks[i])}: worker crashed: ${err.message}`));
      };
      const onExit = (code: number) => {
        cleanup();
        live.delete(w);
        reject(new Error(`${what(tasks[i])}: worker exited (code ${code}) without a result`));
      };
      w.on('message', onMessage);
      w.once('error', onError);
      w.once('exit', onExit);
      w.postMessage({ ...tasks[i], pins });
    });
  const lanes = Array.from({ length: Math.min(threads, tasks.length) }, async () => {
    let w: Worker | undefined;
    while (next < tasks.length && !failed) {
      const i = next++;
      if (!w || !live.has(w)) {
        w = new Worker(workerUrl);
        live.add(w);
      }
      try {
        await one(w, i);
      } catch (err) {
        if (failures === 'record') {
          const t = tasks[i];
          out[i] = { name: t.name, outcome: 'failed', run_id: '', folder: '', config_hash: t.expectHash, data_hash: null, error: { code: 'CHILD_RUN_FAILED', message: (err as Error).message, stage: null } };
          onDone(++done);
          continue;
        }
        // The first failure stops the pool: no new sleeve starts and the running ones are stopped.
        failed ??= err as Error;
        for (const x of live) void x.terminate();
      }
    }
  });
  try {
    await Promise.all(lanes);
  } finally {
    for (const w of live) void w.terminate();
  }
  if (failed) throw failed;
  return out;
}
