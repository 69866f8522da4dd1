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
