/**
 * `pipeline-run trace` on runs that are not a plain selection run: a tournament is followed in its champion cell's run
 * (and says so, in text and in --json), and a run with no discovery to follow (it failed before discovery, or has no
 * ingestion stage) is NOTHING_TO_TRACE (exit 2), as a symbol the run never saw is SYMBOL_NOT_IN_RUN: never a bare
 * header with exit 0.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, repo } from './helpers.js';

let tmp: string;
let runs: string;
let tournament: { run_id: string; folder: string };
const read = (folder: string, f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-trace-runs-'));
  runs = join(tmp, 'runs');
  writeFileSync(join(tmp, 'base.yaml'), `pipeline: selection
version: "4.0"
name: base
stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 30, days: 420, seed: 5 } }, lookback_days: 200 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
  - type: clustering
  - type: policy
    params: { filters: [darwinian, tail_risk], top_n: 2, min_winners: 5 }
  - type: synthesis
  - type: allocation
    params: { engine: inverse_vol }
  - type: backtest
    params: { train_window: 120, test_window: 30, step_size: 30 }
`);
  writeFileSync(join(tmp, 't.yaml'), `pipeline: tournament
version: "4.0"
name: trace_tournament
base: ./base.yaml
champion: equal_weight
matrix:
  stages.allocation.engine: [inverse_vol, equal_weight]
cells: { id: "{engine}" }
statistics: { bootstrap: { resamples: 200 } }
`);
  const r = cli([join(tmp, 't.yaml'), '--out', runs, '--json']);
  expect(r.code).toBe(0);
  tournament = JSON.parse(r.stdout);
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("a tournament run is traced in its champion cell's run, which the output names, with every other cell's run", () => {
  const cells = read(tournament.folder, 'cells.json') as { id: string; run: string }[];
  const champion = cells.find((c) => c.id === 'equal_weight')!;
  const other = cells.find((c) => c.id === 'inverse_vol')!;
  const held = (read(join(tournament.folder, champion.run), 'weights.json') as { symbol: string; weight: number }[])[0]!;
  // The same symbol traced in the champion cell's own run folder.
  const direct = JSON.parse(cli(['trace', join(tournament.folder, champion.run), held.symbol, '--json']).stdout);

  const t = cli(['trace', tournament.run_id, held.symbol, '--out', runs]);
  expect(t.code).toBe(0);
  expect(t.stdout).toContain(`${held.symbol} in run ${tournament.run_id}\na tournament: followed in its champion cell equal_weight`);
  expect(t.stdout).toContain(join(tournament.folder, champion.run));
  expect(t.stdout).toMatch(new RegExp(`^  inverse_vol  ${join(tournament.folder, other.run)}$`, 'm'));
  expect(t.stdout).toContain('── champion cell equal_weight');
  expect(t.stdout).toContain(`   weight     ${(held.weight * 100).toFixed(2)}% LONG`);

  const j = JSON.parse(cli(['trace', tournament.run_id, held.symbol, '--out', runs, '--json']).stdout);
  expect(j).toEqual({
    symbol: held.symbol,
    run: tournament.run_id,
    tournament: { champion: 'equal_weight', run: champion.run, trace: direct, cells: cells.map((c) => ({ cell: c.id, outcome: 'succeeded', run: c.run })) },
  });
});

test('a symbol the tournament never saw is SYMBOL_NOT_IN_RUN (exit 2), --json too', () => {
  const t = cli(['trace', tournament.folder, 'FOOUSDT']);
  expect(t.code).toBe(2);
  expect(t.stdout).toBe('');
  expect(t.stderr).toContain(`error SYMBOL_NOT_IN_RUN: tournament run ${tournament.run_id} is traced through its champion cell 'equal_weight': FOOUSDT is not in the universe of run`);
  const j = cli(['trace', tournament.folder, 'FOOUSDT', '--json']);
  expect(j.code).toBe(2);
  expect(JSON.parse(j.stdout)).toMatchObject({ outcome: 'error', error: { code: 'SYMBOL_NOT_IN_RUN', exit_code: 2 } });
});

test('a run that failed before discovery, or has no ingestion stage, has nothing to trace: NOTHING_TO_TRACE, exit 2', () => {
  copyFileSync(join(repo, 'test', 'runs', 'fixtures', 'stages.js'), join(tmp, 'stages.js'));
  writeFileSync(join(tmp, 'early.yaml'), `pipeline: selection
version: "4.0"
name: early
plugins: [./stages.js]
stages:
  - type: tick
  - type: boom
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 10, days: 300, seed: 3 } }, lookback_days: 200 }
`);
  const failed = JSON.parse(cli([join(tmp, 'early.yaml'), '--out', runs, '--json']).stdout);
  expect(failed.outcome).toBe('failed');
  for (const symbol of ['SYN000USDT', 'FOOUSDT']) {
    const t = cli(['trace', failed.folder, symbol]);
    expect(t.code).toBe(2);
    expect(t.stdout).toBe('');
    expect(t.stderr).toContain(`error NOTHING_TO_TRACE: run ${failed.run_id} has nothing to trace ${symbol} through: it failed in stage 'boom' (PLUGIN_FAILED) before discovery, so it wrote no candidates.json`);
  }
  const ok = JSON.parse(cli([join(repo, 'test', 'runs', 'fixtures', 'ok.yaml'), '--out', runs, '--json']).stdout);
  const t = cli(['trace', ok.folder, 'X', '--json']);
  expect(t.code).toBe(2);
  expect(JSON.parse(t.stdout).error).toMatchObject({ code: 'NOTHING_TO_TRACE', exit_code: 2, message: `run ${ok.run_id} has nothing to trace X through: its pipeline has no ingestion stage (stages: tick, report), so it wrote no candidates.json` });
});
