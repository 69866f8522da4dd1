/**
 * A tournament's cells as validation makes them: matrix paths through a plugin written by its name, an axis over a
 * plugin beside an axis over its params (the plugin first, whatever the order written), and the problems a
 * combination of axes can make, said where they are written.
 */
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { builtinRegistry } from '../../stages/index.js';
import { removeTmpTrees, tmpTree } from './tmp.js';

afterAll(removeTmpTrees);

/** A small selection base whose engine is written by its name, as pipelines/crypto_long.yaml does. */
const BASE = `pipeline: selection
version: "4.0"
name: base
stages:
  - type: ingestion
    params: { scanner: lakehouse, lookback_days: 365 }
  - type: feature_engineering
  - type: inference
    params: { ranker: mps }
  - type: clustering
  - type: policy
  - type: synthesis
  - type: allocation
    params: { engine: hrp }
  - type: backtest
    params: { step_size: 30 }
`;

const tournament = (matrix: string, extra = '') => `pipeline: tournament\nversion: "4.0"\nbase: ./base.yaml\nmatrix:\n${matrix}${extra}`;

async function validate(matrix: string, extra = '', sets: string[] = []) {
  const dir = tmpTree({ 'base.yaml': BASE, 't.yaml': tournament(matrix, extra) });
  const r = await validateFile(join(dir, 't.yaml'), { registry: builtinRegistry(), sets });
  return { r, lines: r.diagnostics.map((d) => `${d.file.startsWith('<') ? d.file : d.file.split('/').pop()}:${d.line}:${d.column} ${d.code} ${d.message}`) };
}

const engineOf = (r: Awaited<ReturnType<typeof validate>>['r'], id: string) => r.cells![id].resolved!.stages.find((s) => s.type === 'allocation')!.params.engine;

test("matrix paths through a plugin written by its name: engine.params.linkage and engine.name on 'engine: hrp'", async () => {
  const params = await validate('  stages.allocation.engine.params.linkage: [single, ward]\n');
  expect(params.lines).toEqual([]);
  expect(engineOf(params.r, 'ward')).toEqual({ name: 'hrp', params: { linkage: 'ward' } });
  const names = await validate('  stages.allocation.engine.name: [hrp, herc]\n');
  expect(names.lines).toEqual([]);
  expect(engineOf(names.r, 'herc')).toMatchObject({ name: 'herc' });
});

test('an engine axis and an engine.params axis: the engine axis sets the plugin, the params axis its params, in either order written', async () => {
  for (const matrix of [
    '  stages.allocation.engine: [hrp, herc]\n  stages.allocation.engine.params.linkage: [average, complete]\n',
    '  stages.allocation.engine.params.linkage: [average, complete]\n  stages.allocation.engine: [hrp, herc]\n',
  ]) {
    const { r, lines } = await validate(matrix);
    expect(lines).toEqual([]);
    const cells = r.resolved!.tournament!.cells;
    expect(new Set(cells.map((c) => c.config_hash)).size).toBe(cells.length);
    const herc = cells.find((c) => c.overrides['stages.allocation.engine'] === 'herc' && c.overrides['stages.allocation.engine.params.linkage'] === 'complete')!;
    expect(engineOf(r, herc.id)).toMatchObject({ name: 'herc', params: { linkage: 'complete' } });
    // The overrides are recorded in the order they apply, so a cell run from them resolves to the same config.
    expect(Object.keys(herc.overrides)).toEqual(['stages.allocation.engine', 'stages.allocation.engine.params.linkage']);
  }
});

test("a params axis given to a plugin that does not take it is refused at the value, in the matrix's terms", async () => {
  const { lines, r } = await validate('  stages.allocation.engine: [hrp, min_variance]\n  stages.allocation.engine.params.linkage: [single, ward]\n');
  expect(lines).toEqual([
    "t.yaml:6:45 PARAM_UNKNOWN_KEY unknown key 'linkage' in params of engine 'min_variance'",
    "t.yaml:6:53 PARAM_UNKNOWN_KEY unknown key 'linkage' in params of engine 'min_variance'",
  ]);
  expect(r.diagnostics[0].hint).toMatch(/stages\.allocation\.engine takes no 'linkage': leave such cells out with `exclude`/);
});

