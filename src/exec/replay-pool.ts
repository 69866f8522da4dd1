/**
 * The local worker pool for independent replays (backtest windows). A run whose backtest says how many threads starts
 * its workers as it begins (`startReplayWorkers`, src/pipeline/runner.ts): each loads the engine and rebuilds the
 * pipeline from the resolved config on a core the run's own thread leaves idle while it reads the data and runs the
 * live stages, then waits for its job; otherwise the pool starts them once there are dates. The dates are split into
 * contiguous blocks, one per thread; the calling thread may decide the first block itself, alongside the workers. A
 * thread that finishes its block takes over dates from the back of the block with the most left
 * (src/exec/replay-claims.ts), and a block whose worker has not started yet (still loading) is taken over whole by a
 * thread that is free, so no thread idles while dates remain: who decides a date never changes its outcome. Once
 * every date is decided, a worker that decided none is terminated, not awaited. Results come back in date order and
 * are identical to replaying in the main thread (the tests compare both). Workers run the compiled code (dist/): where
 * it is not there (tests on the TypeScript sources), `available()` is false and the caller replays in process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { deserialiseError, runError, type SerialisedError } from '../core/errors.js';
import type { DecideHere, ReplayBase, ReplayJob, ReplaySetup, ReplayWorkers } from '../pipeline/executor.js';
import type { ReplayOutcome } from '../pipeline/replay.js';
import type { DataSource } from '../core/plugin.js';
import { shareDecoded } from '../lakehouse/shared-series.js';
import { lakehousePins } from '../lakehouse/pins.js';
import { adoptSpans, type PlainSpan } from '../util/tracing.js';
import { decideClaimed, ReplayClaims } from './replay-claims.js';

const workerUrl = new URL('./replay-worker.js', import.meta.url);

export const poolAvailable = (): boolean => workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));

/** What a worker posts: each decision as it is made (the date's index in the job), then its sources, or its error. */
export type ReplayMessage =
  | { kind: 'decided'; index: number; outcome: ReplayOutcome }
  | { kind: 'done'; sources: DataSource[]; spans?: PlainSpan[] }
  | { kind: 'error'; error: SerialisedError; spans?: PlainSpan[] };

/** A worker of the pool: started with the run's setup, handed its job (once) when the dates are known. */
interface PoolWorker {
  w: Worker;
  decisions: number;
  /** Where its decisions go, once it has its job. */
  onDecided?: (index: number, outcome: ReplayOutcome) => void;
  /** The data it read, once done; or its error (its setup's, its job's, or its thread's end). */
  result: Promise<DataSource[]>;
}

function startWorker(setup: ReplaySetup): PoolWorker {
  const w = new Worker(workerUrl, { workerData: setup });
  // While it waits for its job it never keeps the process alive (a run that ends without using it exits).
  w.unref();
  const worker: PoolWorker = { w, decisions: 0, result: Promise.resolve([]) };
  worker.result = new Promise<DataSource[]>((resolve, reject) => {
    let settled = false;
    w.on('message', (m: ReplayMessage) => {
      // A traced run: the worker's spans, exported here as part of the run's trace.
      if (m.kind !== 'decided') adoptSpans(m.spans);
      if (m.kind === 'decided') {
        worker.decisions++;
        worker.onDecided?.(m.index, m.outcome);
      } else if (m.kind === 'done') {
        settled = true;
        resolve(m.sources);
      } else {
        settled = true;
        // The stage's own error, as it would be in process (code, hint, the param that caused it).
        reject(deserialiseError(m.error));
      }
    });
    w.once('error', (err) => {
      settled = true;
      reject(runError('REPLAY_FAILED', `a backtest worker crashed: ${err.message}`));
    });
    w.once('exit', (code) => {
      if (!settled) reject(runError('REPLAY_FAILED', `a backtest worker exited (code ${code}) without a result`));
    });
  });
  // A worker never handed dates is ended without asking how it ended.
  worker.result.catch(() => {});
  return worker;
}

/** `workers` replay workers started now for a run: they load and rebuild its pipeline, then wait for its dates. */
export function startReplayWorkers(setup: ReplaySetup, workers: number): ReplayWorkers {
  const idle = Array.from({ length: workers }, () => startWorker(setup));
  return {
    run: (job, dates, threads, onProgress, decideHere) => replayInPool(() => idle.shift() ?? startWorker(setup), job, dates, threads, onProgress, decideHere),
    close: () => {
      for (const { w } of idle.splice(0)) void w.terminate();
    },
  };
}

