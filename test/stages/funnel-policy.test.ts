/**
 * The policy stage on constructed pools: every veto recorded, top_n per cluster by the champion's conviction, the
 * sector cap, each HTR stage (pools built to need stage 1, 2, 3 and 4), entropy-aware hardening, and that nothing
 * after the as-of date is read.
 */
import type { SelectionContext } from '../../src/core/context.js';
import type { PluginClass } from '../../src/core/plugin.js';
import { DarwinianFilter } from '../../stages/policy/filters/darwinian.filter.js';
import { FrictionFilter } from '../../stages/policy/filters/friction.filter.js';
import { RocFilter } from '../../stages/policy/filters/roc.filter.js';
import { SpectralFilter } from '../../stages/policy/filters/spectral.filter.js';
import { TailRiskFilter } from '../../stages/policy/filters/tail-risk.filter.js';
import { PolicyStage, type PolicyParams } from '../../stages/policy/policy.stage.js';
import { validParams } from '../plugins/valid-params.js';
import { context, featureTable, matrix, recordingEnv, rng } from './fixtures/funnel/helpers.js';

function defaults(cls: { meta: { params: Record<string, unknown> } }): Record<string, unknown> {
  const props = cls.meta.params.properties as Record<string, { default?: unknown }>;
  return Object.fromEntries(Object.entries(props).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, s.default]));
}
const ref = (cls: PluginClass, extra: Record<string, unknown> = {}) => ({ name: cls.meta.name, params: { ...defaults(cls), ...extra } });
/** Spectral on the feature entropy (no returns needed) and tail risk: one soft and one hard filter. */
const FILTERS = [ref(SpectralFilter as unknown as PluginClass, { entropy_measure: 'feature' }), ref(TailRiskFilter as unknown as PluginClass)];
const policyParams = (over: Partial<PolicyParams> = {}): PolicyParams => ({ ...validParams<PolicyParams>(PolicyStage), filters: FILTERS, ...over });

const CLEAN = { efficiency: 0.5, entropy: 0.5, hurst: 0.6, kurtosis: 3, volatility: 1 };
const SOFT_STRICT = { ...CLEAN, efficiency: 0.26 }; // vetoed at 0.3, kept at the relaxed 0.24
const SOFT = { ...CLEAN, efficiency: 0.1 }; // vetoed even relaxed
const HARD = { ...CLEAN, kurtosis: 30 }; // tail_risk: never forced

interface Row { cluster: number; conviction: number; sector?: string; f: Record<string, number> }
function pool(rows: Record<string, Row>): SelectionContext {
  const symbols = Object.keys(rows);
  return context({
    features: featureTable(Object.fromEntries(symbols.map((s) => [s, rows[s]!.f]))),
    clusters: { symbols, labels: Int32Array.from(symbols, (s) => rows[s]!.cluster) },
    scores: { mps: { symbols, conviction: Float64Array.from(symbols, (s) => rows[s]!.conviction) } },
    champion: 'mps',
    raw_pool: symbols.map((s) => ({ symbol: s, sector: rows[s]!.sector })),
  });
}
/** `k` clusters of `m` members; member i of cluster c has conviction 100 - 10c - i; features by cluster. */
function grid(k: number, m: number, features: (c: number, i: number) => Record<string, number>, sector: (c: number, i: number) => string | undefined = () => undefined) {
  const rows: Record<string, Row> = {};
  for (let c = 1; c <= k; c++) for (let i = 0; i < m; i++) rows[`C${c}M${i}`] = { cluster: c, conviction: 100 - 10 * c - i, sector: sector(c, i), f: features(c, i) };
  return rows;
}
async function run(ctx: SelectionContext, over: Record<string, unknown> = {}) {
  const rec = recordingEnv();
  await new PolicyStage().execute(ctx, policyParams(over), rec.env);
  const stages = rec.events.filter((e) => e.event === 'htr_stage').map((e) => e.data.stage);
  return { ...rec, stages, winners: rec.artifacts['winners.json'] };
}

