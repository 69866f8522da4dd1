/**
 * The rankers' numerics and scoring, checked against independent references: numpy/scipy numbers committed in
 * fixtures/inference/reference.json (generator beside it), hand computations, and constructed markets for the
 * regime detector.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureTable, ReturnsMatrix, SelectionContext } from '../../src/core/context.js';
import { newSelectionContext } from '../../src/core/context.js';
import type { StageEnv } from '../../src/core/plugin.js';
import { REGIME_DEFAULT_WEIGHTS, MPS_DEFAULT_WEIGHTS, resolveFactors, type RankerResult } from '../../stages/inference/ranker.js';
import { CarsRanker, type CarsParams } from '../../stages/inference/rankers/cars.ranker.js';
import { MpsRanker, type MpsParams } from '../../stages/inference/rankers/mps.ranker.js';
import { detectRegime, marketReturns, RegimeRanker, type RegimeParams } from '../../stages/inference/rankers/regime.ranker.js';
import { validParams } from '../plugins/valid-params.js';
import { erf, erfc, erfcx, logNormalCdf, normalCdf, rankAverage, spearman, zscores } from '../../stages/inference/stats.js';

const here = new URL('.', import.meta.url).pathname;
/** Each ranker scoring with its params as validation makes them (the given ones, defaults filled). */
const mps = { score: (f: FeatureTable, p: Partial<MpsParams>, c: SelectionContext, e: StageEnv): RankerResult => new MpsRanker().score(f, validParams<MpsParams>(MpsRanker, p), c, e) };
const cars = { score: (f: FeatureTable, p: Partial<CarsParams>, c: SelectionContext, e: StageEnv): RankerResult => new CarsRanker().score(f, validParams<CarsParams>(CarsRanker, p), c, e) };
const regime = { score: (f: FeatureTable, p: Partial<RegimeParams>, c: SelectionContext, e: StageEnv): RankerResult => new RegimeRanker().score(f, validParams<RegimeParams>(RegimeRanker, p), c, e) };
const ref = JSON.parse(readFileSync(join(here, 'fixtures', 'inference', 'reference.json'), 'utf8'));

const relClose = (actual: number, expected: number, rel: number) => {
  if (expected === 0) expect(Math.abs(actual)).toBeLessThanOrEqual(rel);
  else expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThanOrEqual(rel);
};
const table = (symbols: string[], values: Record<string, (number | null)[]>): FeatureTable => ({
  symbols,
  names: Object.keys(values),
  values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Float64Array.from(v, (x) => (x === null ? NaN : x))])),
});
const env = {} as StageEnv;
const ctx = (): SelectionContext => newSelectionContext('t', {});

describe('normal CDF and error functions', () => {
  test('known values: Φ(1.96), Φ(-1.96), Φ(0), Φ(1.6449) to 1e-15', () => {
    expect(Math.abs(normalCdf(1.96) - 0.9750021048517795)).toBeLessThan(1e-15);
    expect(Math.abs(normalCdf(-1.96) - 0.024997895148220435)).toBeLessThan(1e-16);
    expect(normalCdf(0)).toBe(0.5);
    expect(Math.abs(normalCdf(1.6448536269514722) - 0.95)).toBeLessThan(1e-15);
  });

  test('Φ and log Φ equal 50-digit mpmath to 1e-14 relative (2e-15 in the body), including z = -40 where Φ underflows', () => {
    for (const c of ref.cdf) {
      relClose(normalCdf(c.z), c.cdf, Math.abs(c.z) <= 8 ? 2e-15 : 1e-14);
      relClose(logNormalCdf(c.z), c.log_cdf, 1e-14);
      // scipy (norm.cdf, log_ndtr) agrees to its own accuracy.
      relClose(normalCdf(c.z), c.scipy_cdf, 1e-13);
      expect(Number.isFinite(logNormalCdf(c.z))).toBe(true);
    }
  });

  test('erf, erfc and erfcx equal 50-digit mpmath to 1e-14 relative', () => {
    for (const c of ref.erf) {
      relClose(erf(c.x), c.erf, 1e-14);
      if (c.x <= 26) relClose(erfc(c.x), c.erfc, 1e-13);
      else expect(erfc(c.x)).toBeLessThan(1e-300);
      relClose(erfcx(c.x), c.erfcx, 1e-14);
    }
  });
});

