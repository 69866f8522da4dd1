/**
 * The replay pool with the run's own thread deciding a share (src/exec/replay-pool.ts): with t threads, the run's
 * thread decides the first contiguous block of dates and t - 1 workers the others; a thread done with its block takes
 * over runs of dates from the back of the block with the most left (a worker that lags, or the run's thread). The
 * run's thread goes on with a worker's block while that worker is still starting, and does not wait for it (so the tests
 * of what workers do hold every thread at its first decision until the workers have begun: the fixture's gate). The
 * outcomes come back in date order, identical to deciding in process; progress counts every decision once; a failure
 * in a worker, in the run's thread, or in a date taken over fails the run with the stage's error, as in process.
 * Runs the built API (dist/): its pool runs the compiled workers.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadPipeline, threadRuns, type Api } from './thread-runs.js';

let api: Api;
let tmp: string;
let csv: string;
beforeAll(async () => ({ api, tmp, csv } = await threadRuns('fractal-replay-pool-')));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Decision {
  thread: number;
  as_of: number;
}
async function run(name: string, workers: number, stage: Record<string, unknown> = {}) {
  const { file, record } = threadPipeline(tmp, csv, name, workers, stage);
  const progress: number[] = [];
  const r = await api.run(file, { out: join(tmp, 'runs'), dataRoot: [tmp], onProgress: (label, done) => label === 'backtest windows' && progress.push(done) });
  if (r.outcome === 'invalid') throw new Error(JSON.stringify(r.diagnostics));
  // The backtest's decisions in the order made, and the run's own (as of the last day): the run's thread's first line,
  // since it decides for the backtest only after its own stages. Not always the file's first line: with the workers'
  // count given, they have the backtest's dates once ingestion has run, and may record one before it.
  const lines = existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Decision) : [];
  const own = lines.findIndex((d) => d.thread === 0);
  const decisions = lines.filter((_, k) => k !== own);
  return { r, decisions, progress, record };
}

/** Each thread's decisions in the order made. */
function byThread(decisions: Decision[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const d of decisions) out.set(d.thread, [...(out.get(d.thread) ?? []), d.as_of]);
  return out;
}

/** The decisions a thread made as runs of consecutive dates, each ascending: [first index, last index] in `dates`. */
function runsOf(made: number[], dates: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const d of made) {
    const i = dates.indexOf(d);
    const last = runs[runs.length - 1];
    if (last && i === last[1] + 1) last[1] = i;
    else runs.push([i, i]);
  }
  return runs;
}

/** The same run's artifacts, byte for byte, and every decision made once, progress counted once each. */
function expectSameRun(many: Awaited<ReturnType<typeof run>>, one: Awaited<ReturnType<typeof run>>) {
  const dates = one.decisions.map((d) => d.as_of);
  expect(many.r.outcome).toBe('succeeded');
  expect(many.decisions.map((d) => d.as_of).sort((a, b) => a - b)).toEqual(dates);
  // 0 when the windows start, then one step per decision (the final as-of decision is not a window).
  expect(many.progress).toEqual([0, ...dates.map((_, k) => Math.min(k + 1, dates.length - 1))]);
  for (const f of ['weights.json', 'metrics.json', 'returns.arrow']) expect(readFileSync(join(many.r.paths.folder, f))).toEqual(readFileSync(join(one.r.paths.folder, f)));
}

test.each([2, 3])('with %i threads the run starts on the first block itself and the workers on the others; every decision once, in date order', async (t) => {
  const one = await run(`one_${t}`, 1);
  // Every worker starts on its own block (the gate: no thread goes on until the t - 1 workers have begun).
  const many = await run(`many_${t}`, t, { wait_for_workers: t - 1 });
  const dates = one.decisions.map((d) => d.as_of);
  expect(dates.length).toBeGreaterThan(10);
  expect(new Set(one.decisions.map((d) => d.thread))).toEqual(new Set([0]));
  expectSameRun(many, one);
  const threads = byThread(many.decisions);
  // Each of the t threads decided dates: the split between threads is what the run's bytes must not depend on.
  expect(threads.size).toBe(t);
  // The run's thread (threadId 0) began at the first date, each worker at the first of its own block; every thread
  // decides runs of consecutive dates ascending.
  expect(threads.get(0)![0]).toBe(dates[0]);
  expect([...threads.entries()].filter(([k]) => k !== 0).map(([, made]) => made[0]).sort((a, b) => a - b)).toEqual(
    Array.from({ length: t - 1 }, (_, k) => dates[Math.floor(((k + 1) * dates.length) / t)]),
  );
  for (const made of threads.values()) for (const [a, b] of runsOf(made, dates)) expect(made.slice(made.indexOf(dates[a]!), made.indexOf(dates[a]!) + b - a + 1)).toEqual(dates.slice(a, b + 1));
}, 120_000);

test("a worker that lags: the run's thread takes over the back of its block, in runs decided ascending, and nothing changes", async () => {
  const one = await run('lag_one', 1);
  // 500 ms a date: this thread can pause (GC, a busy CI machine) for ~1 s and still take over more than one run.
  const lag = await run('lag_two', 2, { worker_ms: 500, wait_for_workers: 1 });
  const dates = one.decisions.map((d) => d.as_of);
  expectSameRun(lag, one);
  const threads = byThread(lag.decisions);
  const half = Math.floor(dates.length / 2);
  const worker = [...threads.keys()].find((k) => k !== 0)!;
  // The worker decided the front of its block, from its first date on, and nothing else.
  expect(threads.get(worker)).toEqual(dates.slice(half, half + threads.get(worker)!.length));
  // The run's thread decided its block, then the rest of the worker's: from the back, each run ascending (the last
  // date in its first run), down to the worker's last date.
  const here = runsOf(threads.get(0)!, dates);
  expect(here[0]).toEqual([0, half - 1]);
  expect(here.length).toBeGreaterThan(2);
  expect(here[1]![1]).toBe(dates.length - 1);
  for (let k = 2; k < here.length; k++) expect(here[k]![1]).toBe(here[k - 1]![0] - 1);
  expect(here[here.length - 1]![0]).toBe(half + threads.get(worker)!.length);
}, 120_000);