async function replayInPool(
  take: () => PoolWorker,
  job: ReplayBase,
  dates: number[],
  threads: number,
  onProgress: (done: number) => void,
  decideHere?: DecideHere | Promise<DecideHere>,
): Promise<{ outcomes: ReplayOutcome[]; sources: DataSource[] }> {
  const n = dates.length;
  // One block per thread. The first is this thread's when it decides (it is warm, and its decisions so far were
  // the first dates, whose block moments the next ones reuse), the others the workers': one start-up fewer, one copy
  // fewer of the per-thread memories (Ward's, the block moments'). A thread that joins later (an early job: it runs
  // the stages before the backtest first) keeps the first block: the workers are rarely ready before it joins, and
  // one done with its own block meanwhile takes over the back of the first like any thread done early.
  const claims = ReplayClaims.split(n, Math.min(threads, n));
  const owners = Array.from({ length: claims.blocks }, (_, k) => k).slice(decideHere ? 1 : 0);
  const outcomes: (ReplayOutcome | undefined)[] = new Array(n);
  let done = 0;
  let everyDecided!: () => void;
  const allIn = new Promise<void>((resolve) => (everyDecided = resolve));
  const decided = (index: number, outcome: ReplayOutcome) => {
    outcomes[index] = outcome;
    onProgress(++done);
    if (done === n) everyDecided();
  };
  // The market this thread has read, once in shared memory for every worker (not re-read and re-decoded in each).
  const shared = owners.length ? shareDecoded() : undefined;
  // The lakehouse versions this run reads: a worker opening the lakehouse itself would read registry.json as it is now.
  const pins = lakehousePins();
  // Set when a share fails: nothing more is handed out, and this thread stops before its next decision.
  const failed = new AbortController();
  const fail = (err: unknown) => {
    claims.close();
    failed.abort(err);
    throw err;
  };
  const failure = new Promise<never>((_, reject) => failed.signal.addEventListener('abort', () => reject(failed.signal.reason)));
  failure.catch(() => {});
  // Once every date is decided, a worker that decided none (still starting when the others took its block over) is
  // ended, not waited for: what it would still do is load.
  let ending = false;
  const onWorker = (own: number) => {
    const worker = take();
    worker.onDecided = decided;
    // It has work now: the process waits for it.
    worker.w.ref();
    worker.w.postMessage({ ...job, dates, claims: { buffer: claims.buffer, own }, ...(shared ? { shared } : {}), pins } satisfies ReplayJob);
    return { worker, sources: worker.result.catch((err: unknown) => (ending && worker.decisions === 0 ? [] : fail(err))) };
  };
  const inThisThread = async (): Promise<void> => {
    if (!decideHere) return;
    try {
      // An early job's owner joins once it reaches the stage that asked for it; a rejection cancels the job.
      const decide = await decideHere;
      if (failed.signal.aborted) return;
      await decideClaimed(claims, 0, dates, {}, async (i) => {
        // Between two decisions the workers' messages are handled (their decisions, a failure), and a failure stops here.
        await new Promise(setImmediate);
        if (failed.signal.aborted) throw failed.signal.reason;
        decided(i, await decide(dates[i]!));
      });
    } catch (err) {
      fail(err);
    }
  };
  // The workers get their blocks first (a worker started now loads while this thread decides its share).
  const workers = owners.map(onWorker);
  const local = inThisThread();
  try {
    // Every date decided (or, should one be left out, every thread ended), unless a thread fails first.
    await Promise.race([Promise.all([local, Promise.race([allIn, Promise.all(workers.map((w) => w.sources))])]), failure]);
    ending = true;
    const missing = outcomes.findIndex((o) => o === undefined);
    if (missing >= 0) throw runError('REPLAY_FAILED', `the backtest pool ended without a decision for day ${dates[missing]}`);
    // The data a worker read is part of the run's data identity: each worker that decided hands it over as it ends.
    const sources = (await Promise.race([Promise.all(workers.filter((x) => x.worker.decisions > 0).map((x) => x.sources)), failure])).flat();
    return { outcomes: outcomes as ReplayOutcome[], sources };
  } finally {
    // Done or failed: no worker outlives the pool, nor does this thread's share go on deciding.
    ending = true;
    claims.close();
    failed.abort();
    for (const { worker } of workers) void worker.w.terminate();
    await local.catch(() => {});
  }
}
