/**
 * Replay workers started as the run begins (src/pipeline/runner.ts, src/exec/replay-pool.ts): they load and rebuild
 * the pipeline while the run's own thread runs the stages before the backtest, and get the backtest's dates as soon as
 * ingestion has run (Stage.schedule), deciding while that thread runs the stages in between. A worker the backtest
 * never uses is ended with the run, never waited for, and the process exits; so are workers handed dates before a
 * stage before the backtest fails (the run's error is that stage's); a worker that fails as it starts fails the run
 * with REPLAY_FAILED. Runs the built API and CLI (dist/): the pool runs the compiled workers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repo } from '../cli/helpers.js';
import { threadPipeline, threadRuns, type Api } from './thread-runs.js';

let api: Api;
let tmp: string;
let csv: string;
beforeAll(async () => ({ api, tmp, csv } = await threadRuns('fractal-replay-prewarm-')));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const loads = () => join(tmp, 'worker-loads');
type Line = { thread: number; as_of: number; loaded?: number[]; early?: number };
const artifacts = ['weights.json', 'metrics.json', 'returns.arrow', 'equity.arrow', 'weights.arrow'];
const pipeline = (name: string, workers: number, stage: Record<string, unknown> = {}) => threadPipeline(tmp, csv, name, workers, stage);

async function run(name: string, workers: number, stage: Record<string, unknown> = {}) {
  const { file, record } = pipeline(name, workers, stage);
  const r = await api.run(file, { out: join(tmp, 'runs'), dataRoot: [tmp] });
  if (r.outcome === 'invalid') throw new Error(JSON.stringify(r.diagnostics));
  const lines = existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line) : [];
  return { r, lines };
}

test('the worker started as the run begins has loaded before the backtest, and decides dates in it', async () => {
  mkdirSync(loads());
  try {
    // The run's own decision (a stage before the backtest) waits until a worker has loaded the plugins.
    const { r, lines } = await run('used', 2, { wait_for_loaded_worker: true, wait_for_workers: 1 });
    expect(r.outcome).toBe('succeeded');
    const own = lines.find((d) => d.loaded);
    const backtest = lines.filter((d) => d !== own);
    expect(own!.loaded).toHaveLength(1);
    // The backtest's dates went to that very worker: no other was started.
    const workers = new Set(backtest.map((d) => d.thread).filter((t) => t !== 0));
    expect([...workers]).toEqual(own!.loaded);
  } finally {
    rmSync(loads(), { recursive: true, force: true });
  }
}, 120_000);

test('a worker the backtest never gets to use is ended with the run, not waited for, and the process exits', async () => {
  const ok = await run('unused_ok', 1);
  // The run's own decision fails (once a worker has loaded): the run ends before the backtest.
  const failAt = { fail_here_at: ok.lines[0]!.as_of, wait_for_loaded_worker: true };
  const mark = join(tmp, 'slow-start');
  mkdirSync(loads());
  writeFileSync(mark, '');
  try {
    // The worker stays busy loading for as long as the mark is there (up to 120 s, past this test's timeout).
    const { r } = await run('unused', 2, failAt);
    expect(r.outcome).toBe('failed');
    expect(r.summary.error!.message).toContain("this thread's failure");
    // The run had started its worker.
    expect(readdirSync(loads())).toHaveLength(1);
    rmSync(loads(), { recursive: true });
    mkdirSync(loads());
    // The same through the CLI: the process exits (with the stage's failure), not held by the loading worker.
    const { file } = pipeline('unused_cli', 2, failAt);
    const cli = spawnSync(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), 'run', file, '--data-root', tmp, '--out', join(tmp, 'runs'), '--quiet'], { encoding: 'utf8', timeout: 60_000 });
    expect(cli.signal).toBeNull();
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain("this thread's failure");
    expect(readdirSync(loads())).toHaveLength(1);
  } finally {
    rmSync(mark);
    rmSync(loads(), { recursive: true, force: true });
  }
  // The workers were terminated, not left loading: with the mark gone a live one would finish loading at once.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(existsSync(join(tmp, 'slow-start.loaded'))).toBe(false);
}, 120_000);

test('a worker that fails as it starts fails the run with REPLAY_FAILED', async () => {
  const mark = join(tmp, 'crash-start');
  mkdirSync(loads());
  writeFileSync(mark, '');
  try {
    // The worker exits (code 4) right after it leaves its mark; the run's own thread, slowed down, has not decided
    // every date by the time that is seen.
    const { r, lines } = await run('crash', 2, { wait_for_loaded_worker: true, here_ms: 100 });
    expect(lines[0]!.loaded).toHaveLength(1);
    expect(r.outcome).toBe('failed');
    expect(r.summary.error!.code).toBe('REPLAY_FAILED');
    expect(r.summary.error!.message).toMatch(/exited \(code 4\)/);
  } finally {
    rmSync(mark);
    rmSync(loads(), { recursive: true, force: true });
  }
}, 120_000);

test("the backtest's dates reach the workers once ingestion has run: they decide while the stages before the backtest run, with the same outcome as one thread", async () => {
  const one = await run('early_one', 1);
  // The run's own decision (a stage before the backtest) waits until a worker has begun one of the backtest's.
  const { r, lines } = await run('early_two', 2, { wait_for_early_decision: true });
  expect(r.outcome).toBe('succeeded');
  const own = lines.find((d) => d.early !== undefined)!;
  expect(own.thread).toBe(0);
  expect(own.early).toBe(1);
  // A worker decided dates, every date was decided once, and the artifacts are those of one thread.
  const backtest = lines.filter((d) => d !== own);
  expect(backtest.some((d) => d.thread !== 0)).toBe(true);
  expect(backtest.map((d) => d.as_of).sort((a, b) => a - b)).toEqual(one.lines.slice(1).map((d) => d.as_of));
  for (const f of artifacts) expect(readFileSync(join(r.paths.folder, f))).toEqual(readFileSync(join(one.r.paths.folder, f)));
}, 120_000);

test('a stage before the backtest that fails once the workers decide its dates: the run fails with that error, the workers are ended and the process exits', async () => {
  const ok = await run('early_fail_ok', 1);
  const failAt = { fail_here_at: ok.lines[0]!.as_of };
  const alone = await run('early_fail_one', 1, failAt);
  // The worker's decisions go on for as long as the test keeps the hold (up to 120 s, past this test's timeout).
  const early = { ...failAt, wait_for_early_decision: true, hold_in_worker: true };
  const held = (name: string) => writeFileSync(`${pipeline(name, 2, early).record}.hold`, '');
  try {
    held('early_fail');
    const { r } = await run('early_fail', 2, early);
    // The worker had begun a decision of the backtest (its mark), which the failing stage waited for.
    expect(readdirSync(tmp).filter((f) => f.startsWith('early_fail.jsonl.worker.'))).toHaveLength(1);
    expect(r.outcome).toBe('failed');
    const { message, ...error } = r.summary.error!;
    const { message: aloneMessage, ...aloneError } = alone.r.summary.error!;
    expect(error).toEqual(aloneError);
    expect(message).toContain(`this thread's failure at ${failAt.fail_here_at}`);
    expect(aloneMessage).toContain(`this thread's failure at ${failAt.fail_here_at}`);
    // The same through the CLI: the process exits with the stage's failure, not held by the deciding worker.
    held('early_fail_cli');
    const { file } = pipeline('early_fail_cli', 2, early);
    const cli = spawnSync(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), 'run', file, '--data-root', tmp, '--out', join(tmp, 'runs'), '--quiet'], { encoding: 'utf8', timeout: 60_000 });
    expect(cli.signal).toBeNull();
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain("this thread's failure");
  } finally {
    for (const name of ['early_fail', 'early_fail_cli']) rmSync(`${pipeline(name, 2, early).record}.hold`, { force: true });
  }
  // The workers were terminated: with the hold gone a live one would record its decision at once.
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const name of ['early_fail', 'early_fail_cli']) expect(existsSync(pipeline(name, 2, early).record)).toBe(false);
}, 120_000);
