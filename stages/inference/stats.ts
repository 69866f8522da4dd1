/**
 * The numerics the rankers share, on typed arrays: the error function family (W. J. Cody's rational Chebyshev
 * approximations, "Rational Chebyshev approximations for the error function", Math. Comp. 1969, the netlib
 * specfun CALERF coefficients), the standard normal CDF and its logarithm (accurate in the far lower tail, where
 * Φ underflows), cross-sectional z-scores, scipy-style average ranks, Spearman correlation and summary stats.
 * NaN means missing everywhere.
 */

import { lowerBound, upperBound } from '../../src/util/order.js';

/* eslint-disable no-loss-of-precision -- Cody's coefficients digit for digit as published; each runs as its nearest double */
const A = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
const B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
const C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909, 1712.04761263407058, 2051.07837782607147,
  1230.33935479799725, 2.15311535474403846e-8,
];
const D = [15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963, 4362.61909014324716, 3439.36767414372164, 1230.33935480374942];
const P = [0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4, 0.0163153871373020978];
const Q = [2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185];
const SQRPI = 0.56418958354775628695; // 1 / sqrt(pi)
/* eslint-enable no-loss-of-precision */
const THRESH = 0.46875;
const XBIG = 26.543;
const XHUGE = 6.71e7;
const XNEG = -26.628;

/** exp(-y^2) computed without the cancellation of squaring a rounded y (Cody's split y = ysq + del). */
function expMinusSquare(y: number): number {
  const ysq = Math.trunc(y * 16) / 16;
  const del = (y - ysq) * (y + ysq);
  return Math.exp(-ysq * ysq) * Math.exp(-del);
}

/** Cody's CALERF: jint 0 = erf, 1 = erfc, 2 = erfcx (exp(x^2) erfc(x)). */
function calerf(x: number, jint: 0 | 1 | 2): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  let result: number;
  if (y <= THRESH) {
    const ysq = y > 1.11e-16 ? y * y : 0;
    let xnum = A[4] * ysq;
    let xden = ysq;
    for (let i = 0; i < 3; i++) {
      xnum = (xnum + A[i]) * ysq;
      xden = (xden + B[i]) * ysq;
    }
    result = (x * (xnum + A[3])) / (xden + B[3]);
    if (jint !== 0) result = 1 - result;
    if (jint === 2) result = Math.exp(ysq) * result;
    return result;
  }
  if (y <= 4) {
    let xnum = C[8] * y;
    let xden = y;
    for (let i = 0; i < 7; i++) {
      xnum = (xnum + C[i]) * y;
      xden = (xden + D[i]) * y;
    }
    result = (xnum + C[7]) / (xden + D[7]);
    if (jint !== 2) result = expMinusSquare(y) * result;
  } else {
    result = 0;
    let done = false;
    if (y >= XBIG) {
      if (jint !== 2) done = true;
      else if (y >= XHUGE) {
        result = SQRPI / y;
        done = true;
      }
    }
    if (!done) {
      const ysq = 1 / (y * y);
      let xnum = P[5] * ysq;
      let xden = ysq;
      for (let i = 0; i < 4; i++) {
        xnum = (xnum + P[i]) * ysq;
        xden = (xden + Q[i]) * ysq;
      }
      result = (ysq * (xnum + P[4])) / (xden + Q[4]);
      result = (SQRPI - result) / y;
      if (jint !== 2) result = expMinusSquare(y) * result;
    }
  }
  if (jint === 0) {
    result = 0.5 - result + 0.5;
    return x < 0 ? -result : result;
  }
  if (jint === 1) return x < 0 ? 2 - result : result;
  if (x < 0) {
    if (x < XNEG) return Infinity;
    const e = 1 / expMinusSquare(x);
    return e + e - result;
  }
  return result;
}

export const erf = (x: number): number => calerf(x, 0);
export const erfc = (x: number): number => calerf(x, 1);
/** The scaled complementary error function exp(x^2) erfc(x), finite for large x where erfc underflows. */
export const erfcx = (x: number): number => calerf(x, 2);

/** exp(-z^2 / 2) with z split at 1/16 so the square's rounding is not amplified in the far tail. */
function expMinusHalfSquare(z: number): number {
  const zh = Math.trunc(z * 16) / 16;
  return Math.exp(-0.5 * zh * zh) * Math.exp(-0.5 * (z - zh) * (z + zh));
}

/**
 * The standard normal CDF Φ(z) = erfc(-z / √2) / 2, to about 1e-15 relative in both tails: below z = -1 it is
 * erfcx(-z / √2) exp(-z² / 2) / 2, which keeps the rounding of z / √2 out of the exponential (that rounding alone
 * costs 1e-13 relative at z = -30).
 */
