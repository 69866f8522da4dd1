import {
  adxSeries,
  binnedEntropy,
  computeFeatures,
  conditionalValueAtRisk,
  efficiencyRatio,
  excessKurtosis,
  FEATURE_NAMES,
  histogramCounts,
  hurstExponent,
  maxDrawdown,
  momentum,
  skewness,
  type SymbolFeatures,
} from '../../src/math/features.js';
import { gaussian, readCryptoCsv, readFixture, seededRandom } from './helpers.js';

interface FeatureCase {
  symbol: string;
  lookback: number;
  end: number;
  expected: Partial<SymbolFeatures>;
}
const reference = readFixture<{
  periodsPerYear: number;
  crypto: FeatureCase[];
  synthetic: { returns: (number | null)[]; lookback: number; expected: Partial<SymbolFeatures> };
  cvar: { returns: number[]; cvar95: number }[];
}>('features_reference.json');

function expectFeaturesClose(actual: SymbolFeatures, expected: Partial<SymbolFeatures>): void {
  for (const [name, value] of Object.entries(expected) as [keyof SymbolFeatures, number][]) {
    const scale = Math.max(1, Math.abs(value));
    expect({ name, error: Math.abs(actual[name] - value) / scale < 1e-10 }).toEqual({ name, error: true });
  }
}

describe('real Binance daily bars against numpy/scipy (make_feature_fixtures.py)', () => {
  test.each(reference.crypto.map((c) => [`${c.symbol} lookback ${c.lookback} end ${c.end}`, c] as const))('%s', (_label, c) => {
    const bars = readCryptoCsv(c.symbol);
    const returns = Float64Array.from(bars.close, (close, t) => (t === 0 ? NaN : close / bars.close[t - 1]! - 1));
    const features = computeFeatures(
      { returns, close: bars.close, high: bars.high, low: bars.low, volume: bars.volume },
      { lookback: c.lookback, end: c.end, periodsPerYear: reference.periodsPerYear },
    );
    expect(Object.keys(features).sort()).toEqual([...FEATURE_NAMES].sort());
    expectFeaturesClose(features, c.expected);
  });

  test('nothing after `end` is read: changing later bars leaves the features unchanged', () => {
    const bars = readCryptoCsv('BTCUSDT');
    const returns = Float64Array.from(bars.close, (close, t) => (t === 0 ? NaN : close / bars.close[t - 1]! - 1));
    const options = { lookback: 60, end: 500, periodsPerYear: 365 };
    const before = computeFeatures({ returns, close: bars.close, high: bars.high, low: bars.low, volume: bars.volume }, options);
    for (const column of [returns, bars.close, bars.high, bars.low, bars.volume]) column.fill(NaN, 500);
    expect(computeFeatures({ returns, close: bars.close, high: bars.high, low: bars.low, volume: bars.volume }, options)).toEqual(before);
  });

  test('synthetic fat-tailed returns with 25 gaps and no prices', () => {
    const returns = Float64Array.from(reference.synthetic.returns, (v) => v ?? NaN);
    const features = computeFeatures({ returns }, { lookback: reference.synthetic.lookback, periodsPerYear: 365 });
    expectFeaturesClose(features, reference.synthetic.expected);
    expect(features.adx).toBeNaN();
    expect(features.dollarVolume).toBeNaN();
  });
});

describe('ADX (Wilder, 14)', () => {
  // StockCharts ChartSchool ADX worked example data (cs-adx.xls) with the full-precision values published in the
  // technicalindicators test suite (test/directionalmovement/ADX.js; 5 decimals, and that library rounds some
  // intermediates, so agreement is to 1e-5 rather than to the last printed digit).
  const high = [30.2, 30.28, 30.45, 29.35, 29.35, 29.29, 28.83, 28.73, 28.67, 28.85, 28.64, 27.68, 27.21, 26.87, 27.41, 26.94, 26.52, 26.52, 27.09, 27.69, 28.45, 28.53, 28.67, 29.01, 29.87, 29.8, 29.75, 30.65, 30.6, 30.76, 31.17, 30.89, 30.04, 30.66, 30.6, 31.97, 32.1, 32.03, 31.63, 31.85, 32.71, 32.76, 32.58, 32.13, 33.12, 33.19, 32.52];
  const low = [29.41, 29.32, 29.96, 28.74, 28.56, 28.41, 28.08, 27.43, 27.66, 27.83, 27.4, 27.09, 26.18, 26.13, 26.63, 26.13, 25.43, 25.35, 25.88, 26.96, 27.14, 28.01, 27.88, 27.99, 28.76, 29.14, 28.71, 28.93, 30.03, 29.39, 30.14, 30.43, 29.35, 29.99, 29.52, 30.94, 31.54, 31.36, 30.92, 31.2, 32.13, 32.23, 31.97, 31.56, 32.21, 32.63, 31.76];
  const close = [29.87, 30.24, 30.1, 28.9, 28.92, 28.48, 28.56, 27.56, 28.47, 28.28, 27.49, 27.23, 26.35, 26.33, 27.03, 26.22, 26.01, 25.46, 27.03, 27.45, 28.36, 28.43, 27.95, 29.01, 29.38, 29.36, 28.91, 30.61, 30.05, 30.19, 31.12, 30.54, 29.78, 30.04, 30.49, 31.47, 32.05, 31.97, 31.13, 31.66, 32.64, 32.59, 32.19, 32.1, 32.93, 33, 31.94];
  const published = [33.70789, 32.25668, 30.01835, 28.43901, 26.97249, 25.84732, 24.01791, 22.85086, 22.12975, 21.5787, 20.84157, 19.61908, 18.72578, 18.75196, 18.82257, 18.52094, 17.68461, 17.90759, 18.17858, 17.28769];
  // StockCharts' own sheet rounds intermediates to 2 decimals; its first ADX is 33.58, within 0.2 of ours.
  test('matches the published series from bar 27 on, NaN before', () => {
    const adx = adxSeries(high, low, close, 14);
    expect(Array.from(adx.subarray(0, 27)).every(Number.isNaN)).toBe(true);
    Array.from(adx.subarray(27)).forEach((value, i) => expect(Math.abs(value - published[i]!)).toBeLessThan(1e-5));
    expect(Math.abs(adx[27]! - 33.58)).toBeLessThan(0.2);
  });
});

