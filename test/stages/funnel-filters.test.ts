/**
 * Each veto filter at its threshold (just above vetoed, just below kept, equal kept), the ECI and the permutation
 * entropy (hand values and numpy on real closes), and that filters reading returns stop at the as-of date.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SelectionContext } from '../../src/core/context.js';
import { permutationEntropy } from '../../src/math/permutation-entropy.js';
import type { PluginMeta } from '../../src/core/plugin.js';
import type { Filter, FilterVerdicts } from '../../stages/policy/filter.js';
import { validParams } from '../plugins/valid-params.js';
import { DarwinianFilter } from '../../stages/policy/filters/darwinian.filter.js';
import { executionCostIndex, FrictionFilter } from '../../stages/policy/filters/friction.filter.js';
import { PredictabilityFilter } from '../../stages/policy/filters/predictability.filter.js';
import { RocFilter } from '../../stages/policy/filters/roc.filter.js';
import { SpectralFilter } from '../../stages/policy/filters/spectral.filter.js';
import { TailRiskFilter } from '../../stages/policy/filters/tail-risk.filter.js';
import { context, cryptoReturns, featureTable, FIXTURE_DIR, matrix } from './fixtures/funnel/helpers.js';

const EPS = 1e-9;
/** A filter's params with nothing given: its schema's defaults, as validation fills them. */
function defaults<P>(cls: { meta: PluginMeta; prototype: Filter<P> }): P {
  return validParams<P>(cls);
}
const vetoed = (v: FilterVerdicts, s: string, metric?: string) => v[s]!.some((c) => c.vetoed && (!metric || c.metric === metric));

/** Evaluates one feature at three values around a threshold: above, equal, below. */
function around(filter: Filter, p: Record<string, unknown>, feature: string, at: number, base: Record<string, number> = {}, ctx: Partial<SelectionContext> = {}) {
  const eps = Math.max(EPS, Math.abs(at) * 1e-12);
  const features = featureTable({ ABOVE: { ...base, [feature]: at + eps }, EQUAL: { ...base, [feature]: at }, BELOW: { ...base, [feature]: at - eps } });
  return filter.evaluate(features, p, context(ctx));
}