test('stage 1 (strict) suffices: top_n per cluster by the champion conviction, not by input order', async () => {
  const rows = grid(10, 3, () => CLEAN);
  rows.C1M2!.conviction = 1000; // the best of cluster 1 despite its position
  const ctx = pool(rows);
  const r = await run(ctx, { min_winners: 15 });
  expect(r.stages).toEqual([1]);
  expect(r.winners.htr_stage).toBe(1);
  expect(ctx.winners).toHaveLength(20);
  expect(ctx.winners).toEqual(expect.arrayContaining(['C1M2', 'C1M0']));
  expect(ctx.winners).not.toContain('C1M1');
  for (let c = 2; c <= 10; c++) expect(ctx.winners).toEqual(expect.arrayContaining([`C${c}M0`, `C${c}M1`]));
  expect(ctx.vetoes).toEqual({});
  // A challenger's scores do not decide.
  const other = pool(rows);
  other.scores!.challenger = { symbols: other.scores!.mps!.symbols, conviction: other.scores!.mps!.conviction.map((x) => -x) };
  await run(other, { min_winners: 15 });
  expect(other.winners).toEqual(ctx.winners);
});

test('stage 2 (relaxed): efficiency 0.26 is vetoed at 0.3 and kept at the relaxed 0.24', async () => {
  const ctx = pool(grid(10, 3, (c) => (c <= 5 ? SOFT_STRICT : CLEAN)));
  const r = await run(ctx, { min_winners: 15 });
  expect(r.stages).toEqual([1, 2]);
  expect(r.winners).toMatchObject({ htr_stage: 2, htr_stage_name: 'relaxed', satisfied: true });
  expect(ctx.winners).toHaveLength(20);
  const vetoes = r.artifacts['vetoes.json'];
  expect(vetoes.strict_vetoes.C1M0).toEqual([{ filter: 'spectral', metric: 'efficiency', value: 0.26, threshold: 0.3 }]);
  expect(vetoes.vetoes).toEqual({});
  expect(vetoes.filters[0].relaxed.efficiency_min).toBeCloseTo(0.24, 12);
  expect(vetoes.filters[1].relaxed).toEqual(vetoes.filters[1].strict); // tail_risk is hard: not relaxed
  // With relaxation off, the loop stops at stage 1 short of min_winners.
  const off = pool(grid(10, 3, (c) => (c <= 5 ? SOFT_STRICT : CLEAN)));
  const r2 = await run(off, { min_winners: 15, relaxation: false });
  expect(r2.stages).toEqual([1]);
  expect(off.winners).toHaveLength(10);
  expect(r2.winners.satisfied).toBe(false);
  expect(off.vetoes!.C1M0).toEqual([{ filter: 'spectral', metric: 'efficiency', value: 0.26, threshold: 0.3 }]);
});

test('stage 3 (representative forcing): the best member of each cluster without a winner, never a hard veto', async () => {
  // Clusters 1-4 clean (8 winners at top_n 2); clusters 5-10 soft-vetoed even relaxed; cluster 5's best is hard-vetoed.
  const ctx = pool(grid(10, 3, (c, i) => (c <= 4 ? CLEAN : c === 5 && i === 0 ? HARD : SOFT)));
  const r = await run(ctx, { min_winners: 12 });
  expect(r.stages).toEqual([1, 2, 3]);
  expect(ctx.winners).toHaveLength(14);
  const forced = r.winners.winners.filter((w: { reason: string }) => w.reason === 'representative').map((w: { symbol: string }) => w.symbol).sort();
  expect(forced).toEqual(['C10M0', 'C5M1', 'C6M0', 'C7M0', 'C8M0', 'C9M0']);
  expect(ctx.winners).not.toContain('C5M0');
  const c6 = r.winners.winners.find((w: { symbol: string }) => w.symbol === 'C6M0');
  expect(c6.overridden_vetoes).toEqual([{ filter: 'spectral', metric: 'efficiency', value: 0.1, threshold: expect.closeTo(0.24, 12) }]);
  // ctx.vetoes carries every veto at the relaxed thresholds, forced winners included.
  expect(ctx.vetoes!.C5M0).toEqual([{ filter: 'tail_risk', metric: 'kurtosis', value: 30, threshold: 20 }]);
  expect(r.events.find((e) => e.event === 'representatives_forced')!.data.forced).toHaveLength(6);
});

