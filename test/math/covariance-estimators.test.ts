/** Estimators against independent references: the published Ledoit-Wolf formula (sklearn), pandas cov, CAGR. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { correlationMatrix, covarianceAndCorrelation, covarianceMatrix, type ColumnMajorMatrix } from '../../src/math/correlation.js';
import { estimateCovariance, estimateRisk, expectedReturns, ledoitWolf, regulariseCovariance, choleskyCheck, ewmaCovariance } from '../../src/math/covariance-estimators.js';
import { DATA_DIR } from '../data.js';

const REF = JSON.parse(readFileSync(new URL('../stages/fixtures/allocation/reference.json', import.meta.url), 'utf8'));

/** Returns straight from the CSV text: pct_change, NaN before listing, first row dropped. */
function returns() {
  const [header, ...rows] = readFileSync(join(DATA_DIR, 'pypfopt', 'stock_prices.csv'), 'utf8').trim().split(/\r?\n/);
  const names = header!.split(',').slice(1);
  const P = rows.map((r) => r.split(',').slice(1).map((c) => (c === '' ? NaN : Number(c))));
  const T = P.length - 1;
  const values = new Float64Array(names.length * T);
  for (let j = 0; j < names.length; j++) for (let t = 0; t < T; t++) values[j * T + t] = P[t + 1]![j]! / P[t]![j]! - 1;
  return { names, data: { values, nSymbols: names.length, nDays: T } };
}

const { names, data } = returns();
const maxAbs = (a: ArrayLike<number>, b: number[]) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));

test('names line up with the reference', () => expect(names).toEqual(REF.symbols));

test('pairwise sample covariance x 252 equals the reference (pandas semantics) to 1e-15 abs', () => {
  const { cov } = estimateCovariance(data, { estimator: 'sample', missing: 'pairwise', periods: 252 });
  expect(maxAbs(cov, REF.sample_cov_annual.flat())).toBeLessThan(1e-14);
});

test('Ledoit-Wolf equals the published formula (sklearn ledoit_wolf on nan_to_num returns, as PyPortfolioOpt) to 1e-14', () => {
  const r = estimateCovariance(data, { estimator: 'ledoit_wolf', missing: 'pairwise', periods: 252 });
  expect(Math.abs(r.shrinkage! - REF.ledoit_wolf.shrinkage)).toBeLessThan(1e-12);
  expect(maxAbs(r.cov, REF.ledoit_wolf.cov_annual.flat())).toBeLessThan(1e-14);
});

test('Ledoit-Wolf on a 3x3 hand example: shrinkage in [0, 1], trace preserved', () => {
  const T = 6;
  const values = Float64Array.of(1, 2, 3, 4, 5, 7, 2, 1, 4, 3, 6, 5, 0, 1, 0, 2, 1, 3);
  const { cov, shrinkage } = ledoitWolf({ values, nSymbols: 3, nDays: T }, 'complete');
  expect(shrinkage).toBeGreaterThanOrEqual(0);
  expect(shrinkage).toBeLessThanOrEqual(1);
  // the scaled-identity target keeps the trace of the ddof-0 empirical covariance
  let tr = 0;
  for (let j = 0; j < 3; j++) { const col = Array.from(values.subarray(j * T, (j + 1) * T)); const m = col.reduce((a, b) => a + b) / T; tr += col.reduce((s, x) => s + (x - m) ** 2, 0) / T; }
  expect(cov[0]! + cov[4]! + cov[8]!).toBeCloseTo(tr, 12);
});

test('CAGR and mean expected returns equal the reference', () => {
  expect(maxAbs(expectedReturns(data, 'cagr', 252), REF.cagr)).toBeLessThan(1e-12);
  expect(maxAbs(expectedReturns(data, 'mean', 252), REF.mean)).toBeLessThan(1e-12);
});

test('EWMA with an infinite-like half-life tends to the sample covariance; weights decay by half per half-life', () => {
  const small = { values: data.values.subarray(0, 0), nSymbols: 0, nDays: 0 };
  expect(ewmaCovariance(small, 10).length).toBe(0);
  const T = 200;
  const values = Float64Array.from({ length: 2 * T }, (_, k) => Math.sin(k * 0.7) + (k % 5) * 0.1);
  const block = { values, nSymbols: 2, nDays: T };
  const ew = ewmaCovariance(block, 1e9);
  const sample = estimateCovariance(block).cov;
  for (let k = 0; k < 4; k++) expect(ew[k]).toBeCloseTo(sample[k]!, 6);
});

test('a singular covariance is shrunk until positive definite and the intensity is reported', () => {
  const C = Float64Array.of(1, 1, 1, 1); // rank one
  expect(choleskyCheck(C, 2)).toBeLessThan(1e-10);
  const r = regulariseCovariance(C, 2);
  expect(r.shrinkage).toBeGreaterThan(0);
  expect(choleskyCheck(r.cov, 2)).toBeGreaterThan(1e-10);
});