describe('thresholds: just above vetoed, just below kept (DESIGN.md defaults)', () => {
  test('tail_risk: kurtosis > 20, annualised volatility > 2.5, CVaR when set', () => {
    const f = new TailRiskFilter();
    const p = defaults(TailRiskFilter);
    expect(p).toEqual({ kurtosis_max: 20, volatility_max: 2.5 });
    let v = around(f, p, 'kurtosis', 20, { volatility: 1 });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([true, false, false]);
    expect(v.ABOVE!.find((c) => c.vetoed)).toMatchObject({ metric: 'kurtosis', threshold: 20 });
    v = around(f, p, 'volatility', 2.5, { kurtosis: 3 });
    expect([vetoed(v, 'ABOVE', 'volatility'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([true, false, false]);
    // CVaR 95% loss (minus the feature) above cvar_max, only when given.
    v = around(f, { ...p, cvar_max: 0.1 }, 'cvar_95', -0.1, { kurtosis: 3, volatility: 1 });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([false, false, true]);
    expect(v.BELOW!.find((c) => c.vetoed)!.metric).toBe('cvar_95_loss');
    expect(f.hard).toBe(true);
  });

  test('roc: > +100% or < -80% (the feature is in percent)', () => {
    const f = new RocFilter();
    const p = defaults(RocFilter);
    let v = around(f, p, 'roc', 100);
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([true, false, false]);
    expect(v.ABOVE!.find((c) => c.vetoed)).toMatchObject({ metric: 'roc', threshold: 1 });
    v = around(f, p, 'roc', -80);
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([false, false, true]);
    expect(v.BELOW!.find((c) => c.vetoed)).toMatchObject({ threshold: -0.8 });
  });

  test('spectral: efficiency < 0.3, entropy (feature) > 0.995, Hurst outside [min, max]', () => {
    const f = new SpectralFilter();
    const p = { ...defaults(SpectralFilter), entropy_measure: 'feature' };
    let v = around(f, p, 'efficiency', 0.3, { entropy: 0.5, hurst: 0.5 });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([false, false, true]);
    v = around(f, p, 'entropy', 0.995, { efficiency: 0.5, hurst: 0.5 });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([true, false, false]);
    expect(v.ABOVE!.find((c) => c.vetoed)).toMatchObject({ metric: 'entropy', threshold: 0.995 });
    v = around(f, { ...p, hurst_min: 0.4, hurst_max: 0.6 }, 'hurst', 0.6, { efficiency: 0.5, entropy: 0.5 });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([true, false, false]);
    v = around(f, { ...p, hurst_min: 0.4, hurst_max: 0.6 }, 'hurst', 0.4, { efficiency: 0.5, entropy: 0.5 });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([false, false, true]);
  });

  test('spectral with permutation entropy (the default): computed from the returns, vetoed above 0.995', () => {
    const f = new SpectralFilter();
    const p = defaults(SpectralFilter);
    expect(p).toMatchObject({ entropy_max: 0.995, efficiency_min: 0.3, entropy_measure: 'permutation', entropy_order: 3, entropy_lookback: 60 });
    // A zig-zag has two ordinal patterns (PE = ln 2 / ln 6); a seeded noise series sits near 1.
    const zigzag = Array.from({ length: 61 }, (_, t) => (t % 2 ? 0.01 : -0.01) + t * 1e-6);
    const noise = Array.from({ length: 61 }, (_, t) => Math.sin(t * 12.9898) * 43758.5453 % 1 * 0.02);
    const returns = matrix({ ZIG: zigzag, NOISE: noise });
    const pe = permutationEntropy(noise, 3, 1, 1, 61);
    const features = featureTable({ ZIG: { efficiency: 0.5 }, NOISE: { efficiency: 0.5 } });
    const at = (max: number) => f.evaluate(features, { ...p, entropy_max: max }, context({ returns }));
    expect(at(pe + EPS).NOISE!.some((c) => c.vetoed)).toBe(false);
    expect(at(pe - EPS).NOISE!.find((c) => c.vetoed)).toMatchObject({ metric: 'permutation_entropy_3', threshold: pe - EPS });
    expect(at(pe - EPS).ZIG!.some((c) => c.vetoed)).toBe(false);
    expect(at(0.995).ZIG![0]!.value).toBeCloseTo(Math.log(2) / Math.log(6), 12);
  });

  test('predictability: Hurst inside the random-walk band is vetoed, edges included', () => {
    const f = new PredictabilityFilter();
    const p = { ...defaults(PredictabilityFilter), entropy_measure: 'feature' };
    const base = { efficiency: 0.5, entropy: 0.5 };
    let v = around(f, p, 'hurst', 0.55, base);
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([false, true, true]);
    v = around(f, p, 'hurst', 0.45, base);
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([true, true, false]);
    v = around(f, p, 'efficiency', 0.3, { hurst: 0.7, entropy: 0.5 });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([false, false, true]);
  });

  test('darwinian: missing fraction > 10%, volume < min_volume, history < 60 days, a price that never moves', () => {
    const f = new DarwinianFilter();
    const p = defaults(DarwinianFilter);
    const returns = matrix({ ABOVE: Array(80).fill(0.01), EQUAL: Array(80).fill(0.01), BELOW: Array(80).fill(0.01) });
    let v = around(f, p, 'missing_fraction', 0.1, { dollar_volume: 1e9 }, { returns });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([true, false, false]);
    v = around(f, { ...p, min_volume: 2e7 }, 'dollar_volume', 2e7, { missing_fraction: 0 }, { returns });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([false, false, true]);
    // History: days with a return up to the as-of date.
    const hist = matrix({ D59: [...Array(21).fill(NaN), ...Array(59).fill(0.01)], D60: [...Array(20).fill(NaN), ...Array(60).fill(0.01)] });
    const hv = f.evaluate(featureTable({ D59: { missing_fraction: 0 }, D60: { missing_fraction: 0 } }), p, context({ returns: hist }));
    expect(hv.D59!.find((c) => c.vetoed)).toMatchObject({ metric: 'history_days', value: 59, threshold: 60 });
    expect(vetoed(hv, 'D60')).toBe(false);
    // Strict health: unknown volume is vetoed when a floor is set; the candidate's 24h volume stands in.
    const u = f.evaluate(featureTable({ X: { missing_fraction: 0 }, Y: { missing_fraction: 0 } }), { ...p, min_volume: 1e6, min_history_days: 0 }, context({ raw_pool: [{ symbol: 'Y', volume_24h: 2e6 }] }));
    expect(u.X!.find((c) => c.vetoed)).toMatchObject({ metric: 'dollar_volume', value: null });
    expect(vetoed(u, 'Y')).toBe(false);
    // A price that never moves (volatility 0) is vetoed; the floor is 1e-4 annualised, far below any traded asset.
    expect(p.min_volatility).toBe(1e-4);
    v = around(f, p, 'volatility', 1e-4, { missing_fraction: 0 }, { returns });
    expect([vetoed(v, 'ABOVE'), vetoed(v, 'EQUAL'), vetoed(v, 'BELOW')]).toEqual([false, false, true]);
    const flat = f.evaluate(featureTable({ PEG: { missing_fraction: 0, volatility: 0 }, BTC: { missing_fraction: 0, volatility: 0.6 } }), p, context({ returns: matrix({ PEG: Array(80).fill(0), BTC: Array(80).fill(0.01) }) }));
    expect(flat.PEG!.find((c) => c.vetoed)).toMatchObject({ metric: 'volatility', value: 0, threshold: 1e-4 });
    expect(vetoed(flat, 'BTC')).toBe(false);
    expect(f.hard).toBe(true);
  });

  test('friction: ECI = fixed + sigma_daily sqrt(order / ADV), vetoed above 0.02', () => {
    expect(executionCostIndex({ sigmaDaily: 0.04, adv: 4e6, orderSize: 1e6, fixedCost: 0.0006, impactCoefficient: 1 })).toBeCloseTo(0.0006 + 0.04 * 0.5, 15);
    expect(executionCostIndex({ sigmaDaily: 0.04, adv: 0, orderSize: 1e6, fixedCost: 0.0006, impactCoefficient: 1 })).toBeNaN();
    const f = new FrictionFilter();
    const p = defaults(FrictionFilter);
    expect(p).toEqual({ eci_max: 0.02, order_size: 1e6, fixed_cost: 0.0006, impact_coefficient: 1, lookback: 60 });
    // Alternating +-4%: sample std over 60 days = 0.04 * sqrt(60/59). ADV that puts the ECI exactly at 0.02:
    const r = Array.from({ length: 60 }, (_, t) => (t % 2 ? 0.04 : -0.04));
    const sigma = 0.04 * Math.sqrt(60 / 59);
    const advAt = 1e6 * (sigma / (0.02 - 0.0006)) ** 2;
    const returns = matrix({ THIN: r, EXACT: r, THICK: r });
    const v = f.evaluate(featureTable({ THIN: { dollar_volume: advAt * (1 - 1e-6) }, EXACT: { dollar_volume: advAt }, THICK: { dollar_volume: advAt * (1 + 1e-6) } }), p, context({ returns }));
    expect(v.THIN!.find((c) => c.vetoed)).toMatchObject({ metric: 'eci', threshold: 0.02 });
    expect(v.EXACT![0]!.value).toBeCloseTo(0.02, 12);
    expect(vetoed(v, 'THICK')).toBe(false);
  });
});

describe('relaxation (HTR stage 2)', () => {
  test('soft filters loosen by 20%; entropy ceilings go 0.995 → 0.999; hard filters do not move', () => {
    expect(new SpectralFilter().relax(defaults(SpectralFilter), 0.2)).toMatchObject({ entropy_max: expect.closeTo(0.999, 12), efficiency_min: expect.closeTo(0.24, 12), hurst_min: 0, hurst_max: 1 });
    expect(new FrictionFilter().relax(defaults(FrictionFilter), 0.2)).toMatchObject({ eci_max: expect.closeTo(0.024, 12) });
    expect(new RocFilter().relax(defaults(RocFilter), 0.2)).toMatchObject({ roc_max: expect.closeTo(1.2, 12), roc_min: expect.closeTo(-0.96, 12) });
    const band = new PredictabilityFilter().relax(defaults(PredictabilityFilter), 0.2).hurst_band as number[];
    expect(band[0]).toBeCloseTo(0.46, 12);
    expect(band[1]).toBeCloseTo(0.54, 12);
    expect(new TailRiskFilter().relax(defaults(TailRiskFilter))).toEqual(defaults(TailRiskFilter));
    expect(new DarwinianFilter().relax(defaults(DarwinianFilter))).toEqual(defaults(DarwinianFilter));
  });
});

describe('permutation entropy', () => {
  test('hand values: monotone 0, Bandt-Pompe example (4,7,9,10,6,11,3)', () => {
    expect(permutationEntropy([1, 2, 3, 4, 5, 6], 3)).toBe(0);
    const x = [4, 7, 9, 10, 6, 11, 3];
    expect(permutationEntropy(x, 2)).toBeCloseTo(-(4 / 6 * Math.log(4 / 6) + 2 / 6 * Math.log(2 / 6)) / Math.log(2), 14);
    expect(permutationEntropy(x, 3)).toBeCloseTo(-(2 * 0.4 * Math.log(0.4) + 0.2 * Math.log(0.2)) / Math.log(6), 14);
    expect(permutationEntropy([1, 2], 3)).toBeNaN();
    // NaN is dropped before embedding.
    expect(permutationEntropy([4, NaN, 7, 9, 10, 6, NaN, 11, 3], 3)).toBeCloseTo(permutationEntropy(x, 3), 14);
  });

  test('equals numpy (stable argsort) on real closes', () => {
    const fx = JSON.parse(readFileSync(join(FIXTURE_DIR, 'clusters.json'), 'utf8')).permutation_entropy as { symbol: string; first: string; last: string; order: number; lookback: number; value: number }[];
    expect(fx.length).toBeGreaterThan(0);
    for (const c of fx) {
      const r = cryptoReturns([c.symbol], c.first, c.last).values;
      expect(permutationEntropy(r, c.order, 1, r.length - c.lookback, r.length)).toBeCloseTo(c.value, 12);
    }
  });
});

describe('as-of', () => {
  test('filters that read returns (spectral, friction, darwinian) ignore rows after the as-of date', () => {
    const g = (k: number) => Array.from({ length: 90 }, (_, t) => Math.sin(t * 1.7 + k) * 0.03);
    const clean = matrix({ A: g(1), B: g(2) });
    const asOf = clean.dates[89]!;
    const poisoned = matrix({ A: [...g(1), ...Array(30).fill(50)], B: [...g(2), ...Array(30).fill(NaN)] });
    const features = featureTable({ A: { efficiency: 0.5, dollar_volume: 1e6, missing_fraction: 0 }, B: { efficiency: 0.5, dollar_volume: 1e6, missing_fraction: 0 } });
    const cases: [Filter, Record<string, unknown>][] = [[new SpectralFilter(), defaults(SpectralFilter)], [new FrictionFilter(), defaults(FrictionFilter)], [new DarwinianFilter(), { ...defaults(DarwinianFilter), min_history_days: 90 }]];
    for (const [f, p] of cases) {
      const a = f.evaluate(features, p, context({ returns: clean, as_of: asOf }));
      const b = f.evaluate(features, p, context({ returns: poisoned, as_of: asOf }));
      expect(b).toEqual(a);
      // Reading past the as-of date would change the answer (so this can fail).
      expect(f.evaluate(features, p, context({ returns: poisoned }))).not.toEqual(a);
    }
  });
});

describe('missing features', () => {
  test('a feature the filter needs but feature_engineering did not compute is an error, not a silent pass', () => {
    const features = featureTable({ A: { kurtosis: 3 }, B: { kurtosis: 4 } }); // no volatility column at all
    const run = () => (new TailRiskFilter() as Filter).evaluate(features, defaults(TailRiskFilter), context({}));
    expect(run).toThrow(expect.objectContaining({ code: 'FILTER_FEATURE_MISSING', message: expect.stringContaining("'volatility'") }));
    // A NaN value for one symbol is data, not a missing column: that symbol is judged, the run goes on.
    const partial = featureTable({ A: { kurtosis: 3, volatility: 1 }, B: { kurtosis: 4 } });
    expect(() => (new TailRiskFilter() as Filter).evaluate(partial, defaults(TailRiskFilter), context({}))).not.toThrow();
  });

  test('optional inputs stay optional: darwinian without dollar_volume still judges history', () => {
    const features = featureTable({ A: { missing_fraction: 0 }, B: { missing_fraction: 0.5 } });
    const g = (k: number) => Array.from({ length: 90 }, (_, t) => Math.sin(t * 1.3 + k) * 0.02);
    const v = new DarwinianFilter().evaluate(features, { ...defaults(DarwinianFilter), min_history_days: 60 }, context({ returns: matrix({ A: g(1), B: g(2) }) }));
    expect(vetoed(v, 'A')).toBe(false);
    expect(vetoed(v, 'B')).toBe(true);
  });
});
