/**
 * The walk-forward job (pipelines/bench/walk_forward.yaml) writes the same bytes on 1, 2 and 3 worker threads: its
 * clustering merges each window's correlation from block moments reused across the windows a thread decides
 * (src/math/block-moments.ts), in an order that depends on the window alone, so how the windows are split between
 * threads (a thread starting in the middle of a group of blocks, or at its start) changes nothing.
 * With data this small the run's thread would decide every window before a worker is ready (it takes over the block
 * of a worker still starting, src/exec/replay-claims.ts): the job runs with the test stage `thread_record`
 * (test/exec/fixtures/thread-plugins.js) right after ingestion, whose gate holds every thread at its first decision
 * until the w - 1 workers have begun, and whose record shows that w threads decided. Its equal weights are replaced
 * by the allocation's further on: the artifacts compared are the job's own.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, repo } from '../cli/helpers.js';
import { seededRandom } from '../math/helpers.js';

const PIPELINE = join(repo, 'pipelines', 'bench', 'walk_forward.yaml');
// 70 symbols, 484 closes: 483 returns, 11 windows of 21 days after the first 252 (a group of 12 blocks and more).
const N = 70;
const PRICES = 484;

test('the walk-forward pipeline writes the same bytes with workers 1, 2 and 3', () => {
  const u = seededRandom(2024);
  const symbols = Array.from({ length: N }, (_, j) => `S${String(j).padStart(2, '0')}`);
  const closes = symbols.map(() => [20 + 80 * u()]);
  for (let t = 1; t < PRICES; t++) {
    const m = 0.01 * (u() - 0.5);
    for (let j = 0; j < N; j++) closes[j]!.push(closes[j]![t - 1]! * (1 + 0.0003 * ((j % 7) - 3) + (0.5 + (j % 4) / 3) * m + 0.03 * (u() - 0.5)));
  }
  const rows = Array.from({ length: PRICES }, (_, t) => [new Date(Date.UTC(2020, 0, 1 + t)).toISOString().slice(0, 10), ...closes.map((c) => c[t]!.toPrecision(12))].join(','));
  const tmp = mkdtempSync(join(tmpdir(), 'fractal-wf-workers-'));
  try {
    const csv = join(tmp, 'closes.csv');
    writeFileSync(csv, `${['date', ...symbols].join(',')}\n${rows.join('\n')}\n`);
    const lakehouse = join(tmp, 'lakehouse');
    expect(cli(['lakehouse', 'import', csv, '--layout', 'wide', '--venue', 'bench', '--asset-type', 'equity', '--lakehouse', lakehouse]).code).toBe(0);
    // The job with the recording stage after ingestion: the pipeline's own text, two insertions (each run sets its
    // own record and gate).
    copyFileSync(join(repo, 'test', 'exec', 'fixtures', 'thread-plugins.js'), join(tmp, 'plugins.js'));
    const job = readFileSync(PIPELINE, 'utf8');
    const withRecord = job
      .replace(/^stages:\n/m, 'plugins: [./plugins.js]\nstages:\n')
      .replace(/^ {2}- type: feature_engineering\n/m, `  - type: thread_record\n    params: { record: ${JSON.stringify(join(tmp, 'record.jsonl'))} }\n$&`);
    expect(withRecord.split('\n').length).toBe(job.split('\n').length + 3);
    const pipeline = join(tmp, 'walk_forward.yaml');
    writeFileSync(pipeline, withRecord);
    expect(cli(['validate', pipeline]).code).toBe(0);
    const folders = [1, 2, 3].map((w) => {
      const record = join(tmp, `record-${w}.jsonl`);
      const set = [`stages.backtest.workers=${w}`, `stages.thread_record.record=${record}`, `stages.thread_record.wait_for_workers=${w - 1}`];
      const run = cli([pipeline, '--lakehouse', lakehouse, '--out', join(tmp, `runs-${w}`), '--json', ...set.flatMap((v) => ['--set', v])]);
      expect(run.code).toBe(0);
      // The first line is the run's own decision; then the backtest's, each by the thread that made it: all w.
      expect(existsSync(record)).toBe(true);
      const threads = readFileSync(record, 'utf8').trim().split('\n').slice(1).map((l) => (JSON.parse(l) as { thread: number }).thread);
      expect(threads.length).toBe(12);
      expect(new Set(threads).size).toBe(w);
      return (JSON.parse(run.stdout) as { folder: string }).folder;
    });
    // The weights are the clustering's and HRP's (top 2 of at most 25 clusters, unequal), not the recording stage's
    // equal weights on all 70 symbols; and the job without the recording stage writes the same bytes.
    const weights = JSON.parse(readFileSync(join(folders[0]!, 'weights.json'), 'utf8')) as { weight: number }[];
    expect(weights.length).toBeLessThanOrEqual(50);
    expect(new Set(weights.map((x) => x.weight)).size).toBeGreaterThan(1);
    const plain = cli([PIPELINE, '--lakehouse', lakehouse, '--out', join(tmp, 'runs-plain'), '--json', '--set', 'stages.backtest.workers=1']);
    expect(plain.code).toBe(0);
    folders.push((JSON.parse(plain.stdout) as { folder: string }).folder);
    for (const artifact of ['returns.arrow', 'weights.arrow', 'weights.json', 'clusters.json', 'metrics.json']) {
      const bytes = folders.map((f) => readFileSync(join(f, artifact)));
      expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
      expect(bytes[2]!.equals(bytes[0]!)).toBe(true);
      expect(bytes[3]!.equals(bytes[0]!)).toBe(true);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