describe('moments, tail and drawdown by hand', () => {
  test('skew and kurtosis of 1..5 and of a hand example', () => {
    expect(skewness([1, 2, 3, 4, 5])).toBeCloseTo(0, 15);
    // 1,2,3,4,5: m2 = 10, m4 = 34 -> G2 = 5*6*4*34/(3*2*100) - 3*16/6 = 6.8 - 8 = -1.2
    expect(excessKurtosis([1, 2, 3, 4, 5])).toBeCloseTo(-1.2, 13);
    // 0,0,0,3: mean 0.75, m2 = 6.75, m3 = 3*(-0.75)^3 + 2.25^3 = 10.125 -> G1 = 4*sqrt(3)/2 * 10.125/6.75^1.5 = 2
    expect(skewness([0, 0, 0, 3])).toBeCloseTo(2, 13);
    expect(skewness([0.01, 0.01, 0.01])).toBe(0);
    expect(excessKurtosis([1, 2, 3])).toBeNaN();
  });
  test('CVaR 95% against the skfolio formula on sizes below, at and between integer tails', () => {
    for (const { returns, cvar95 } of reference.cvar) expect(conditionalValueAtRisk(returns)).toBeCloseTo(cvar95, 14);
    // 40 returns -1..-40 %: the worst 2 are -40 % and -39 %.
    const r = Array.from({ length: 40 }, (_, i) => -(i + 1) / 100);
    expect(conditionalValueAtRisk(r)).toBeCloseTo(-0.395, 15);
  });
  test('max drawdown and momentum', () => {
    // equity 1 -> 1.1 -> 0.55 -> 0.605 -> 1.21: worst 1 - 0.55/1.1 = 0.5; compounded 1.1*0.5*1.1*2 - 1 = 0.21
    expect(maxDrawdown([0.1, -0.5, 0.1, 1])).toBeCloseTo(0.5, 15);
    expect(momentum([0.1, -0.5, NaN, 0.1, 1])).toBeCloseTo(0.21, 14);
    expect(maxDrawdown([0.01, 0.02])).toBe(0);
  });
  test('efficiency ratio', () => {
    expect(efficiencyRatio([1, 2, 3, 4])).toBe(1);
    expect(efficiencyRatio([10, 11, 10, 11])).toBeCloseTo(1 / 3, 15);
    expect(efficiencyRatio([5, 5, 5])).toBe(0);
  });
});

describe('entropy', () => {
  test('histogram counts equal numpy.histogram on edge values', () => {
    // numpy.histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], bins=10) -> [1]*9 + [2]
    expect(Array.from(histogramCounts(Float64Array.from({ length: 11 }, (_, i) => i), 10))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
  });
  test('one occupied bin gives 0, equally filled bins give 1, two equal halves give ln 2 / ln 10', () => {
    expect(binnedEntropy([0.01, 0.01, 0.01, 0.01])).toBe(0);
    expect(binnedEntropy(Array.from({ length: 100 }, (_, i) => (i % 10) / 10 + 0.05))).toBeCloseTo(1, 14);
    expect(binnedEntropy([0, 0, 1, 1])).toBeCloseTo(Math.log(2) / Math.log(10), 15);
  });
  test('uniform noise is near 1', () => {
    const random = seededRandom(5);
    const e = binnedEntropy(Array.from({ length: 5000 }, random));
    expect(e).toBeGreaterThan(0.99);
    expect(e).toBeLessThanOrEqual(1);
  });
});

describe('Hurst exponent (R/S)', () => {
  const normal = gaussian(seededRandom(3));
  const noise = (n: number) => Array.from({ length: n }, normal);
  test('random-walk increments are near 0.5', () => {
    const estimates = [1, 2, 3, 4].map(() => hurstExponent(noise(4096)));
    const average = estimates.reduce((a, b) => a + b, 0) / estimates.length;
    expect(Math.abs(average - 0.5)).toBeLessThan(0.08);
  });
  test('persistent (trending) increments are above 0.5, anti-persistent below', () => {
    const e = noise(4096 + 20);
    const persistent = Array.from({ length: 4096 }, (_, t) => e.slice(t, t + 20).reduce((a, b) => a + b, 0));
    const antiPersistent = Array.from({ length: 4096 }, (_, t) => e[t + 1]! - e[t]!);
    expect(hurstExponent(persistent)).toBeGreaterThan(0.75);
    expect(hurstExponent(antiPersistent)).toBeLessThan(0.4);
  });
  test('too short gives NaN', () => {
    expect(hurstExponent(noise(15))).toBeNaN();
    expect(hurstExponent(noise(16))).not.toBeNaN();
  });
});
