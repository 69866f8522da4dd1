/** A book of LONG and SHORT atoms under a net direction cap: |Σ LONG weight − Σ SHORT weight| <= net. */
import type { SelectionContext } from '../../src/core/context.js';
import type { Stage } from '../../src/core/plugin.js';
import { createContainer } from '../../src/pipeline/container.js';
import { AllocationStage } from '../../stages/allocation/allocation.stage.js';
import { builtinRegistry } from '../../stages/index.js';
import { validateFile } from '../../src/config/validate.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let seed = 3;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;

async function allocate(net: number | undefined) {
  const T = 200;
  const ids = ['AAA_m_LONG', 'BBB_m_LONG', 'CCC_m_LONG', 'DDD_w_SHORT', 'EEE_w_SHORT'];
  const values = new Float64Array(ids.length * T).map(() => 0.02 * rand());
  const ctx: SelectionContext = {
    kind: 'selection', run_id: 't', params: {}, extra: {},
    raw_pool: ids.map((id) => ({ symbol: id.split('_')[0], asset_type: 'spot' })),
    atoms: ids.map((id) => ({ id, symbol: id.split('_')[0], logic: id.split('_')[1], direction: id.endsWith('SHORT') ? 'SHORT' : 'LONG' })),
    atom_returns: { dates: Int32Array.from({ length: T }, (_, t) => 19000 + t), symbols: ids, values },
  };
  // Resolve the stage params as a pipeline would (defaults filled, refs explicit).
  const dir = mkdtempSync(join(tmpdir(), 'fractal-dir-'));
  writeFileSync(join(dir, 'p.yaml'), `pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n  - type: allocation\n    params: { engine: min_variance${net === undefined ? '' : `, direction_caps: { net: ${net} }`} }\n`);
  const v = await validateFile(join(dir, 'p.yaml'), { registry: builtinRegistry() });
  rmSync(dir, { recursive: true, force: true });
  const params = v.resolved!.stages[1].params;
  const written: Record<string, unknown> = {};
  const env = {
    plugins: createContainer(builtinRegistry()).resolver,
    audit: { event: () => {} },
    artifacts: { writeJson: async (n: string, x: unknown) => ((written[n] = x), n), writeJsonSection: async () => '', writeText: async () => '', writeBytes: async () => '' },
    log: () => {},
  } as never;
  // As the runner holds it: the params of the resolved config, validated with defaults.
  const stage: Stage<SelectionContext> = new AllocationStage();
  await stage.execute(ctx, params, env);
  return { ctx, atoms: written['atoms.json'] as { id: string; weight: number; direction: string }[] };
}

test('min_variance on LONG and SHORT atoms keeps |net| within the cap, and the cap binds', async () => {
  const free = await allocate(undefined);
  const netOf = (atoms: { weight: number; direction: string }[]) => atoms.reduce((a, x) => a + (x.direction === 'SHORT' ? -x.weight : x.weight), 0);
  const capped = await allocate(0.1);
  expect(Math.abs(netOf(capped.atoms))).toBeLessThanOrEqual(0.1 + 1e-9);
  expect(Math.abs(netOf(free.atoms))).toBeGreaterThan(0.1); // without the cap the net drifts further: the cap binds
  expect(capped.atoms.reduce((a, x) => a + x.weight, 0)).toBeCloseTo(1, 9); // the budget is gross over atoms
  // Physical weights are net: SHORT atoms come out negative.
  for (const w of capped.ctx.weights!) expect(w.direction).toBe(w.weight < 0 ? 'SHORT' : 'LONG');
  for (const w of capped.ctx.weights!) if (w.weight < 0) expect(['DDD', 'EEE']).toContain(w.symbol);
});