describe('z-scores, ranks and Spearman', () => {
  test('z-scores by hand: [1, 2, 3] gives -1, 0, 1 with ddof 1 and ±sqrt(3/2) with ddof 0; NaN stays NaN', () => {
    expect([...zscores(Float64Array.of(1, NaN, 2, 3))]).toEqual([-1, NaN, 0, 1]);
    const z0 = zscores(Float64Array.of(1, 2, 3), 0);
    expect(z0[0]).toBeCloseTo(-Math.sqrt(1.5), 14);
    expect(z0[2]).toBeCloseTo(Math.sqrt(1.5), 14);
    // A constant factor distinguishes no one.
    expect([...zscores(Float64Array.of(4, 4, 4))]).toEqual([0, 0, 0]);
  });

  test('average ranks equal scipy.stats.rankdata(method="average"), ties included', () => {
    for (const c of ref.rankdata) expect([...rankAverage(Float64Array.from(c.x))]).toEqual(c.ranks);
    expect([...rankAverage(Float64Array.of(2, NaN, 1))]).toEqual([2, NaN, 1]);
  });

  test('Spearman equals scipy.stats.spearmanr to 1e-14', () => {
    expect(spearman(Float64Array.from(ref.spearman.a), Float64Array.from(ref.spearman.b))).toBeCloseTo(ref.spearman.rho, 14);
    expect(spearman(Float64Array.of(1, 2, 3), Float64Array.of(3, 2, 1))).toBeCloseTo(-1, 15);
  });
});

