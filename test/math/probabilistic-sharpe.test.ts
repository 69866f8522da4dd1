/**
 * Φ, Φ⁻¹, PSR and DSR against published values (scipy's, the papers' examples as pypbo's and mlfinlab's tests
 * encode them, the research note's crypto table) and against an independent implementation written here: Φ by
 * Simpson integration of the density, Φ⁻¹ by bisection on it, moments from raw power sums.
 *
 * "The research note": the reference values a session computed with independent Python implementations (numpy,
 * scipy; arch for the bootstrap) when this test was written, kept in its notes, not in the repository; a review on
 * 2026-12-01 reproduced every one of them with implementations of its own (docs/tournaments.md).
 */
import { normalCdf, normalQuantile } from '../../src/math/normal.js';
import { deflatedSharpe, deflatedThreshold, expectedMaxZ, minTrackRecordLength, probabilisticSharpe, sampleMoments, sharpeVariance } from '../../src/math/probabilistic-sharpe.js';
import { alignedCryptoReturns } from './stats-helpers.js';

/** Φ by composite Simpson integration of the standard normal density over [0, z] (independent of Hart/West). */
function phiByIntegration(z: number): number {
  const steps = 1000;
  const h = z / steps;
  const f = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  let s = f(0) + f(z);
  for (let i = 1; i < steps; i++) s += (i % 2 ? 4 : 2) * f(i * h);
  return 0.5 + (s * h) / 3;
}
const quantileByBisection = (p: number) => {
  let lo = -12;
  let hi = 12;
  for (let i = 0; i < 42; i++) {
    const mid = (lo + hi) / 2;
    if (phiByIntegration(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
};
/** Skewness and raw kurtosis from raw power sums (a different route than central sums). */
function momentsByPowerSums(x: ArrayLike<number>) {
  const n = x.length;
  let s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  for (let i = 0; i < n; i++) {
    s1 += x[i];
    s2 += x[i] ** 2;
    s3 += x[i] ** 3;
    s4 += x[i] ** 4;
  }
  const m = s1 / n;
  const m2 = s2 / n - m * m;
  const m3 = s3 / n - 3 * m * (s2 / n) + 2 * m ** 3;
  const m4 = s4 / n - 4 * m * (s3 / n) + 6 * m * m * (s2 / n) - 3 * m ** 4;
  const sd = Math.sqrt((m2 * n) / (n - 1));
  return { sharpe: m / sd, skew: m3 / m2 ** 1.5, kurtosis: m4 / (m2 * m2) };
}
const psrIndependent = (sr: number, n: number, g3: number, g4: number, star = 0) => phiByIntegration(((sr - star) * Math.sqrt(n - 1)) / Math.sqrt(1 - g3 * sr + ((g4 - 1) / 4) * sr * sr));
const gammaEm = 0.5772156649015329;
const emaxIndependent = (N: number) => (1 - gammaEm) * quantileByBisection(1 - 1 / N) + gammaEm * quantileByBisection(1 - 1 / (N * Math.E));

describe('the standard normal', () => {
  test.each([
    [-8, 6.22096057427174e-16], [-3, 0.0013498980316300933], [-1.5, 0.06680720126885807], [-0.3, 0.3820885778110474], [0, 0.5],
    [0.7, 0.758036347776927], [1.96, 0.9750021048517795], [2.5, 0.9937903346742238], [4, 0.9999683287581669], [7.5, 0.9999999999999681],
  ])('Φ(%p) as scipy.stats.norm.cdf', (z, want) => {
    expect(Math.abs(normalCdf(z) - want)).toBeLessThan(1e-15 + 1e-13 * want);
    expect(Math.abs(normalCdf(z) - phiByIntegration(z))).toBeLessThan(1e-11);
  });
  test.each([
    [1e-10, -6.361340902404056], [0.001, -3.090232306167813], [0.025, -1.9599639845400545], [0.2, -0.8416212335729142], [0.5, 0],
    [0.8, 0.8416212335729143], [0.975, 1.959963984540054], [0.99, 2.3263478740408408], [1 - 1e-9, 5.997807019601637],
  ])('Φ⁻¹(%p) as scipy.stats.norm.ppf', (p, want) => {
    expect(Math.abs(normalQuantile(p) - want)).toBeLessThan(1e-13 * Math.max(1, Math.abs(want)));
  });
  test('Φ(Φ⁻¹(p)) = p, and the edges', () => {
    for (let p = 0.0005; p < 1; p += 0.0173) expect(Math.abs(normalCdf(normalQuantile(p)) - p)).toBeLessThan(1e-14);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(1.2)).toBeNaN();
    expect(normalCdf(NaN)).toBeNaN();
  });
});

describe('PSR and DSR: the published examples', () => {
  test('PSR, "The Sharpe Ratio Efficient Frontier" example (pypbo test_psr): 0.91323430688486018', () => {
    const sr = 1.585 / Math.sqrt(12);
    expect(Math.abs(probabilisticSharpe(sr, 24, -2.448, 10.164) - 0.91323430688486018)).toBeLessThan(1e-13);
    expect(Math.abs(psrIndependent(sr, 24, -2.448, 10.164) - 0.91323430688486018)).toBeLessThan(1e-10);
    // With normal moments it is higher: the negative skew and fat tails widen the Sharpe's standard error.
    expect(probabilisticSharpe(sr, 24, 0, 3)).toBeCloseTo(0.98159124, 8);
  });
  test('PSR 1.14 against 1, n = 250, normal (mlfinlab): 0.95727', () => {
    expect(probabilisticSharpe(1.14, 250, 0, 3, 1)).toBeCloseTo(0.957278, 6);
  });
  test('E[max] for N = 100 (pypbo): 2.5306028932016846; and the approximation against its own bisection', () => {
    expect(Math.abs(expectedMaxZ(100) - 2.5306028932016846)).toBeLessThan(1e-12);
    for (const N of [2, 5, 10, 24, 1000]) expect(Math.abs(expectedMaxZ(N) - emaxIndependent(N))).toBeLessThan(1e-9);
    expect(expectedMaxZ(1)).toBe(0);
  });
  test('DSR, "The Deflated Sharpe Ratio" example (pypbo test_dsr): SR0 0.1131720019 a day, DSR 0.90039683444939034', () => {
    const V = 0.5 / 250;
    expect(deflatedThreshold(100, V)).toBeCloseTo(0.1131720019, 9);
    const dsr = deflatedSharpe(2.5 / Math.sqrt(250), 1250, -3, 10, 100, V);
    expect(Math.abs(dsr - 0.90039683444939034)).toBeLessThan(1e-12);
    expect(Math.abs(psrIndependent(2.5 / Math.sqrt(250), 1250, -3, 10, Math.sqrt(V) * emaxIndependent(100)) - dsr)).toBeLessThan(1e-9);
  });
  test('DSR with trials [3.5, 1.01, 1.02] (mlfinlab, ddof 0 there): 0.95836; ddof 1 here gives 0.152375', () => {
    const t = [3.5, 1.01, 1.02];
    const m = t.reduce((a, b) => a + b) / 3;
    const v0 = t.reduce((a, b) => a + (b - m) ** 2, 0) / 3;
    expect(probabilisticSharpe(1.14, 250, 0, 3, Math.sqrt(v0) * expectedMaxZ(3))).toBeCloseTo(0.958366, 6);
    expect(deflatedSharpe(1.14, 250, 0, 3, 3, sharpeVariance(t))).toBeCloseTo(0.152375, 6);
  });
  test('MinTRL (pypbo test_minTRL, in years)', () => {
    expect(minTrackRecordLength(2 / Math.sqrt(250), 0, 3, 1 / Math.sqrt(250)) / 250).toBeCloseTo(2.7311878017281761, 10);
    expect(minTrackRecordLength(2 / Math.sqrt(52), 0, 3, 1 / Math.sqrt(52)) / 52).toBeCloseTo(2.8288335869452368, 10);
    expect(minTrackRecordLength(3 / Math.sqrt(12), -0.72, 5.78, 2.5 / Math.sqrt(12)) / 12).toBeCloseTo(27.352920196040301, 8);
  });
});

describe('PSR and DSR on the crypto data (research note §5-6: BTC, ETH, SOL, BNB and EW4, n = 998)', () => {
  const { names, columns } = alignedCryptoReturns(['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT'], true);
  const want: Record<string, [number, number, number, number, number]> = {
    // sharpe per day, skew (population), raw kurtosis (population), PSR(0), DSR (N = 5, V ddof 1)
    BTCUSDT: [0.05861762, 0.06948843, 7.15618642, 0.9678249263, 0.9197091902],
    ETHUSDT: [0.02971522, 0.22837237, 7.99103797, 0.8265800192, 0.6888739299],
    SOLUSDT: [0.05589137, 0.21253971, 10.6809653, 0.9615205254, 0.9067064294],
    BNBUSDT: [0.04374741, 0.15599648, 8.1882036, 0.9167720377, 0.8253696231],
    EW4: [0.05406469, -0.21464495, 8.30100374, 0.9547562055, 0.8942899046],
  };
  const moments = columns.map(sampleMoments);
  const V = sharpeVariance(moments.map((m) => m.sharpe));
  test('the trials\' Sharpe variance and SR0', () => {
    expect(V).toBeCloseTo(1.4084416595e-4, 13);
    expect(deflatedThreshold(5, V)).toBeCloseTo(0.0141534414, 9);
  });
  test.each(names.map((n, j) => [n, j] as const))('%s', (name, j) => {
    const m = moments[j];
    const [sr, g3, g4, psr, dsr] = want[name];
    expect(m.n).toBe(998);
    expect(m.sharpe).toBeCloseTo(sr, 8);
    expect(m.skew).toBeCloseTo(g3, 8);
    expect(m.kurtosis).toBeCloseTo(g4, 7);
    const ind = momentsByPowerSums(columns[j]);
    expect(Math.abs(ind.skew - m.skew)).toBeLessThan(1e-9);
    expect(Math.abs(ind.kurtosis - m.kurtosis)).toBeLessThan(1e-8);
    expect(probabilisticSharpe(m.sharpe, m.n, m.skew, m.kurtosis)).toBeCloseTo(psr, 10);
    expect(deflatedSharpe(m.sharpe, m.n, m.skew, m.kurtosis, 5, V)).toBeCloseTo(dsr, 10);
  });
});
