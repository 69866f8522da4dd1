/**
 * Tournaments as a user runs them, through the built CLI: `validate` points at the matrix in the tournament file,
 * `plan` lists the cells and which are cached, `run` runs the cells on the worker pool (exit 0), gives the same
 * tournament.json on one worker or two, and exits 1 when the champion fails.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR } from '../data.js';
import { cli, repo } from './helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-tournament-cli-'));
  for (const f of ['crypto_long.yaml', 'tournament_crypto.yaml']) copyFileSync(join(repo, 'pipelines', f), join(tmp, f));
  const r = cli(['lakehouse', 'import', join(DATA_DIR, 'crypto'), '--layout', 'ohlcv', '--venue', 'binance_spot', '--lakehouse', join(tmp, 'lh')]);
  expect(r.code).toBe(0);
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TWO = ['--set', 'matrix.stages.allocation.engine=["hrp","equal_weight"]', '--set', 'matrix.stages.inference.ranker=["mps"]', '--set', 'matrix.stages.backtest.step_size=[30]', '--set', 'statistics.bootstrap.resamples=300'];
const tournament = (folder: string) => {
  const j = JSON.parse(readFileSync(join(folder, 'tournament.json'), 'utf8'));
  for (const c of j.cells) c.run = 'RUN';
  return j;
};

test('validate: an unknown matrix path and a bad value, located in the tournament file, exit 2', () => {
  const f = join(tmp, 'bad_tournament.yaml');
  writeFileSync(f, `pipeline: tournament
version: "4.0"
base: ./crypto_long.yaml
matrix:
  stages.allocation.engin: [hrp]
  stages.backtest.step_size: [30, -1]
`);
  const r = cli(['validate', f]);
  expect(r.code).toBe(2);
  expect(r.stdout).toContain(`${f}:5:3: error REF_MATRIX_UNKNOWN_PATH matrix path 'stages.allocation.engin': stage 'allocation' has no param 'engin'`);
  expect(r.stdout).toMatch(/hint: Did you mean 'engine'\?/);
  // The same pass checks each value of the axes whose paths do reach a param.
  expect(r.stdout).toContain(`${f}:6:35: error PARAM_OUT_OF_RANGE 'step_size' in params of stage 'backtest' must be >= 1, got -1`);
  writeFileSync(f, readFileSync(f, 'utf8').replace('engin:', 'engine:'));
  const again = cli(['validate', f]);
  expect(again.stdout).toContain(`${f}:6:35: error PARAM_OUT_OF_RANGE 'step_size' in params of stage 'backtest' must be >= 1, got -1`);
});

test('plan names a plugin cell by its params too: two cells of one engine are told apart', () => {
  const f = join(tmp, 'linkages.yaml');
  writeFileSync(f, `pipeline: tournament
version: "4.0"
base: ./crypto_long.yaml
matrix:
  stages.allocation.engine: [hrp, { name: hrp, params: { linkage: ward } }]
`);
  const r = cli(['plan', f]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/\* hrp\s+[0-9a-f]{12}\s+\?\s+stages.allocation.engine=hrp\n/);
  expect(r.stdout).toMatch(/ hrp-[0-9a-f]{6}\s+[0-9a-f]{12}\s+\?\s+stages.allocation.engine=hrp\(linkage=ward\)\n/);
});

test('pipelines/tournament_crypto.yaml as written: 24 cells, every one run and compared, exit 0', () => {
  const r = cli([join(tmp, 'tournament_crypto.yaml'), '--out', join(tmp, 'runs-full'), '--lakehouse', join(tmp, 'lh'), '--json']);
  expect(r.code).toBe(0);
  const summary = JSON.parse(r.stdout);
  expect(summary.outcome).toBe('succeeded');
  const j = JSON.parse(readFileSync(join(summary.folder, 'tournament.json'), 'utf8'));
  expect(j.cells.length).toBe(24);
  expect(j.cells.filter((c: { outcome: string }) => c.outcome === 'succeeded').length).toBe(24);
  expect(j.champion).toBe('hrp_mps_30');
  expect(j.pbo.value).toBeGreaterThanOrEqual(0);
  expect(j.deflation.trials).toBe(24);
}, 300_000);

test('plan lists the cells and which are cached; run on two workers and on one gives the same tournament.json', () => {
  const file = join(tmp, 'tournament_crypto.yaml');
  const out = ['--out', join(tmp, 'runs'), '--lakehouse', join(tmp, 'lh')];
  const before = cli(['plan', file, ...TWO, ...out]);
  expect(before.code).toBe(0);
  expect(before.stdout).toMatch(/0 of 2 cells unchanged; 2 to run/);
  expect(before.stdout).toMatch(/\* hrp_mps_30\s+[0-9a-f]{12}\s+no\s+stages.allocation.engine=hrp/);
  const two = cli([file, ...TWO, ...out, '--set', 'cells.workers=2']);
  expect(two.code).toBe(0);
  const folder2 = two.stdout.trim();
  const after = cli(['plan', file, ...TWO, ...out, '--json']);
  expect(JSON.parse(after.stdout).cells.map((c: { id: string; cached: boolean }) => [c.id, c.cached])).toEqual([['hrp_mps_30', true], ['equal_weight_mps_30', true]]);
  const one = cli([file, ...TWO, '--set', 'cells.workers=1', '--no-cache', '--out', join(tmp, 'runs-one'), '--lakehouse', join(tmp, 'lh')]);
  expect(one.code).toBe(0);
  expect(tournament(one.stdout.trim())).toEqual(tournament(folder2));
  expect(readFileSync(join(one.stdout.trim(), 'cell_returns.arrow')).equals(readFileSync(join(folder2, 'cell_returns.arrow')))).toBe(true);
}, 180_000);

test('exit 1 when the champion fails; exit 0 when only another cell does; exit 2 for a value the data cannot serve', () => {
  const file = join(tmp, 'failing.yaml');
  writeFileSync(file, `pipeline: tournament
version: "4.0"
base: ./crypto_long.yaml
champion: chrp
matrix:
  include:
    - { stages.allocation.engine: hrp }
    - { stages.allocation.engine: { name: efficient_return, params: { target_return: 50 } }, stages.allocation.fallback: [] }
cells: { id: "c{engine}" }
statistics: { bootstrap: { resamples: 200 } }
`);
  const out = ['--out', join(tmp, 'runs-fail'), '--lakehouse', join(tmp, 'lh')];
  const ok = cli([file, ...out]);
  expect(ok.code).toBe(0);
  const failed = JSON.parse(readFileSync(join(ok.stdout.trim(), 'cells.json'), 'utf8')).find((c: { outcome: string }) => c.outcome === 'failed');
  expect(failed.error.code).toBe('ALLOCATION_FAILED');
  const bad = cli([file, '--set', `champion=${failed.id}`, ...out]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/error TOURNAMENT_CHAMPION_FAILED: the champion 'cefficient_return-[0-9a-f]{6}' failed/);
  const refused = cli([file, '--set', 'stages.backtest.train_window=5000', ...out]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/BACKTEST_TOO_SHORT/);
}, 180_000);

test('the worker pool: workers take tasks in turn; a child its worker cannot run is recorded, or stops the pool', async () => {
  const dist = (p: string) => import(join(repo, 'dist', p));
  const { runSleevesInPool } = await dist('src/exec/sleeve-pool.js');
  const { validateFile } = await dist('src/config/validate.js');
  const { builtinRegistry } = await dist('stages/index.js');
  const file = join(tmp, 'crypto_long.yaml');
  const sets = ['stages.backtest.step_size=60'];
  const hash = (await validateFile(file, { registry: builtinRegistry(), sets })).hash;
  const task = (name: string, expectHash: string) => ({ name, kind: 'selection', file, sets, expectHash, outRoot: join(tmp, 'pool'), cacheRoot: join(tmp, 'pool'), lakehousePath: join(tmp, 'lh'), noCache: true, folderName: name });
  const tasks = [task('a', hash), task('b', 'f'.repeat(64)), task('c', hash)];
  const done: number[] = [];
  const out = await runSleevesInPool(tasks, 2, (d: number) => done.push(d), 'record');
  expect(done).toEqual([1, 2, 3]);
  expect(out.map((r: { name: string; outcome: string }) => [r.name, r.outcome])).toEqual([['a', 'succeeded'], ['b', 'failed'], ['c', 'succeeded']]);
  expect(out[1].error).toMatchObject({ code: 'CHILD_RUN_FAILED', message: expect.stringContaining('cell b: ') });
  expect(out[1].error.message).toMatch(/resolves differently in the worker/);
  expect(out[0].result.returns).toEqual(out[2].result.returns);
  await expect(runSleevesInPool([task('d', 'f'.repeat(64))], 1, () => {}, 'stop')).rejects.toThrow(/cell d: .*resolves differently/);
}, 120_000);
