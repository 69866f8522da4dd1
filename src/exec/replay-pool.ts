/**
 * The local worker pool for independent replays (backtest windows): the dates are split into contiguous blocks, one
 * per thread, each worker rebuilding the pipeline from the resolved config; the calling thread may decide the first
 * block itself, alongside the workers. Results come back in date order and are identical to replaying in the main
 * thread (the tests compare both). Workers run the compiled code (dist/): where it is not there (tests on the
 * TypeScript sources), `available()` is false and the caller replays in process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { deserialiseError, FractalError, type SerialisedError } from '../core/errors.js';
import type { DecideHere, ReplayJob } from '../pipeline/executor.js';
import { batchAttributes } from '../pipeline/runner.js';
import type { ReplayOutcome } from '../pipeline/replay.js';
import type { DataSource } from '../core/plugin.js';
import { shareDecoded } from '../lakehouse/shared-series.js';
import { adoptSpans, withSpan, type PlainSpan } from '../util/tracing.js';

const workerUrl = new URL('./replay-worker.js', import.meta.url);

export const poolAvailable = (): boolean => workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));

export async function replayInPool(
  base: Omit<ReplayJob, 'dates'>,
  dates: number[],
  threads: number,
  onProgress: (done: number) => void,
  decideHere?: DecideHere,
): Promise<{ outcomes: ReplayOutcome[]; sources: DataSource[] }> {
  let done = 0;
  const blocks = Array.from({ length: threads }, (_, k) => dates.slice(Math.floor((k * dates.length) / threads), Math.floor(((k + 1) * dates.length) / threads))).filter((b) => b.length);
  // The first block in this thread when it can decide (it is warm, and its decisions so far were the first dates,
  // whose block moments the next ones reuse), the others on workers: one start-up fewer, one copy fewer of the
  // per-thread memories (Ward's, the block moments').
  const here = decideHere ? blocks.shift()! : [];
  const workers: Worker[] = [];
  // The market this thread has read, once in shared memory for every worker (not re-read and re-decoded in each).
  const shared = blocks.length ? shareDecoded() : undefined;
  // Set when a share fails: this thread's share stops before its next decision.
  const failed = new AbortController();
  const onWorker = (block: number[]) =>
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
    }).catch((err: unknown) => {
      failed.abort(err);
      throw err;
    });
  const inThisThread = async (): Promise<{ outcomes: ReplayOutcome[]; sources: DataSource[] }> => {
    if (!here.length) return { outcomes: [], sources: [] };
    return withSpan('backtest batch', batchAttributes(here), async () => {
      const outcomes: ReplayOutcome[] = [];
      for (const asOf of here) {
        // Between two decisions the workers' messages are handled (progress, a failure), and a failure stops here.
        await new Promise(setImmediate);
        if (failed.signal.aborted) throw failed.signal.reason;
        outcomes.push(await decideHere!(asOf));
        onProgress(++done);
      }
      return { outcomes, sources: [] };
    });
  };
  // The workers start first: they load while this thread decides its share.
  const remote = blocks.map(onWorker);
  const local = inThisThread();
  try {
    const results = await Promise.all([local, ...remote]);
    return { outcomes: results.flatMap((r) => r.outcomes), sources: results.flatMap((r) => r.sources) };
  } finally {
    // Done or failed: no worker outlives the pool, nor does this thread's share go on deciding.
    failed.abort();
    for (const w of workers) void w.terminate();
    await local.catch(() => {});
  }
}
