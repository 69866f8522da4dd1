/**
 * The local worker pool for independent replays (backtest windows): the dates are split into contiguous blocks,
 * one worker thread per core, each rebuilding the pipeline from the resolved config. Results come back in date
 * order and are identical to replaying in the main thread (the tests compare both). Workers run the compiled
 * code (dist/): where it is not there (tests on the TypeScript sources), `available()` is false and the caller
 * replays in process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { deserialiseError, FractalError, type SerialisedError } from '../core/errors.js';
import type { ReplayJob } from '../pipeline/executor.js';
import type { ReplayOutcome } from '../pipeline/replay.js';
import type { DataSource } from '../core/plugin.js';
import { shareDecoded } from '../lakehouse/shared-series.js';
import { adoptSpans, type PlainSpan } from '../util/tracing.js';

const workerUrl = new URL('./replay-worker.js', import.meta.url);

export const poolAvailable = (): boolean => workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));

export async function replayInPool(
  base: Omit<ReplayJob, 'dates'>,
  dates: number[],
  threads: number,
  onProgress: (done: number) => void,
): Promise<{ outcomes: ReplayOutcome[]; sources: DataSource[] }> {
  let done = 0;
  const blocks = Array.from({ length: threads }, (_, k) => dates.slice(Math.floor((k * dates.length) / threads), Math.floor(((k + 1) * dates.length) / threads))).filter((b) => b.length);
  const workers: Worker[] = [];
  // The market this thread has read, once in shared memory for every worker (not re-read and re-decoded in each).
  const shared = shareDecoded();
  try {
    const results = await Promise.all(
      blocks.map(
        (block) =>
          new Promise<{ outcomes: ReplayOutcome[]; sources: DataSource[] }>((resolve, reject) => {
            const w = new Worker(workerUrl, { workerData: { ...base, dates: block, ...(shared ? { shared } : {}) } satisfies ReplayJob });
            workers.push(w);
            let settled = false;
            w.on('message', (m: { kind: string; outcomes?: ReplayOutcome[]; sources?: DataSource[]; error?: SerialisedError; spans?: PlainSpan[] }) => {
              // A traced run: the worker's spans, exported here as part of the run's trace.
              adoptSpans(m.spans);
              if (m.kind === 'progress') onProgress(++done);
              else if (m.kind === 'done') {
                settled = true;
                resolve({ outcomes: m.outcomes!, sources: m.sources! });
              } else if (m.kind === 'error') {
                settled = true;
                // The stage's own error, as it would be in process (code, hint, the param that caused it).
                reject(deserialiseError(m.error!));
              }
            });
            w.once('error', (err) => {
              settled = true;
              reject(new FractalError('REPLAY_FAILED', `a backtest worker crashed: ${err.message}`, { exitCode: 1 }));
            });
            w.once('exit', (code) => {
              if (!settled) reject(new FractalError('REPLAY_FAILED', `a backtest worker exited (code ${code}) without a result`, { exitCode: 1 }));
            });
          }),
      ),
    );
    return { outcomes: results.flatMap((r) => r.outcomes), sources: results.flatMap((r) => r.sources) };
  } finally {
    // Done or failed: no worker outlives the pool.
    for (const w of workers) void w.terminate();
  }
}