/** Entry by entry the same number: NaN where NaN, -0 where -0, every bit of every finite value. */
function expectSameBits(actual: Float64Array, expected: Float64Array) {
  expect(actual.length).toBe(expected.length);
  const differ = Array.from(actual, (x, k) => k).filter((k) => !Object.is(actual[k], expected[k]));
  expect(differ.map((k) => [k, actual[k], expected[k]])).toEqual([]);
}

/** 13 columns (not a multiple of the SIMD kernel's 8) x 61 days: gaps, a late listing, constant columns, a nearly empty one. */
function awkwardReturns() {
  const n = 13, T = 61;
  let seed = 7;
  const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5) * 0.06;
  const values = new Float64Array(n * T);
  for (let k = 0; k < values.length; k++) values[k] = rnd();
  for (let t = 0; t < T; t++) {
    values[2 * T + t] = 0.01; // constant
    values[3 * T + t] = t % 5 === 0 ? NaN : 0.003; // constant with gaps
    values[4 * T + t] = t < 20 ? NaN : values[4 * T + t]!; // listed late
    values[5 * T + t] = t === 30 ? 0.02 : NaN; // one value
    values[6 * T + t] = NaN; // none
    if (t % 7 === 3) values[8 * T + t] = NaN; // scattered gaps
    values[9 * T + t] = values[0 * T + t]! * -2; // perfectly anti-correlated with column 0 (a clamp at -1)
  }
  return { values, nSymbols: n, nDays: T };
}

/**
 * pandas' pairwise sums written out plainly (the reference): for each pair, the days both have a value, their means
 * (summed in day order, then divided), and the centred products summed in day order from 0.
 */
function plainPairMoments(m: ColumnMajorMatrix): { cov: Float64Array; corr: Float64Array } {
  const { values, nSymbols: n, nDays: T } = m;
  const cov = new Float64Array(n * n);
  const corr = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const days: number[] = [];
      for (let t = 0; t < T; t++) if (!Number.isNaN(values[i * T + t]!) && !Number.isNaN(values[j * T + t]!)) days.push(t);
      let sx = 0;
      let sy = 0;
      for (const t of days) {
        sx += values[i * T + t]!;
        sy += values[j * T + t]!;
      }
      const mx = sx / days.length;
      const my = sy / days.length;
      let xy = 0;
      let xx = 0;
      let yy = 0;
      for (const t of days) {
        const dx = values[i * T + t]! - mx;
        const dy = values[j * T + t]! - my;
        xy += dx * dy;
        xx += dx * dx;
        yy += dy * dy;
      }
      cov[i * n + j] = days.length < 2 ? NaN : xy / (days.length - 1);
      const d = Math.sqrt(xx * yy);
      corr[i * n + j] = days.length === 0 || d === 0 ? NaN : Math.min(1, Math.max(-1, xy / d));
    }
  }
  return { cov, corr };
}

describe('covarianceMatrix and correlationMatrix (SIMD kernel for complete columns) against plain pairwise sums, bit for bit', () => {
  const gapFree = { ...awkwardReturns() };
  gapFree.values = gapFree.values.map((x, k) => (x === x ? x : 0.001 * (k % 3)));
  const cases = { 'gaps, NaNs and constant columns': awkwardReturns(), 'no gap (constant columns kept)': gapFree, 'the PyPortfolioOpt prices (late listings)': data };
  for (const [name, m] of Object.entries(cases)) {
    test(name, () => {
      const plain = plainPairMoments(m);
      expectSameBits(covarianceMatrix(m), plain.cov);
      expectSameBits(correlationMatrix(m), plain.corr);
      for (const missing of ['pairwise', 'complete'] as const) {
        const both = covarianceAndCorrelation(m, { missing });
        expectSameBits(both.cov, covarianceMatrix(m, { missing }));
        expectSameBits(both.corr, correlationMatrix(m, { missing }));
      }
    });
  }

  test('no complete row at all (complete): every entry undefined', () => {
    const { cov, corr } = covarianceAndCorrelation(awkwardReturns(), { missing: 'complete' });
    expect(cov.every((x) => Number.isNaN(x)) && corr.every((x) => Number.isNaN(x))).toBe(true);
  });

  for (const estimator of ['sample', 'ledoit_wolf', 'ewma'] as const) {
    test(`estimateRisk(${estimator}) is estimateCovariance and correlationMatrix`, () => {
      const m = awkwardReturns();
      const options = { estimator, missing: 'pairwise' as const, halflife: 20, periods: 252 };
      const risk = estimateRisk(gapFree, options);
      const apart = estimateCovariance(gapFree, options);
      expectSameBits(risk.cov, apart.cov);
      expect(risk.shrinkage).toBe(apart.shrinkage);
      expectSameBits(risk.corr, correlationMatrix(gapFree, { missing: 'pairwise' }));
      expectSameBits(estimateRisk(m, options).cov, estimateCovariance(m, options).cov);
      expectSameBits(estimateRisk(m, options).corr, correlationMatrix(m, { missing: 'pairwise' }));
    });
  }
});
