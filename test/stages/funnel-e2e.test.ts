/**
 * The funnel end to end through the real runner on the synthetic scanner: ingestion → feature_engineering → a
 * test-only scoring stage (momentum as conviction; the rankers land separately) → clustering → policy → synthesis.
 * Checks the artifacts agree with each other and with the audit, and that the run is deterministic.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import type { SelectionContext } from '../../src/core/context.js';
import { params } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { pluginModule, PluginRegistry } from '../../src/core/registry.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { BUILTIN_MODULES } from '../../stages/index.js';

/** Test-only: the champion's conviction is the momentum feature. */
class MomentumScores implements Stage<SelectionContext> {
  static readonly meta: StageMeta = {
    kind: 'stage', name: 'test_momentum_scores', description: 'Test only: conviction = momentum.', documents: ['selection'],
    requires: ['features'], provides: ['scores'], params: params({}),
  };
  execute(ctx: SelectionContext, _p: Record<string, unknown>, env: StageEnv): SelectionContext {
    const f = ctx.features!;
    ctx.scores = { momentum: { symbols: f.symbols, conviction: Float64Array.from(f.values.momentum!) } };
    ctx.champion = 'momentum';
    env.audit.event('test_momentum_scores', 'scored', { symbols: f.symbols.length });
    return ctx;
  }
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-funnel-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const yaml = `pipeline: selection
version: "4.0"
name: funnel_e2e
stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 40, days: 300, seed: 9, min_volume_spot: 0 } }, lookback_days: 250 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: test_momentum_scores
  - type: clustering
    params: { threshold: 0.7, max_clusters: 25, lookbacks: [20, 60, 120] }
  - type: policy
    params: { filters: [darwinian, spectral, friction, tail_risk, roc], top_n: 2, min_winners: 15 }
  - type: synthesis
    params: { direction: BOTH }
`;

async function run(name: string) {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, yaml);
  const registry = new PluginRegistry([...BUILTIN_MODULES, pluginModule('stage', [MomentumScores as never], 'test stages')]);
  const v = await validateFile(file, { registry });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'lakehouse') });
}
const read = (folder: string, f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));

test('ingestion → features → scores → clustering → policy → synthesis', async () => {
  const s = await run('a');
  expect(s.error).toBeUndefined();
  expect(s.outcome).toBe('succeeded');
  const candidates = read(s.folder, 'candidates.json').candidates.map((c: { symbol: string }) => c.symbol);
  const clusters = read(s.folder, 'clusters.json');
  const winners = read(s.folder, 'winners.json');
  const vetoes = read(s.folder, 'vetoes.json');
  const atoms = read(s.folder, 'atoms.json');

  // Clustering covers the pool, at most 25 clusters, a full linkage.
  expect([...clusters.symbols].sort()).toEqual([...candidates].sort());
  expect(clusters.cluster_count).toBeLessThanOrEqual(25);
  expect(clusters.linkage).toHaveLength(candidates.length - 1);

  // Policy: winners come from the pool, none vetoed by a hard filter, at most top_n per cluster in stages 1-2.
  const ws: { symbol: string; cluster: number; reason: string; overridden_vetoes: { filter: string }[] }[] = winners.winners;
  expect(ws.length).toBeGreaterThan(0);
  expect([1, 2, 3, 4]).toContain(winners.htr_stage);
  expect(winners.satisfied).toBe(ws.length >= 15);
  for (const w of ws) {
    expect(candidates).toContain(w.symbol);
    expect(clusters.labels[clusters.symbols.indexOf(w.symbol)]).toBe(w.cluster);
    expect(w.overridden_vetoes.filter((v) => v.filter === 'darwinian' || v.filter === 'tail_risk')).toEqual([]);
    if (w.reason === 'top_n') expect(vetoes.vetoes[w.symbol]).toBeUndefined();
  }
  // Every veto names its filter, metric, value and threshold.
  for (const list of Object.values(vetoes.vetoes) as { filter: string; metric: string; threshold: unknown }[][])
    for (const v of list) expect(Object.keys(v).sort()).toEqual(['filter', 'metric', 'threshold', 'value']);

  // Synthesis: two atoms per winner, ids Asset_Logic_Direction.
  expect(atoms.atoms).toHaveLength(2 * ws.length);
  for (const a of atoms.atoms) expect(a.id).toBe(`${a.symbol}_${a.logic}_${a.direction}`);

  // The audit has every step: clusters formed, the HTR stages up to the one reached, winners, atoms.
  const events = readFileSync(join(s.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const names = events.map((e) => e.event);
  expect(names).toEqual(expect.arrayContaining(['clusters_formed', 'entropy_hardening', 'filter_applied', 'htr_stage', 'winners_selected', 'atoms_synthesised']));
  expect(events.filter((e) => e.event === 'htr_stage').map((e) => e.data.stage)).toEqual(Array.from({ length: winners.htr_stage }, (_, i) => i + 1));
  // The synthetic market has one toxic spike (PUMPUSDT +620% on day 120 of 300, 1/6.8 - 1 the next day): the
  // ingestion stage audits both bars and what every reader books instead (nothing, then the move from the last
  // good close: 7.2 / 6.8 - 1).
  const toxic = events.filter((e) => e.event === 'toxic_bar').map((e) => e.data);
  expect(toxic.map((t) => [t.symbol, t.kind])).toEqual([['PUMPUSDT', 'spike'], ['PUMPUSDT', 'reversal']]);
  expect(toxic[0].value).toBeCloseTo(6.2, 9);
  expect(toxic[0].booked).toBeNull();
  expect(toxic[1].value).toBeCloseTo(1 / 6.8 - 1, 9);
  expect(toxic[1].booked).toBeCloseTo(7.2 / 6.8 - 1, 9);
});

test('the same config and data give the same funnel artifacts', async () => {
  const a = await run('b');
  const b = await run('c');
  for (const f of ['clusters.json', 'vetoes.json', 'winners.json', 'atoms.json']) expect(readFileSync(join(a.folder, f), 'utf8')).toBe(readFileSync(join(b.folder, f), 'utf8'));
});
