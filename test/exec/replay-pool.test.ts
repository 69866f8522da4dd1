/**
 * The replay pool with the run's own thread deciding a share (src/exec/replay-pool.ts): with t threads, the run's
 * thread decides the first contiguous block of dates and t - 1 workers the others, in date order; progress counts
 * every decision; a failure in a worker, or in the run's thread, fails the run with the stage's error, as in process.
 * Runs the built API (dist/): its pool runs the compiled workers.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from '../cli/helpers.js';

type Api = typeof import('../../src/api/index.js');
let api: Api;
let tmp: string;
let csv: string;
const SYMBOLS = ['AAA', 'BBB', 'CCC'];
const DAYS = 101;
beforeAll(async () => {
  api = (await import(join(repo, 'dist', 'src', 'api', 'index.js'))) as Api;
  tmp = mkdtempSync(join(tmpdir(), 'fractal-replay-pool-'));
  copyFileSync(join(new URL('.', import.meta.url).pathname, 'fixtures', 'thread-plugins.js'), join(tmp, 'plugins.js'));
  const rows = Array.from({ length: DAYS }, (_, t) => [new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10), ...SYMBOLS.map((_, j) => (100 * (1 + 0.01 * Math.sin(t * (j + 1)))).toFixed(6))].join(','));
  csv = join(tmp, 'closes.csv');
  writeFileSync(csv, `${['date', ...SYMBOLS].join(',')}\n${rows.join('\n')}\n`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Decision {
  thread: number;
  as_of: number;
}
async function run(name: string, workers: number, stage: Record<string, unknown> = {}) {
  const record = join(tmp, `${name}.jsonl`);
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    `pipeline: selection\nversion: "4.0"\nname: ${name}\nplugins: [./plugins.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${JSON.stringify(csv)}, layout: wide, asset_type: equity } } }\n  - type: thread_record\n    params: ${JSON.stringify({ record, ...stage })}\n  - type: backtest\n    params: { train_window: 20, test_window: 5, step_size: 5, workers: ${workers} }\n`,
  );
  const progress: number[] = [];
  const r = await api.run(file, { out: join(tmp, 'runs'), dataRoot: [tmp], onProgress: (label, done) => label === 'backtest windows' && progress.push(done) });
  if (r.outcome === 'invalid') throw new Error(JSON.stringify(r.diagnostics));
  // The first line is the run's own decision (as of the last day); then the backtest's, in the order made.
  const decisions = existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Decision).slice(1) : [];
  return { r, decisions, progress, record };
}

test.each([2, 3])('with %i threads the run decides the first block itself and the workers the rest, in date order, every decision once', async (t) => {
  const one = await run(`one_${t}`, 1);
  const many = await run(`many_${t}`, t);
  expect(many.r.outcome).toBe('succeeded');
  const dates = one.decisions.map((d) => d.as_of);
  expect(dates.length).toBeGreaterThan(10);
  expect(new Set(one.decisions.map((d) => d.thread))).toEqual(new Set([0]));
  // The run's thread (threadId 0) made exactly the first ⌊n / t⌋ dates; each worker one contiguous block after.
  const byThread = new Map<number, number[]>();
  for (const d of many.decisions) byThread.set(d.thread, [...(byThread.get(d.thread) ?? []), d.as_of]);
  expect(byThread.size).toBe(t);
  expect(byThread.get(0)).toEqual(dates.slice(0, Math.floor(dates.length / t)));
  expect([...byThread.values()].sort((a, b) => a[0]! - b[0]!).flat()).toEqual(dates);
  // Progress counts every decision once (the windows, the final as-of decision is not a window).
  expect(Math.max(...many.progress)).toBe(dates.length - 1);
  for (const f of ['weights.json', 'metrics.json', 'returns.arrow']) expect(readFileSync(join(many.r.paths.folder, f))).toEqual(readFileSync(join(one.r.paths.folder, f)));
}, 120_000);

test("a worker's failure fails the run with the stage's error, as the same failure in process does, and no worker goes on", async () => {
  const ok = await run('ok_w', 1);
  const here = await run('fail_here', 1, { fail_here_at: ok.decisions[0]!.as_of });
  expect(here.r.outcome).toBe('failed');
  const pool = await run('fail_worker', 2, { fail_in_worker: true });
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
