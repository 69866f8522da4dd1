/** Estimators against independent references: the published Ledoit-Wolf formula (sklearn), pandas cov, CAGR. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { estimateCovariance, expectedReturns, ledoitWolf, regulariseCovariance, choleskyCheck, ewmaCovariance } from '../../src/math/covariance-estimators.js';
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
