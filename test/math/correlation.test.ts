import {
  averageCorrelation,
  correlationDistance,
  correlationMatrix,
  covarianceMatrix,
  type ColumnMajorMatrix,
} from '../../src/math/correlation.js';
import { cryptoReturnsMatrix, gaussian, maxAbsDiff, readFixture, seededRandom } from './helpers.js';

type Flat = (number | null)[];
interface Reference {
  symbols: string[];
  nDays: number;
  pairwiseCov: Flat;
  pairwiseCorr: Flat;
  completeCov: Flat;
  completeCorr: Flat;
  last120PairwiseCorr: Flat;
  last120PairwiseCov: Flat;
  averageCorr_20_60_120: Flat;
  averageCorr_20_60_120_end: number;
  averageCorr_20_60_120_atEnd: Flat;
  small: { rows: (number | null)[][]; pairwiseCov: Flat; pairwiseCorr: Flat; pairwiseCorrMin3: Flat };
}
const reference = readFixture<Reference>('correlation_reference.json');
const crypto = cryptoReturnsMatrix();

function fromRows(rows: (number | null)[][]): ColumnMajorMatrix {
  const nDays = rows[0]!.length;
  return { values: Float64Array.from(rows.flat(), (v) => v ?? NaN), nSymbols: rows.length, nDays };
}

/** Entry-wise check with a relative tolerance for covariances (daily returns squared are ~1e-3). */
function expectClose(actual: Float64Array, expected: Flat, tolerance: number): void {
  expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(tolerance);
}

describe('real crypto returns (49 symbols, gaps where 3 were delisted) against the pandas algorithm', () => {
  test('the loaded matrix is the one the fixture was made from', () => {
    expect(crypto.symbols).toEqual(reference.symbols);
    expect(crypto.nDays).toBe(reference.nDays);
  });
  test('pairwise covariance and correlation', () => {
    expectClose(covarianceMatrix(crypto), reference.pairwiseCov, 1e-15);
    expectClose(correlationMatrix(crypto), reference.pairwiseCorr, 1e-12);
  });
  test('complete-case covariance and correlation equal numpy cov / corrcoef on the rows without gaps', () => {
    expectClose(covarianceMatrix(crypto, { missing: 'complete' }), reference.completeCov, 1e-15);
    expectClose(correlationMatrix(crypto, { missing: 'complete' }), reference.completeCorr, 1e-12);
  });
  test('a trailing window where some symbols have no data gives NaN for them, as pandas', () => {
    const start = crypto.nDays - 120;
    const corr = correlationMatrix(crypto, { start });
    expectClose(corr, reference.last120PairwiseCorr, 1e-12);
    expectClose(covarianceMatrix(crypto, { start }), reference.last120PairwiseCov, 1e-15);
    expect(corr.some(Number.isNaN)).toBe(true);
  });
  test('average over lookbacks [20, 60, 120], undefined entries as 0 (1 on the diagonal)', () => {
    expectClose(averageCorrelation(crypto, [20, 60, 120]), reference.averageCorr_20_60_120, 1e-12);
    const end = reference.averageCorr_20_60_120_end;
    expectClose(averageCorrelation(crypto, [20, 60, 120], { end }), reference.averageCorr_20_60_120_atEnd, 1e-12);
  });
});

describe('hand-made matrix with gaps, a constant column and a one-day overlap', () => {
  const small = fromRows(reference.small.rows);
  test('pairwise covariance and correlation, NaN where pandas gives NaN', () => {
    expectClose(covarianceMatrix(small), reference.small.pairwiseCov, 1e-15);
    expectClose(correlationMatrix(small), reference.small.pairwiseCorr, 1e-12);
    expectClose(correlationMatrix(small, { minPeriods: 3 }), reference.small.pairwiseCorrMin3, 1e-12);
  });
  test("undefinedAs 'zero': constant column uncorrelated with everything, unit diagonal, no crash", () => {
    const corr = correlationMatrix(small, { undefinedAs: 'zero' });
    const n = small.nSymbols;
    expect(corr.every(Number.isFinite)).toBe(true);
    for (let i = 0; i < n; i++) expect(corr[i * n + i]).toBe(1);
    expect(corr[0 * n + 2]).toBe(0);
    expect(corr[3 * n + 0]).toBe(0); // one shared day: variance over the overlap is 0
  });
});

describe('hand-computed values', () => {
  test('two series: covariance and correlation by hand', () => {
    // x = 1,2,3,4 ; y = 2,4,5,9: means 2.5 and 5, cross-products (-1.5)(-3) + (-0.5)(-1) + 0.5(0) + 1.5(4) = 11, ssx 5, ssy 26.
    const data = fromRows([[1, 2, 3, 4], [2, 4, 5, 9]]);
    const cov = covarianceMatrix(data);
    expect(cov[1]).toBeCloseTo(11 / 3, 14);
    expect(cov[0]).toBeCloseTo(5 / 3, 14);
    expect(correlationMatrix(data)[1]).toBeCloseTo(11 / Math.sqrt(5 * 26), 14);
  });
  test('correlation distance sqrt(0.5(1 - rho))', () => {
    const d = correlationDistance(Float64Array.of(1, -1, 0.5, -1, 1, 0, 0.5, 0, 1), 3);
    expect(Array.from(d)).toEqual([0, 1, 0.5, 1, 0, Math.sqrt(0.5), 0.5, Math.sqrt(0.5), 0]);
  });
});

