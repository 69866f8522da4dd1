/**
 * Replay workers foreseen before the run begins (BacktestStage.threadsAhead, src/pipeline/runner.ts): when the
 * lakehouse's symbols table already says the backtest's work is large (decisions × symbols × train_window of 12
 * million or more, counted on the longest series' days and the venue's symbols up to the scanner's limit), the
 * preflight says how many threads, and the run starts the workers as it begins, as it does for a `workers` param, so
 * that they load while ingestion reads the data; otherwise none start before the backtest decides.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import type { PreflightEnv, Universe } from '../../src/core/plugin.js';
import type { ReplayWorkers } from '../../src/pipeline/executor.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { preflightPipeline, runPipeline, type PreflightFindings } from '../../src/pipeline/runner.js';
import { BacktestStage, type BacktestParams } from '../../stages/backtest/backtest.stage.js';
import { builtinRegistry } from '../../stages/index.js';
import { repo } from '../cli/helpers.js';

const DAY = 86_400_000;
const iso = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);
const START = Date.UTC(2020, 0, 1) / DAY;

/** `n` symbols with `rows` bars each, spread evenly over `span` calendar days from START; `late` of them listed after `asOf`. */
function universe(n: number, rows: number, span = rows, late = 0): Universe {
  const asOf = START + span - 1;
  const symbols = Array.from({ length: n }, (_, j) => {
    const first = j < late ? asOf + 10 : START;
    return { symbol: `S${j}`, first_date: iso(first), last_date: iso(first + span - 1), rows };
  });
  return { venue: 'bench', symbols, asOf };
}

const stage = new BacktestStage(undefined as never);
const params = (over: Partial<BacktestParams> = {}) => ({ train_window: 252, test_window: 21, step_size: 21, first_rebalance: 'after_train_returns', ...over }) as BacktestParams;
const ahead = (u: Universe, over: Partial<BacktestParams> = {}) => stage.threadsAhead(params(over), { universe: u } as PreflightEnv);
// One thread per core, at most one per 4 decisions (src/util/threads.ts).
const perCore = (decisions: number) => Math.max(1, Math.min(availableParallelism(), Math.floor(decisions / 4)));

test("the walk-forward job's 2000 symbols × 1261 days foresee a thread per core; its 500 symbols do not", () => {
  // 1261 closes: rebalances after 252 returns every 21 days up to day 1259, and the as-of decision: 49 decisions.
  // 49 × 2000 × 252 = 24.7 M ≥ 12 M; 49 × 500 × 252 = 6.2 M.
  expect(ahead(universe(2000, 1261))).toBe(perCore(49));
  expect(ahead(universe(500, 1261))).toBeUndefined();
  // Given, the param decides (the runner starts what it says).
  expect(ahead(universe(2000, 1261), { workers: 1 })).toBeUndefined();
});

test('the estimate counts the symbols listed by the as-of date and the days of the longest series, not the calendar span', () => {
  // 1600 of the 2000 list after the as-of date: 49 × 400 × 252 = 4.9 M.
  expect(ahead(universe(2000, 1261, 1261, 1600))).toBeUndefined();
  // Weekday bars: 1261 bars over 1765 calendar days. On the bars 49 × 700 × 252 = 8.6 M; on the calendar span the
  // estimate would be 73 × 700 × 252 = 12.9 M.
  expect(ahead(universe(700, 1261, 1765))).toBeUndefined();
  expect(ahead(universe(1000, 1261, 1765))).toBe(perCore(49));
  // first_rebalance after_train_days decides one day earlier: with 1261 days, 49 decisions all the same.
  expect(ahead(universe(2000, 1261), { first_rebalance: 'after_train_days' })).toBe(perCore(49));
  // The scanner keeps at most `limit` candidates (the lakehouse scanner's default is 100): 49 × 100 × 252 = 1.2 M.
  expect(ahead({ ...universe(2000, 1261), limit: 100 })).toBeUndefined();
  expect(ahead({ ...universe(2000, 1261), limit: 1000 })).toBe(perCore(49));
  // Too short for a single window: nothing foreseen.
  expect(ahead(universe(2000, 253))).toBeUndefined();
});

test('a run whose preflight foresees threads starts its workers as it begins; one that does not starts none', async () => {
  // 200 symbols × 1300 closes, train 252, step 4: ceil((1299 − 252) / 4) + 1 = 263 decisions, 263 × 200 × 252 = 13.3 M.
  const tmp = mkdtempSync(join(tmpdir(), 'fractal-threads-ahead-'));
  try {
    const symbols = Array.from({ length: 200 }, (_, j) => `S${String(j).padStart(3, '0')}`);
    const rows = Array.from({ length: 1300 }, (_, t) => [iso(START + t), ...symbols.map((_, j) => (100 * (1 + 0.01 * Math.sin(t * (j + 1) * 0.01))).toFixed(6))].join(','));
    const csv = join(tmp, 'closes.csv');
    writeFileSync(csv, `${['date', ...symbols].join(',')}\n${rows.join('\n')}\n`);
    const lakehousePath = join(tmp, 'lakehouse');
    const lh = await openLakehouse(lakehousePath, { create: true });
    await lh.importCsv(csv, { layout: 'wide', venue: 'bench', assetType: 'equity' });
    copyFileSync(join(repo, 'test', 'exec', 'fixtures', 'thread-plugins.js'), join(tmp, 'plugins.js'));
    const pipeline = (name: string, step: number) => {
      const file = join(tmp, `${name}.yaml`);
      writeFileSync(
        file,
        `pipeline: selection\nversion: "4.0"\nname: ${name}\nplugins: [./plugins.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { venue: bench, min_volume_spot: 0, min_volume_perp: 0, limit: 1000 } } }\n  - type: thread_record\n    params: {}\n  - type: backtest\n    params: { train_window: 252, test_window: ${step}, step_size: ${step}, first_rebalance: after_train_returns, challengers: false }\n`,
      );
      return file;
    };
    for (const [name, step, threads] of [['large', 4, perCore(263)], ['small', 21, undefined]] as const) {
      const v = await validateFile(pipeline(name, step), { registry: builtinRegistry() });
      expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const found: PreflightFindings = {};
      expect(await preflightPipeline(v, { lakehousePath }, undefined, found)).toEqual([]);
      expect(found.replayThreads).toBe(threads);
      // The run asks its replay pool for the workers as it begins; this pool decides every date in this thread.
      const started: number[] = [];
      const pool = {
        available: () => true,
        start: (_setup: unknown, workers: number): ReplayWorkers => {
          started.push(workers);
          return {
            run: async (_job, dates, _threads, onProgress, decideHere) => {
              const decide = await decideHere!;
              const outcomes = [];
              for (const d of dates) {
                outcomes.push(await decide(d));
                onProgress(outcomes.length);
              }
              return { outcomes, sources: [] };
            },
            close: () => {},
          };
        },
      };
      const summary = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath, executors: { replay: pool } });
      expect(summary.outcome).toBe('succeeded');
      expect(started).toEqual([(threads ?? 1) - 1]);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}, 60_000);