test('stage 4 (balanced fallback): round robin over clusters, clean members first, hard vetoes never', async () => {
  // Clusters 1-2: 4 clean members; clusters 3-4: soft-vetoed members, cluster 3's best (highest conviction overall) hard-vetoed.
  const rows = grid(4, 4, (c) => (c <= 2 ? CLEAN : SOFT));
  rows.C3M0 = { ...rows.C3M0!, conviction: 500, f: HARD };
  const ctx = pool(rows);
  const r = await run(ctx, { min_winners: 10 });
  expect(r.stages).toEqual([1, 2, 3, 4]);
  expect(r.winners).toMatchObject({ htr_stage: 4, htr_stage_name: 'balanced_fallback', satisfied: true });
  expect(ctx.winners).toHaveLength(10);
  expect(ctx.winners).not.toContain('C3M0');
  const perCluster = [1, 2, 3, 4].map((c) => ctx.winners!.filter((s) => s.startsWith(`C${c}M`)).length);
  expect(perCluster).toEqual([3, 3, 2, 2]);
  const fallback = r.winners.winners.filter((w: { reason: string }) => w.reason === 'fallback').map((w: { symbol: string }) => w.symbol).sort();
  expect(fallback).toEqual(['C1M2', 'C2M2', 'C3M2', 'C4M1']);
  expect(r.events.map((e) => e.event)).toEqual(expect.arrayContaining(['entropy_hardening', 'filter_applied', 'htr_stage', 'representatives_forced', 'balanced_fallback', 'winners_selected']));
  // A pool that cannot reach min_winners ends at stage 4, short, and says so.
  const small = pool(grid(2, 2, () => CLEAN));
  const rs = await run(small, { min_winners: 10 });
  expect(rs.stages).toEqual([1, 2, 3, 4]);
  expect(small.winners).toHaveLength(4);
  expect(rs.winners.satisfied).toBe(false);
});

test('sector cap: no sector above 40% of winners; its lowest-conviction winners go first', async () => {
  // 5 clusters x 2 winners; clusters 1-3 are all DeFi (6 of 10), cluster 4 L1, cluster 5 L2.
  const ctx = pool(grid(5, 2, () => CLEAN, (c) => (c <= 3 ? 'DeFi' : c === 4 ? 'L1' : 'L2')));
  const r = await run(ctx, { min_winners: 0 });
  const sectors = ctx.winners!.map((s) => (Number(s[1]) <= 3 ? 'DeFi' : s[1] === '4' ? 'L1' : 'L2'));
  for (const s of new Set(sectors)) expect(sectors.filter((x) => x === s).length / sectors.length).toBeLessThanOrEqual(0.4);
  // The two DeFi winners kept are the two best DeFi convictions.
  expect(ctx.winners!.filter((s) => Number(s[1]) <= 3).sort()).toEqual(['C1M0', 'C1M1']);
  expect(r.winners.pruned_by_sector_cap.map((p: { symbol: string }) => p.symbol).sort()).toEqual(['C2M0', 'C2M1', 'C3M0', 'C3M1']);
  expect(r.events.find((e) => e.event === 'sector_cap')!.data.pruned).toHaveLength(4);
  // sector_cap 1 turns it off.
  const all = pool(grid(5, 2, () => CLEAN, (c) => (c <= 3 ? 'DeFi' : 'L1')));
  await run(all, { min_winners: 0, sector_cap: 1 });
  expect(all.winners).toHaveLength(10);
});