test('cells of one configuration are refused at the value that repeats, naming the cells, whatever the ids', async () => {
  // A plugin's default spelled out: hrp's linkage is single.
  const spelled = await validate('  stages.allocation.engine: [hrp, {name: hrp, params: {linkage: single}}, min_variance]\n  stages.backtest.step_size: [30, 60]\n', 'cells: { id: "{engine}_{step_size}" }\n');
  expect(spelled.lines).toEqual([
    expect.stringMatching(/^t\.yaml:5:35 REF_MATRIX_DUPLICATE_CELL stages\.allocation\.engine: \{"name":"hrp","params":\{"linkage":"single"\}\} resolves to the same configuration as hrp: cells 'hrp_30' and 'hrp-[0-9a-f]{6}_30' \(config [0-9a-f]{12}\), 'hrp_60' and 'hrp-[0-9a-f]{6}_60' \(config [0-9a-f]{12}\) are one configuration$/),
  ]);
  // The same value twice in an axis: that, at the second, not "give cells.id a template".
  const twice = await validate('  stages.backtest.step_size: [30, 30]\n');
  expect(twice.lines).toEqual([expect.stringMatching(/^t\.yaml:5:35 REF_MATRIX_DUPLICATE_CELL 30 appears twice in stages\.backtest\.step_size: cells '30' \(cell 1\) and '30' \(cell 2\) \(config [0-9a-f]{12}\) are one configuration$/)]);
  expect(twice.r.diagnostics[0].hint).toMatch(/^Remove the repeated value\. Each cell counts as a trial/);
  // The same include entry twice: at the second entry.
  const entries = await validate('  include: [{ stages.backtest.step_size: 20 }, { stages.backtest.step_size: 20 }]\n');
  expect(entries.lines).toEqual([expect.stringMatching(/^t\.yaml:5:48 REF_MATRIX_DUPLICATE_CELL include entry 2 repeats include entry 1: cells '20' \(cell 1\) and '20' \(cell 2\)/)]);
  // Cells that differ in config but not in id are still an id problem.
  const ids = await validate('  stages.backtest.step_size: [30, 60]\n', 'cells: { id: "x" }\n');
  expect(ids.lines).toEqual(["t.yaml:6:14 REF_CELL_ID_INVALID cell ids must be unique; 'x' name more than one cell"]);
  expect(ids.r.diagnostics[0].hint).toBe('Add the axes that tell these cells apart to cells.id.');
  const alike = await validate('  stages.backtest.benchmark: [BTC USDT, BTC/USDT]\n', 'cells: { id: "{benchmark}" }\n');
  expect(alike.lines).toEqual(["t.yaml:6:14 REF_CELL_ID_INVALID cell ids must be unique; 'BTC-USDT' name more than one cell"]);
  expect(alike.r.diagnostics[0].hint).toMatch(/^cells\.id names every matrix path, but these cells' values read the same in an id/);
});

test('include entries: every independent problem in one pass, beside a bad path, with the ids and the champion', async () => {
  const include = '  stages.backtest.step_size: [20, 30]\n  include: [{ stages.policy.top_nn: 3 }, { stages.backtest.step_size: 20, stages.policy.top_n: -1 }]\n';
  const { lines } = await validate(include, 'cells: { id: "a/{step_size}" }\n');
  expect(lines).toEqual([
    "t.yaml:6:15 REF_MATRIX_UNKNOWN_PATH matrix path 'stages.policy.top_nn': stage 'policy' has no param 'top_nn'",
    "t.yaml:6:96 PARAM_OUT_OF_RANGE 'top_n' in params of stage 'policy' must be >= 1, got -1",
    "t.yaml:7:14 REF_CELL_ID_INVALID cell id 'a/20' is not a folder name (letters, digits, _ . and -)",
  ]);
  // Every path reaches a param but a cell is invalid: the ids and the champion are still checked.
  const cellFails = await validate(include.replace('top_nn', 'top_n'), 'cells: { id: "a/{step_size}" }\nchampion: nope\n');
  expect(cellFails.lines).toEqual([
    "t.yaml:6:95 PARAM_OUT_OF_RANGE 'top_n' in params of stage 'policy' must be >= 1, got -1",
    "t.yaml:7:14 REF_CELL_ID_INVALID cell id 'a/20' is not a folder name (letters, digits, _ . and -)",
    "t.yaml:8:11 REF_CHAMPION_UNKNOWN champion 'nope' is not a cell of this tournament",
  ]);
});

test('an unknown champion, from the file or from --set, is told the cell ids, however many cells there are', async () => {
  const matrix = '  stages.backtest.step_size: [20, 30, 40, 50, 60, 70, 80]\n  stages.allocation.engine: [hrp, herc]\n';
  const ids = ['20_hrp', '20_herc', '30_hrp', '30_herc', '40_hrp', '40_herc', '50_hrp', '50_herc', '60_hrp', '60_herc', '70_hrp', '70_herc', '80_hrp', '80_herc'];
  const fromSet = await validate(matrix, '', ['champion=zzz']);
  expect(fromSet.lines).toEqual(["<command line: --set champion=zzz>:1:1 REF_CHAMPION_UNKNOWN champion 'zzz' is not a cell of this tournament"]);
  expect(fromSet.r.diagnostics[0].hint).toBe(`Known cell ids: ${ids.join(', ')}.`);
  const fromFile = await validate(matrix, 'champion: zzz\n');
  expect(fromFile.r.diagnostics.map((d) => d.hint)).toEqual([`Known cell ids: ${ids.join(', ')}.`]);
});
