/**
 * The walk-forward job (pipelines/bench/walk_forward.yaml) writes the same bytes on 1, 2 and 3 worker threads: its
 * clustering merges each window's correlation from block moments reused across the windows a thread decides
 * (src/math/block-moments.ts), in an order that depends on the window alone, so how the windows are split between
 * threads (a thread starting in the middle of a group of blocks, or at its start) changes nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    const folders = [1, 2, 3].map((w) => {
      const run = cli([PIPELINE, '--lakehouse', lakehouse, '--out', join(tmp, `runs-${w}`), '--json', '--set', `stages.backtest.workers=${w}`]);
      expect(run.code).toBe(0);
      return (JSON.parse(run.stdout) as { folder: string }).folder;
    });
    for (const artifact of ['returns.arrow', 'weights.arrow', 'weights.json', 'clusters.json', 'metrics.json']) {
      const bytes = folders.map((f) => readFileSync(join(f, artifact)));
      expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
      expect(bytes[2]!.equals(bytes[0]!)).toBe(true);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