test('entropy-aware hardening: mean entropy > 0.95 tightens entropy_max by 10% (0.995 → 0.8955)', async () => {
  const rows = grid(4, 3, () => ({ ...CLEAN, entropy: 0.97 }));
  rows.C1M0!.f = { ...CLEAN, entropy: 0.9 }; // above 0.8955, below 0.995
  const hard = pool(rows);
  const r = await run(hard, { min_winners: 0 });
  const ev = r.events.find((e) => e.event === 'entropy_hardening')!.data;
  expect(ev).toMatchObject({ applied: true, trigger: 0.95, entropy_max: { spectral: { from: 0.995, to: expect.closeTo(0.8955, 12) } } });
  expect(hard.vetoes!.C1M0).toEqual([{ filter: 'spectral', metric: 'entropy', value: 0.9, threshold: expect.closeTo(0.8955, 12) }]);
  expect(hard.winners).not.toContain('C1M0');
  const off = pool(rows);
  const r2 = await run(off, { min_winners: 0, entropy_hardening: false });
  expect(r2.events.find((e) => e.event === 'entropy_hardening')!.data.applied).toBe(false);
  expect(off.vetoes).toEqual({});
  // Below the trigger nothing tightens.
  const calm = pool(grid(4, 3, () => ({ ...CLEAN, entropy: 0.95 })));
  const r3 = await run(calm, { min_winners: 0 });
  expect(r3.events.find((e) => e.event === 'entropy_hardening')!.data.applied).toBe(false);
});

test('symbols without a finite conviction are never winners', async () => {
  const rows = grid(2, 3, () => CLEAN);
  rows.C1M0!.conviction = NaN;
  const ctx = pool(rows);
  const r = await run(ctx, { min_winners: 6 });
  expect(ctx.winners).not.toContain('C1M0');
  expect(r.events.find((e) => e.event === 'ineligible')!.data.no_conviction).toEqual(['C1M0']);
});

test('rows after the as-of date are never read (default filter chain, permutation entropy, friction, darwinian)', async () => {
  const g = rng(5);
  const days = 120;
  const cols: Record<string, number[]> = {};
  for (let j = 0; j < 12; j++) cols[`S${j}`] = Array.from({ length: days }, () => g.normal() * (0.01 + 0.01 * j));
  const feats = Object.fromEntries(Object.keys(cols).map((s, j) => [s, { ...CLEAN, efficiency: 0.2 + 0.03 * j, dollar_volume: 1e6 * (j + 1), missing_fraction: 0, roc: 10 }]));
  const labels = Int32Array.from({ length: 12 }, (_, j) => 1 + (j % 3));
  const conviction = Float64Array.from({ length: 12 }, (_, j) => (j * 7) % 12);
  const build = (returns: ReturnType<typeof matrix>) =>
    context({ returns, as_of: returns.dates[days - 1], features: featureTable(feats), clusters: { symbols: Object.keys(cols), labels }, scores: { mps: { symbols: Object.keys(cols), conviction } }, champion: 'mps' });
  const clean = build(matrix(cols));
  const poisoned = build(matrix(Object.fromEntries(Object.entries(cols).map(([s, v], j) => [s, [...v, ...Array.from({ length: 40 }, (_, t) => (j + t) % 2 ? NaN : 1e3)]]))));
  const params = policyParams({ filters: [DarwinianFilter, SpectralFilter, FrictionFilter, TailRiskFilter, RocFilter].map((c) => ref(c as unknown as PluginClass)), min_winners: 5 });
  const a = recordingEnv();
  const b = recordingEnv();
  await new PolicyStage().execute(clean, params, a.env);
  await new PolicyStage().execute(poisoned, params, b.env);
  expect(clean.winners!.length).toBeGreaterThan(0);
  expect(Object.keys(clean.vetoes!).length).toBeGreaterThan(0);
  expect(poisoned.winners).toEqual(clean.winners);
  expect(poisoned.vetoes).toEqual(clean.vetoes);
  expect(b.artifacts['vetoes.json']).toEqual(a.artifacts['vetoes.json']);
  // Dropping the as-of date exposes the poison (the comparison above can fail).
  const exposed = build(poisoned.returns!);
  exposed.as_of = undefined;
  await new PolicyStage().execute(exposed, params, recordingEnv().env);
  expect(exposed.vetoes).not.toEqual(clean.vetoes);
});