test("a run's thread that lags: a worker done with its block takes over the back of the run's block, and nothing changes", async () => {
  const one = await run('slow_one', 1);
  const slow = await run('slow_two', 2, { here_ms: 400, wait_for_workers: 1 });
  const dates = one.decisions.map((d) => d.as_of);
  expectSameRun(slow, one);
  const threads = byThread(slow.decisions);
  const half = Math.floor(dates.length / 2);
  const worker = [...threads.keys()].find((k) => k !== 0)!;
  // The worker's first run is its own block; then it took dates from the back of the run's block (before `half`).
  const taken = runsOf(threads.get(worker)!, dates);
  expect(taken[0]).toEqual([half, dates.length - 1]);
  expect(taken.length).toBeGreaterThan(1);
  expect(taken[1]![1]).toBe(half - 1);
  // The run's thread decided the front of its own block only.
  expect(threads.get(0)).toEqual(dates.slice(0, threads.get(0)!.length));
}, 120_000);

test("a worker still starting when the run's thread is done: that thread decides every date, ascending, and the run does not wait for the worker", async () => {
  const one = await run('late_one', 1);
  const mark = join(tmp, 'slow-start');
  const loaded = join(tmp, 'slow-start.loaded');
  writeFileSync(mark, '');
  try {
    // The worker's module loads for as long as the mark is there (up to 120 s, past this test's timeout): a run that
    // waited for the worker would not return in time.
    const late = await run('late_two', 2);
    expectSameRun(late, one);
    expect(late.decisions.map((d) => d.thread)).toEqual(late.decisions.map(() => 0));
    expect(late.decisions.map((d) => d.as_of)).toEqual(one.decisions.map((d) => d.as_of));
    expect(existsSync(loaded)).toBe(false);
  } finally {
    rmSync(mark);
  }
  // The worker was terminated, not left loading: with the mark gone a live one would finish loading at once.
  await new Promise((r) => setTimeout(r, 500));
  expect(existsSync(loaded)).toBe(false);
}, 60_000);

test("a worker's failure fails the run with the stage's error, as the same failure in process does, and no worker goes on", async () => {
  const ok = await run('ok_w', 1);
  const here = await run('fail_here', 1, { fail_here_at: ok.decisions[0]!.as_of });
  expect(here.r.outcome).toBe('failed');
  const pool = await run('fail_worker', 2, { fail_in_worker: true, wait_for_workers: 1 });
  expect(pool.r.outcome).toBe('failed');
  const error = pool.r.summary.error!;
  expect(error.message).toMatch(/worker failure at \d+/);
  expect(error.code).toBe(here.r.summary.error!.code);
  // Nothing decides after the run returned.
  const size = readFileSync(pool.record).length;
  await new Promise((r) => setTimeout(r, 500));
  expect(readFileSync(pool.record).length).toBe(size);
}, 120_000);

test("a failure in the run's own share fails the run with that error and stops the workers", async () => {
  const ok = await run('ok', 1);
  const second = ok.decisions[1]!.as_of;
  const pool = await run('fail_own', 2, { fail_here_at: second });
  expect(pool.r.outcome).toBe('failed');
  expect(pool.r.summary.error!.message).toContain(`this thread's failure at ${second}`);
  // The workers were terminated: nothing is recorded after the run returned.
  const size = readFileSync(pool.record).length;
  await new Promise((r) => setTimeout(r, 500));
  expect(readFileSync(pool.record).length).toBe(size);
}, 120_000);

test('a failure while taking over dates fails the run with the coded error: in the run\'s thread, or a worker that exits', async () => {
  const ok = await run('steal_ok', 1);
  const dates = ok.decisions.map((d) => d.as_of);
  // The worker's last date but one (the last is also the run's own decision, before the backtest): the run's
  // thread only decides it in the first run it takes over.
  const taken = dates[dates.length - 2]!;
  // 500 ms a date, as above: a pause of this thread cannot let the worker reach the failing date first.
  const here = await run('steal_fail_here', 2, { worker_ms: 500, fail_here_at: taken, wait_for_workers: 1 });
  expect(here.r.outcome).toBe('failed');
  expect(here.r.summary.error!.message).toContain(`this thread's failure at ${taken}`);
  expect(byThread(here.decisions).get(0)!.length).toBeGreaterThan(Math.floor(dates.length / 2));
  // A worker that ends (a crash) while the run's thread takes over its dates: REPLAY_FAILED, and nobody goes on.
  const half = Math.floor(dates.length / 2);
  const crash = await run('steal_crash', 2, { worker_ms: 150, exit_in_worker_at: dates[half + 1], wait_for_workers: 1 });
  expect(crash.r.outcome).toBe('failed');
  expect(crash.r.summary.error!.code).toBe('REPLAY_FAILED');
  expect(crash.r.summary.error!.message).toMatch(/exited \(code 3\)/);
  const size = readFileSync(crash.record).length;
  await new Promise((r) => setTimeout(r, 500));
  expect(readFileSync(crash.record).length).toBe(size);
}, 120_000);
