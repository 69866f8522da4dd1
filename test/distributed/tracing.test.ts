/**
 * A distributed run is one trace: the submitter (--executor bullmq --trace) carries its trace context in each job's
 * data, and a worker whose environment traces (OTEL_TRACES_EXPORTER) makes a span per job under the submitter's stage
 * span, with the child run (its stages) inside it. Both processes print their spans with the console exporter (one
 * JSON line per span on stderr); the test joins them into one tree.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR } from '../data.js';
import { cli, repo } from '../cli/helpers.js';
import { BIN, Proc, RedisServer, stopAll } from './harness.js';

let tmp: string;
let lh: string;
const procs: Proc[] = [];
let redis: RedisServer | undefined;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-bullmq-trace-'));
  for (const f of ['crypto_long.yaml', 'tournament_crypto.yaml']) copyFileSync(join(repo, 'pipelines', f), join(tmp, f));
  lh = join(tmp, 'lh');
  expect(cli(['lakehouse', 'import', join(DATA_DIR, 'crypto'), '--layout', 'ohlcv', '--venue', 'binance_spot', '--lakehouse', lh]).code).toBe(0);
}, 120_000);
afterAll(async () => {
  await stopAll(procs.splice(0));
  await redis?.stop('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

interface SpanLine {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  attributes: Record<string, unknown>;
}
const spansOf = (p: Proc): SpanLine[] => p.lines.filter((l) => l.startsWith('{"trace_id"')).map((l) => JSON.parse(l));

test('a tournament on a BullMQ worker: each cell job a span of the submitter trace, its child run inside it', async () => {
  redis = new RedisServer(mkdtempSync(join(tmp, 'redis-')));
  await redis.start();
  const out = join(tmp, 'shared');
  const env = { OTEL_TRACES_EXPORTER: 'console' };
  const worker = new Proc(process.execPath, [BIN, 'worker', '--redis', redis.url, '--out', out, '--lakehouse', lh, '--lock-ms', '4000', '--drain-ms', '5000'], { env });
  procs.push(worker);
  const two = ['--set', 'matrix.stages.allocation.engine=["hrp"]', '--set', 'matrix.stages.inference.ranker=["mps"]', '--set', 'matrix.stages.backtest.step_size=[30,60]', '--set', 'statistics.bootstrap.resamples=200'];
  const submitter = new Proc(process.execPath, [BIN, join(tmp, 'tournament_crypto.yaml'), ...two, '--out', out, '--lakehouse', lh, '--executor', 'bullmq', '--redis', redis.url, '--json', '--no-cache', '--trace'], { env });
  procs.push(submitter);
  expect(await submitter.exited).toBe(0);
  const summary = JSON.parse(submitter.stdout);
  expect(summary.outcome).toBe('succeeded');
  const mine = spansOf(submitter);
  const root = mine.find((s) => s.parent_span_id === null)!;
  expect(root.name).toBe('pipeline-run');
  const cellsStage = mine.find((s) => s.name === 'stage tournament_cells')!;
  // The worker exports each job's spans when the job ends.
  await worker.waitFor(/"name":"job cell /, 30_000);
  const theirs = spansOf(worker);
  const jobs = theirs.filter((s) => s.name.startsWith('job cell '));
  expect(new Set(jobs.map((j) => j.attributes['fractal.cell'])).size).toBe(jobs.length);
  expect(jobs).toHaveLength(2);
  const all = [...mine, ...theirs];
  expect(new Set(all.map((s) => s.trace_id))).toEqual(new Set([root.trace_id]));
  for (const j of jobs) expect(j.parent_span_id).toBe(cellsStage.span_id);
  // Every span's parent is in the joined tree: one tree across the two processes.
  const ids = new Set(all.map((s) => s.span_id));
  expect(all.filter((s) => s.parent_span_id !== null && !ids.has(s.parent_span_id)).map((s) => s.name)).toEqual([]);
  // Under each job, the child run and its stages.
  for (const j of jobs) {
    const run = theirs.find((s) => s.parent_span_id === j.span_id && s.name.startsWith('run '))!;
    expect(run.attributes['fractal.outcome']).toBe('succeeded');
    expect(theirs.filter((s) => s.parent_span_id === run.span_id).map((s) => s.name)).toContain('stage backtest');
  }
}, 600_000);