describe('mps (Log-MPS)', () => {
  const s = ref.mps_small;
  const features = table(s.symbols, s.values);

  test('by hand: 3 symbols, one factor, z = -1, 0, 1 → conviction = w log Φ(z)', () => {
    const f = table(['A', 'B', 'C'], { momentum: [1, 2, 3] });
    const r = mps.score(f, { weights: { momentum: 2 }, merge_defaults: false }, ctx(), env);
    expect(r.conviction[0]).toBeCloseTo(2 * Math.log(0.15865525393145707), 14);
    expect(r.conviction[1]).toBeCloseTo(2 * Math.log(0.5), 14);
    expect(r.conviction[2]).toBeCloseTo(2 * Math.log(0.8413447460685429), 14);
  });

  test('4 symbols × 2 factors (momentum up, volatility down) equal the numpy/scipy reference, factor by factor', () => {
    const r = mps.score(features, { weights: s.weights, merge_defaults: false }, ctx(), env);
    s.conviction.forEach((c: number, i: number) => expect(r.conviction[i]).toBeCloseTo(c, 13));
    for (const f of ['momentum', 'volatility']) s.factors[f].contribution.forEach((c: number, i: number) => expect(r.details!.contributions![f][i]).toBeCloseTo(c, 13));
    expect(r.details!.factors).toEqual({ momentum: { weight: 1.5, direction: 1, missing: 0 }, volatility: { weight: 1, direction: -1, missing: 0 } });
    // Higher momentum and lower volatility win: DDD (0.15, 0.60) beats AAA (0.10, 0.50) here, CCC is last.
    const order = [...r.conviction.keys()].sort((a, b) => r.conviction[b] - r.conviction[a]).map((i) => s.symbols[i]);
    expect(order).toEqual(['DDD', 'AAA', 'BBB', 'CCC']);
  });

  test('ddof 0 (scipy zscore) is a param', () => {
    const r = mps.score(features, { weights: s.weights, merge_defaults: false, ddof: 0 }, ctx(), env);
    s.conviction_ddof0.forEach((c: number, i: number) => expect(r.conviction[i]).toBeCloseTo(c, 13));
  });

  test("missing values: 'neutral' scores the gap at log 0.5, 'rescale' on the factors the symbol has", () => {
    const m = ref.mps_missing;
    const f = table(m.symbols, m.values);
    const neutral = mps.score(f, { weights: m.weights, merge_defaults: false }, ctx(), env);
    m.neutral.forEach((c: number, i: number) => expect(neutral.conviction[i]).toBeCloseTo(c, 13));
    expect(neutral.details!.contributions!.volatility[2]).toBeCloseTo(Math.log(0.5), 15);
    expect(neutral.details!.factors.volatility.missing).toBe(1);
    const rescale = mps.score(f, { weights: m.weights, merge_defaults: false, missing: 'rescale' }, ctx(), env);
    m.rescale.forEach((c: number, i: number) => expect(rescale.conviction[i]).toBeCloseTo(c, 13));
    // The neutral policy is what z = 0 would give: filling the gap with the mean of the others changes nothing.
    const vol = m.values.volatility.filter((v: number | null) => v !== null) as number[];
    const filled = table(m.symbols, { ...m.values, volatility: m.values.volatility.map((v: number | null) => v ?? vol.reduce((a, b) => a + b, 0) / vol.length) });
    const byMean = mps.score(filled, { weights: m.weights, merge_defaults: false }, ctx(), env);
    // Same contribution for the filled symbol (its z is 0), though the others' z move with the smaller spread.
    expect(byMean.details!.contributions!.volatility[2]).toBeCloseTo(Math.log(0.5), 14);
  });

  test('given weights merge over the defaults (the seed shorthand { momentum: 1.5 }); 0 drops a factor; false uses them alone', () => {
    const names = Object.keys(MPS_DEFAULT_WEIGHTS);
    const f = table(['A', 'B', 'C', 'D'], Object.fromEntries(names.map((k, j) => [k, [1 + j, 3, 2 * j, 5]])));
    const merged = mps.score(f, { weights: { momentum: 1.5, adx: 0 } }, ctx(), env);
    expect(merged.details!.factors.momentum.weight).toBe(1.5);
    expect(merged.details!.factors.efficiency.weight).toBe(MPS_DEFAULT_WEIGHTS.efficiency);
    expect(merged.details!.factors.adx).toBeUndefined();
    expect(merged.details!.skipped).toEqual([{ factor: 'adx', reason: 'weight 0' }]);
    const alone = mps.score(f, { weights: { momentum: 1.5 }, merge_defaults: false }, ctx(), env);
    expect(Object.keys(alone.details!.factors)).toEqual(['momentum']);
    const defaults = mps.score(f, {}, ctx(), env);
    expect(Object.keys(defaults.details!.factors).sort()).toEqual(names.sort());
    // Directions: entropy, volatility, kurtosis and drawdown depth are lower-is-better by default.
    for (const k of ['entropy', 'volatility', 'kurtosis', 'max_drawdown']) expect(defaults.details!.factors[k].direction).toBe(-1);
    for (const k of ['momentum', 'efficiency', 'adx', 'cvar_95', 'skew']) expect(defaults.details!.factors[k].direction).toBe(1);
  });

  test('a factor the table lacks: an error with a did-you-mean when the user named it, skipped when only a default', () => {
    const f = table(['A', 'B', 'C'], { momentum: [1, 2, 3], volatility: [0.3, 0.2, 0.1] });
    expect(() => mps.score(f, { weights: { momentm: 1 } }, ctx(), env)).toThrow(expect.objectContaining({ code: 'RANKER_UNKNOWN_FACTOR', message: expect.stringContaining("'momentm'"), hint: expect.stringContaining("Did you mean 'momentum'") }));
    const r = mps.score(f, {}, ctx(), env);
    expect(Object.keys(r.details!.factors).sort()).toEqual(['momentum', 'volatility']);
    expect(r.details!.skipped.map((s) => s.factor)).toContain('entropy');
    // A factor nobody has (ADX without bars) is skipped, not scored as a constant.
    const noAdx = table(['A', 'B'], { momentum: [1, 2], adx: [null, null] });
    expect(mps.score(noAdx, {}, ctx(), env).details!.skipped).toContainEqual({ factor: 'adx', reason: 'no symbol has a value' });
    expect(() => resolveFactors('mps', table(['A'], { hurst: [0.5] }), MPS_DEFAULT_WEIGHTS, undefined, true, undefined)).toThrow(expect.objectContaining({ code: 'RANKER_NO_FACTORS' }));
  });

  test('directions param flips a factor, z_clip bounds the pull of an outlier', () => {
    const f = table(['A', 'B', 'C'], { momentum: [1, 2, 3] });
    const flipped = mps.score(f, { weights: { momentum: 1 }, merge_defaults: false, directions: { momentum: -1 } }, ctx(), env);
    expect(flipped.conviction[0]).toBeCloseTo(Math.log(0.8413447460685429), 14);
    const big = table(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'], { momentum: [0, 0, 0, 0, 0, 0, 0, 0, 0, 100] });
    const clipped = mps.score(big, { weights: { momentum: 1 }, merge_defaults: false, directions: { momentum: -1 }, z_clip: 2 }, ctx(), env);
    expect(clipped.conviction[9]).toBeCloseTo(logNormalCdf(-2), 14);
  });
});

describe('cars (additive rank-sum)', () => {
  const c = ref.cars;
  const f = table(c.symbols, c.values);
  test('raw rank-sum with ties averaged equals the scipy rankdata reference', () => {
    const r = cars.score(f, { weights: c.weights, merge_defaults: false, normalize: false }, ctx(), env);
    expect([...r.conviction]).toEqual(c.raw);
  });
  test('normalised: each rank to (rank - 1) / (n - 1), divided by the total weight, in [0, 1]', () => {
    const r = cars.score(f, { weights: c.weights, merge_defaults: false }, ctx(), env);
    c.normalized.forEach((v: number, i: number) => expect(r.conviction[i]).toBeCloseTo(v, 15));
    // By hand for AAA: momentum rank 4.5 of 5 → 0.875, volatility rank 3 → 0.5: (2 × 0.875 + 0.5) / 3 = 0.75.
    expect(r.conviction[0]).toBeCloseTo(0.75, 15);
  });
  test('a missing value takes the middle rank; the defaults are CARS 2.1 (momentum against drawdown risk)', () => {
    const g = table(['A', 'B', 'C'], { momentum: [3, null, 1] });
    const r = cars.score(g, { weights: { momentum: 1 }, merge_defaults: false, normalize: false }, ctx(), env);
    expect([...r.conviction]).toEqual([2, 1.5, 1]);
    const n = cars.score(g, { weights: { momentum: 1 }, merge_defaults: false }, ctx(), env);
    expect([...n.conviction]).toEqual([1, 0.5, 0]);
    const d = cars.score(table(['A', 'B'], { momentum: [1, 2], volatility: [1, 2], max_drawdown: [0.1, 0.2], cvar_95: [-0.1, -0.2], efficiency: [0.5, 0.4] }), {}, ctx(), env);
    expect(Object.keys(d.details!.factors).sort()).toEqual(['cvar_95', 'efficiency', 'max_drawdown', 'momentum', 'volatility']);
  });
});

/** A market of `n` symbols that all return `f(t)` each day (the equal-weight mean is then f(t) itself). */
function market(days: number, n: number, f: (t: number, j: number) => number): ReturnsMatrix {
  const values = new Float64Array(days * n);
  for (let j = 0; j < n; j++) for (let t = 0; t < days; t++) values[j * days + t] = f(t, j);
  return { dates: Int32Array.from({ length: days }, (_, t) => 19000 + t), symbols: Array.from({ length: n }, (_, j) => `S${j}`), values };
}
const thresholds = { volatilityLookback: 20, drawdownLookback: 20, turbulentVolatility: 0.6, crisisDrawdown: -0.3, periodsPerYear: 365 };
const sampleVol = (x: number[]) => {
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
};

describe('regime: the MarketRegimeDetector on constructed markets', () => {
  test('calm (±0.5% a day): NORMAL, volatility = sample std × sqrt(365)', () => {
    const r = detectRegime(market(60, 4, (t) => (t % 2 ? 0.005 : -0.005)), thresholds);
    expect(r.regime).toBe('NORMAL');
    const last20 = Array.from({ length: 20 }, (_, k) => ((40 + k) % 2 ? 0.005 : -0.005));
    expect(r.volatility).toBeCloseTo(sampleVol(last20) * Math.sqrt(365), 14);
    expect(r.volatility_days).toBe(20);
  });

  test('high volatility (±5% a day), no deep drawdown: TURBULENT', () => {
    const r = detectRegime(market(60, 4, (t) => (t % 2 ? 0.05 : -0.05)), thresholds);
    expect(r.regime).toBe('TURBULENT');
    expect(r.volatility).toBeGreaterThan(0.6);
    expect(r.drawdown).toBeGreaterThan(-0.3);
  });

  test('a steady slide (-2% a day, almost no volatility): CRISIS by drawdown, 0.98^20 - 1', () => {
    const r = detectRegime(market(60, 4, (t) => (t < 40 ? 0.001 : -0.02)), thresholds);
    expect(r.regime).toBe('CRISIS');
    expect(r.drawdown).toBeCloseTo(0.98 ** 20 - 1, 12);
    expect(r.volatility).toBeLessThan(0.01);
  });

  test('a crash before the window does not count; a shorter slide in a longer drawdown window does', () => {
    const crashThenCalm = market(80, 3, (t) => (t < 30 ? -0.03 : t % 2 ? 0.004 : -0.004));
    expect(detectRegime(crashThenCalm, thresholds).regime).toBe('NORMAL');
    expect(detectRegime(crashThenCalm, { ...thresholds, drawdownLookback: 80 }).regime).toBe('CRISIS');
  });

  test('market = equal-weight mean of the returns each symbol has that day (NaN left out)', () => {
    const m = market(3, 3, (t, j) => (j === 2 && t === 1 ? NaN : [0.01, 0.02, 0.06][j] * (t + 1)));
    const mr = marketReturns(m, 3);
    expect(mr.returns[0]).toBeCloseTo((0.01 + 0.02 + 0.06) / 3, 15);
    expect(mr.returns[1]).toBeCloseTo((0.02 + 0.04) / 2, 15);
    expect(mr.days).toEqual([19000, 19001, 19002]);
  });

  test('the ranker scores with the regime\'s weights (defaults, then `weights`, then `regime_weights`) and reports the regime', () => {
    const returns = market(40, 3, (t) => (t < 20 ? 0.001 : -0.025));
    const c = { ...ctx(), returns };
    const f = table(['S0', 'S1', 'S2'], { momentum: [0.1, 0.2, 0.3], volatility: [0.5, 0.2, 0.9], max_drawdown: [0.1, 0.4, 0.2] });
    const r = regime.score(f, { periods_per_year: 365 }, c, env);
    expect(r.regime).toBe('CRISIS');
    expect(r.details!.factors.momentum.weight).toBe(REGIME_DEFAULT_WEIGHTS.CRISIS.momentum);
    expect(r.details!.factors.volatility.weight).toBe(REGIME_DEFAULT_WEIGHTS.CRISIS.volatility);
    // Its conviction is MPS with the CRISIS weights.
    // (the regime defaults name factors this table lacks: the ranker skips them; MPS is given only the ones it has)
    const crisisHere = Object.fromEntries(Object.entries(REGIME_DEFAULT_WEIGHTS.CRISIS).filter(([k]) => f.names.includes(k)));
    const mps2 = mps.score(f, { weights: crisisHere, merge_defaults: false }, c, env);
    r.conviction.forEach((v, i) => expect(v).toBeCloseTo(mps2.conviction[i], 14));
    const over = regime.score(f, { periods_per_year: 365, weights: { momentum: 3 }, regime_weights: { CRISIS: { volatility: 7 }, NORMAL: { volatility: 9 } } }, c, env);
    expect(over.details!.factors.momentum.weight).toBe(3);
    expect(over.details!.factors.volatility.weight).toBe(7);
    expect(over.details!.factors.max_drawdown.weight).toBe(REGIME_DEFAULT_WEIGHTS.CRISIS.max_drawdown);
    // Thresholds are params: the same market read with a deeper crisis threshold is not CRISIS.
    expect(regime.score(f, { periods_per_year: 365, crisis_drawdown: -0.9, turbulent_volatility: 5 }, c, env).regime).toBe('NORMAL');
  });
});