describe('properties on random data', () => {
  const normal = gaussian(seededRandom(7));
  const nSymbols = 13;
  const nDays = 97;
  const values = Float64Array.from({ length: nSymbols * nDays }, normal);
  const data = { values, nSymbols, nDays };
  test('without gaps, pairwise and complete agree and are symmetric with a unit diagonal', () => {
    const a = correlationMatrix(data);
    const b = correlationMatrix(data, { missing: 'complete' });
    expect(maxAbsDiff(a, b)).toBe(0);
    for (let i = 0; i < nSymbols; i++) {
      expect(a[i * nSymbols + i]).toBeCloseTo(1, 14);
      for (let j = 0; j < nSymbols; j++) expect(a[i * nSymbols + j]).toBe(a[j * nSymbols + i]);
    }
  });
  test('correlation is invariant to scaling and shifting a column', () => {
    const scaled = Float64Array.from(values);
    for (let t = 0; t < nDays; t++) scaled[3 * nDays + t] = 7 * scaled[3 * nDays + t]! - 2;
    expect(maxAbsDiff(correlationMatrix({ ...data, values: scaled }), correlationMatrix(data))).toBeLessThan(1e-13);
  });
});

describe('averageCorrelation on gap-free windows (the direct path) gives the general path bit for bit', () => {
  // The general path, written here from correlationMatrix: each lookback's pairwise correlation with undefined
  // entries as zero, summed from zero and divided by the number of lookbacks.
  function general(data: ColumnMajorMatrix, lookbacks: (number | 'all')[], end = data.nDays): Float64Array {
    const n = data.nSymbols;
    const total = new Float64Array(n * n);
    for (const L of lookbacks) {
      const corr = correlationMatrix(data, { start: L === 'all' ? 0 : Math.max(0, end - L), end, undefinedAs: 'zero' });
      for (let k = 0; k < total.length; k++) total[k] = total[k]! + corr[k]!;
    }
    for (let k = 0; k < total.length; k++) total[k] = total[k]! / lookbacks.length;
    return total;
  }
  const sameBits = (a: Float64Array, b: Float64Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

  it.each([
    [7, 40, [30]],
    [13, 90, [20, 60, 'all']],
    [33, 260, [252]],
  ] as [number, number, (number | 'all')[]][])('%i symbols, %i days, lookbacks %j', (n, T, lookbacks) => {
    const normal = gaussian(seededRandom(1000 + n));
    const values = new Float64Array(n * T);
    for (let j = 0; j < n; j++) for (let t = 0; t < T; t++) values[j * T + t] = 0.0004 * j + (0.005 + 0.001 * (j % 5)) * normal();
    // A constant column (zero variance: rho undefined, 0) and an exact copy (rho 1) among them.
    for (let t = 0; t < T; t++) values[2 * T + t] = 0;
    for (let t = 0; t < T; t++) values[4 * T + t] = values[3 * T + t]!;
    const data = { values, nSymbols: n, nDays: T };
    const fast = averageCorrelation(data, lookbacks);
    expect(sameBits(fast, general(data, lookbacks))).toBe(true);
    expect(fast[2 * n + 2]).toBe(1);
    expect(fast[2 * n + 5]).toBe(0);
    expect(fast[3 * n + 4]).toBeCloseTo(1, 12);
    // A gap in the last rows sends those windows down the general path; the result is still the general one.
    values[T * 5 + T - 1] = NaN;
    expect(sameBits(averageCorrelation(data, lookbacks), general(data, lookbacks))).toBe(true);
  });

  // upperOnly (Ward mirrors in its own memory): the upper triangle and the diagonal as without it, as correlations
  // and as distances, on gap-free windows and with a gap; the lower triangle is whatever it was.
  it.each([
    [9, 60, [40]],
    [13, 90, [20, 60, 'all']],
    [66, 130, [120]],
  ] as [number, number, (number | 'all')[]][])('upperOnly: %i symbols, %i days, lookbacks %j: the same upper triangle', (n, T, lookbacks) => {
    const normal = gaussian(seededRandom(2000 + n));
    const values = Float64Array.from({ length: n * T }, () => 0.01 * normal());
    const data = { values, nSymbols: n, nDays: T };
    for (const gap of [false, true]) {
      if (gap) values[T * 3 + T - 2] = NaN;
      for (const distance of [false, true]) {
        const full = averageCorrelation(data, lookbacks, { distance });
        const upper = averageCorrelation(data, lookbacks, { distance, upperOnly: true, out: new Float64Array(n * n).fill(NaN) });
        for (let i = 0; i < n; i++) {
          for (let j = i; j < n; j++) expect(Object.is(upper[i * n + j], full[i * n + j])).toBe(true);
        }
      }
    }
  });
});

describe('cross products in WebAssembly SIMD', () => {
  it('give the JavaScript sums bit for bit (each pair summed day by day from 0), on sizes around the 4 × 4 tiles, the 8-column panels and the 64-row bands', async () => {
    const { crossProductsUpper, simdAvailable } = await import('../../src/math/cross-products-wasm.js');
    expect(simdAvailable()).toBe(true); // Node 20 on x64 and arm64 has WebAssembly SIMD
    const normal = gaussian(seededRandom(77));
    for (const [n, days] of [[1, 3], [8, 5], [9, 252], [17, 40], [64, 21], [131, 30]] as const) {
      const centred = Float64Array.from({ length: n * days }, () => 0.01 * normal());
      const out = new Float64Array(n * n).fill(-7);
      expect(crossProductsUpper(centred, n, days, out)).toBe(true);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (j < i) {
            expect(out[i * n + j]).toBe(-7); // the lower triangle is left alone
            continue;
          }
          let s = 0;
          for (let k = 0; k < days; k++) s += centred[i * days + k]! * centred[j * days + k]!;
          expect(Object.is(out[i * n + j], s)).toBe(true);
        }
      }
    }
  });
});