export function normalCdf(z: number): number {
  if (z < -1) return 0.5 * erfcx(-z / Math.SQRT2) * expMinusHalfSquare(z);
  return 0.5 * erfc(-z / Math.SQRT2);
}

/**
 * log Φ(z), finite for every finite z: below 0 through erfcx (log Φ(z) = log(erfcx(-z/√2) / 2) - z²/2), so
 * z = -40 gives -804.608 rather than log(0) = -Infinity; above 0 as log1p(-Φ(-z)).
 */
export function logNormalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z === Infinity) return 0;
  if (z === -Infinity) return -Infinity;
  if (z < 0) return Math.log(0.5 * erfcx(-z / Math.SQRT2)) - 0.5 * z * z;
  return Math.log1p(-normalCdf(-z));
}

/**
 * Cross-sectional z-scores of the finite values, (x - mean) / std with `ddof` (1 = pandas' `Series.std()`,
 * 0 = scipy's `zscore`); NaN stays NaN. With fewer than `ddof + 1` finite values or a zero spread every finite
 * value scores 0 (nothing distinguishes them).
 */
export function zscores(x: Float64Array, ddof = 1): Float64Array {
  const out = new Float64Array(x.length).fill(NaN);
  let n = 0;
  let sum = 0;
  for (const v of x)
    if (Number.isFinite(v)) {
      n++;
      sum += v;
    }
  if (n === 0) return out;
  const mean = sum / n;
  let ss = 0;
  for (const v of x) if (Number.isFinite(v)) ss += (v - mean) * (v - mean);
  const sd = n - ddof > 0 ? Math.sqrt(ss / (n - ddof)) : 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i])) out[i] = sd > 0 ? (x[i] - mean) / sd : 0;
  return out;
}

/**
 * Ranks 1..m of the finite values, ascending, ties given the mean of the ranks they span (scipy.stats.rankdata
 * `method='average'`); NaN stays NaN (m counts the finite values only).
 */
export function rankAverage(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length).fill(NaN);
  let m = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i])) m++;
  const sorted = new Float64Array(m);
  m = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i])) sorted[m++] = x[i];
  // The values sorted natively (no comparator called back); each value's ties are the run of its equals there
  // (-0 and 0 are equal under < as under ===), from lowerBound to upperBound.
  sorted.sort();
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isFinite(v)) out[i] = (lowerBound(sorted, v) + upperBound(sorted, v) - 1) / 2 + 1;
  }
  return out;
}

/** Pearson correlation over the pairs where both are finite; NaN when fewer than 2 pairs or either is constant. */
export function pearson(a: Float64Array, b: Float64Array): number {
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++)
    if (Number.isFinite(a[i]) && Number.isFinite(b[i])) {
      n++;
      sa += a[i];
      sb += b[i];
    }
  if (n < 2) return NaN;
  const ma = sa / n;
  const mb = sb / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    if (!(Number.isFinite(a[i]) && Number.isFinite(b[i]))) continue;
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/** Spearman rank correlation (scipy.stats.spearmanr): Pearson on average ranks of the pairs where both are finite. */
export function spearman(a: Float64Array, b: Float64Array): number {
  const keep: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]) && Number.isFinite(b[i])) keep.push(i);
  const ka = Float64Array.from(keep, (i) => a[i]);
  const kb = Float64Array.from(keep, (i) => b[i]);
  return pearson(rankAverage(ka), rankAverage(kb));
}

/**
 * Order of the indices by descending value, NaN last, ties broken by index (so by the symbols' order): the
 * champion's ranking. `rankOf[i]` is 1 for the best.
 */
export function descendingOrder(x: Float64Array): { order: number[]; rankOf: Int32Array } {
  const order = [...x.keys()].sort((i, j) => {
    const ni = Number.isNaN(x[i]);
    const nj = Number.isNaN(x[j]);
    if (ni || nj) return ni === nj ? i - j : ni ? 1 : -1;
    return x[j] - x[i] || i - j;
  });
  const rankOf = new Int32Array(x.length);
  order.forEach((i, k) => (rankOf[i] = k + 1));
  return { order, rankOf };
}

export interface Summary {
  count: number;
  missing: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  median: number | null;
  max: number | null;
}

/** Summary of the finite values (std with ddof 1); null where undefined. */
export function summarize(x: Float64Array): Summary {
  const v = [...x].filter(Number.isFinite).sort((a, b) => a - b);
  const n = v.length;
  if (!n) return { count: 0, missing: x.length, mean: null, std: null, min: null, median: null, max: null };
  const mean = v.reduce((s, a) => s + a, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((s, a) => s + (a - mean) * (a - mean), 0) / (n - 1)) : null;
  const median = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { count: n, missing: x.length - n, mean, std, min: v[0], median, max: v[n - 1] };
}
