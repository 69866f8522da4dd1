/**
 * Risk and return estimators for allocation, on column-major returns (values[j * T + t], NaN = missing).
 *
 * - sample: pandas DataFrame.cov() (ddof 1), 'pairwise' or 'complete' rows (src/math/correlation.ts), x periods.
 * - ledoit_wolf: sklearn.covariance.ledoit_wolf (Ledoit & Wolf 2004, scaled-identity target mu I, mu = tr(S)/n,
 *   S the ddof-0 empirical covariance of the demeaned returns), x periods. Missing values: 'complete' drops every
 *   row with a gap; 'pairwise' sets them to 0 as PyPortfolioOpt's CovarianceShrinkage does (np.nan_to_num).
 * - ewma: exponentially weighted covariance, weight (1 - a)^age with a = 1 - 2^(-1/halflife), age 0 on the last
 *   day, weighted means, reliability-weight unbiasing V1 / (V1^2 - V2); pairwise or complete like the sample.
 * - expected returns: 'mean' = arithmetic mean x periods; 'cagr' = prod(1 + r)^(periods / count) - 1 (PyPortfolioOpt
 *   mean_historical_return with compounding), each over the days a symbol has a value.
 * All outputs are dense row-major n x n Float64Arrays.
 */
import { covarianceMatrix, type ColumnMajorMatrix, type MissingPolicy } from './correlation.js';
import { crossProductsUpper } from './cross-products-wasm.js';

export type CovarianceEstimator = 'sample' | 'ledoit_wolf' | 'ewma';

export interface CovarianceOptions {
  estimator?: CovarianceEstimator;
  missing?: MissingPolicy;
  halflife?: number;
  /** Multiply by this (annualisation); default 1. */
  periods?: number;
}

export interface CovarianceResult {
  cov: Float64Array;
  /** Ledoit-Wolf shrinkage intensity when that estimator ran. */
  shrinkage?: number;
}

/** Rows on which every symbol has a value. */
export function completeRows(data: ColumnMajorMatrix): Int32Array {
  const { values, nSymbols: n, nDays: T } = data;
  const rows: number[] = [];
  for (let t = 0; t < T; t++) {
    let ok = true;
    for (let j = 0; j < n && ok; j++) if (values[j * T + t] !== values[j * T + t]) ok = false;
    if (ok) rows.push(t);
  }
  return Int32Array.from(rows);
}

export function estimateCovariance(data: ColumnMajorMatrix, options: CovarianceOptions = {}): CovarianceResult {
  const estimator = options.estimator ?? 'sample';
  const missing = options.missing ?? 'pairwise';
  const periods = options.periods ?? 1;
  let result: CovarianceResult;
  if (estimator === 'sample') result = { cov: covarianceMatrix(data, { missing }) };
  else if (estimator === 'ledoit_wolf') result = ledoitWolf(data, missing);
  else result = { cov: ewmaCovariance(data, options.halflife ?? 60, missing) };
  if (periods !== 1) for (let k = 0; k < result.cov.length; k++) result.cov[k] = result.cov[k]! * periods;
  return result;
}

/** A covariance as an estimator gives it and the sample (Pearson) correlation of the same window. */
export interface RiskEstimates extends CovarianceResult {
  corr: Float64Array;
}

/**
 * estimateCovariance(data, options) and correlationMatrix(data, { missing }) (src/math/correlation.ts) together:
 * the sample estimator's covariance and the correlation come from one set of sums (sampleMoments), the same bits
 * as the two computed apart.
 */
export function estimateRisk(data: ColumnMajorMatrix, options: CovarianceOptions = {}): RiskEstimates {
  const moments = sampleMoments(data, options.missing ?? 'pairwise');
  if ((options.estimator ?? 'sample') !== 'sample') return { ...estimateCovariance(data, options), corr: moments.corr };
  const periods = options.periods ?? 1;
  const cov = moments.cov;
  if (periods !== 1) for (let k = 0; k < cov.length; k++) cov[k] = cov[k]! * periods;
  return { cov, corr: moments.corr };
}

/**
 * covarianceMatrix(data, { missing }) and correlationMatrix(data, { missing }) of src/math/correlation.ts from one
 * pass of sums instead of two, with their arithmetic in their order, hence their bits: the columns without a gap
 * (all of them on 'complete' rows) centred two-pass, each pair's centred products summed day by day from 0 (the
 * SIMD kernel sums each pair so too), a pair with a gapped column summed over its overlap with its own means
 * (pairSums); then cov = s_xy / (nobs - 1) (NaN under 2 observations) and rho = s_xy / sqrt(s_xx s_yy) clamped to
 * [-1, 1] (NaN without observations or variance), the diagonal included.
 */
export function sampleMoments(data: ColumnMajorMatrix, missing: MissingPolicy = 'pairwise'): { cov: Float64Array; corr: Float64Array } {
  const { values, nSymbols: n, nDays } = data;
  if (values.length !== n * nDays) throw new Error(`values has ${values.length} entries, expected ${n} x ${nDays}`);
  const rows = missing === 'complete' ? completeRows(data) : null;
  const length = rows ? rows.length : nDays;
  const centred = new Float64Array(n * length);
  const gapped = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const base = j * nDays;
    const out = j * length;
    let sum = 0;
    for (let k = 0; k < length; k++) {
      const x = values[base + (rows ? rows[k]! : k)]!;
      if (x !== x) {
        gapped[j] = 1;
        break;
      }
      centred[out + k] = x;
      sum += x;
    }
    if (gapped[j]) continue;
    const mean = sum / length;
    for (let k = 0; k < length; k++) centred[out + k] = centred[out + k]! - mean;
  }
  // The products of every pair, a gapped column's (from whatever its centred row holds) overwritten below.
  const cross = new Float64Array(n * n);
  if (!crossProductsUpper(centred, n, length, cross)) crossProductsUpperJs(centred, n, length, cross);
  const cov = new Float64Array(n * n);
  const corr = new Float64Array(n * n);
  const pair: PairSums = { nobs: 0, crossProduct: 0, sumSquaresX: 0, sumSquaresY: 0 };
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      if (gapped[i] || gapped[j]) pairSums(values, i * nDays, j * nDays, nDays, pair);
      else {
        pair.nobs = length;
        pair.crossProduct = cross[i * n + j]!;
        pair.sumSquaresX = cross[i * n + i]!;
        pair.sumSquaresY = cross[j * n + j]!;
      }
      const { nobs, crossProduct } = pair;
      cov[i * n + j] = cov[j * n + i] = nobs < 2 ? NaN : crossProduct / (nobs - 1);
      let rho = NaN;
      const divisor = Math.sqrt(pair.sumSquaresX * pair.sumSquaresY);
      if (nobs >= 1 && divisor !== 0) {
        rho = crossProduct / divisor;
        rho = rho > 1 ? 1 : rho < -1 ? -1 : rho;
      }
      corr[i * n + j] = corr[j * n + i] = rho;
    }
  }
  return { cov, corr };
}

/** Σ_k c_ik c_jk for i <= j into `out`'s upper triangle, each summed day by day from 0 (where there is no SIMD). */
function crossProductsUpperJs(centred: Float64Array, n: number, length: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const oi = i * length;
    for (let j = i; j < n; j++) {
      const oj = j * length;
      let s = 0;
      for (let k = 0; k < length; k++) s += centred[oi + k]! * centred[oj + k]!;
      out[i * n + j] = s;
    }
  }
}

interface PairSums {
  nobs: number;
  crossProduct: number;
  sumSquaresX: number;
  sumSquaresY: number;
}

/** A pair's sums over the days both columns have a value, centred on the means of those days (two passes). */
function pairSums(values: Float64Array, offsetX: number, offsetY: number, length: number, out: PairSums): void {
  let nobs = 0;
  let sumX = 0;
  let sumY = 0;
  for (let t = 0; t < length; t++) {
    const x = values[offsetX + t]!;
    const y = values[offsetY + t]!;
    if (x === x && y === y) {
      nobs++;
      sumX += x;
      sumY += y;
    }
  }
  out.nobs = nobs;
  let crossProduct = 0;
  let sumSquaresX = 0;
  let sumSquaresY = 0;
  if (nobs > 0) {
    const meanX = sumX / nobs;
    const meanY = sumY / nobs;
    for (let t = 0; t < length; t++) {
      const x = values[offsetX + t]!;
      const y = values[offsetY + t]!;
      if (x === x && y === y) {
        const dx = x - meanX;
        const dy = y - meanY;
        crossProduct += dx * dy;
        sumSquaresX += dx * dx;
        sumSquaresY += dy * dy;
      }
    }
  }
  out.crossProduct = crossProduct;
  out.sumSquaresX = sumSquaresX;
  out.sumSquaresY = sumSquaresY;
}

/**
 * sklearn.covariance.ledoit_wolf(X) (assume_centered = False), not annualised:
 *   X demeaned; S = X'X / T; mu = tr(S) / n;
 *   delta = ||S - mu I||_F^2 / n;  beta = min(delta, (sum_t ||x_t||^4 / T - ||S||_F^2) / (n T));
 *   shrinkage = beta / delta;  result = (1 - shrinkage) S + shrinkage mu I.
 */
export function ledoitWolf(data: ColumnMajorMatrix, missing: MissingPolicy = 'complete'): CovarianceResult {
  const { values, nSymbols: n, nDays } = data;
  const rows = missing === 'complete' ? completeRows(data) : null;
  const T = rows ? rows.length : nDays;
  if (T < 2) throw new Error(`Ledoit-Wolf needs at least 2 observations, got ${T}`);
  // Demeaned copy, row-major by symbol (contiguous days).
  const X = new Float64Array(n * T);
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let t = 0; t < T; t++) {
      const v = values[j * nDays + (rows ? rows[t]! : t)]!;
      const x = v === v ? v : 0;
      X[j * T + t] = x;
      sum += x;
    }
    const mean = sum / T;
    for (let t = 0; t < T; t++) X[j * T + t] = X[j * T + t]! - mean;
  }
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const oi = i * T;
    for (let j = i; j < n; j++) {
      const oj = j * T;
      let s = 0;
      for (let t = 0; t < T; t++) s += X[oi + t]! * X[oj + t]!;
      S[i * n + j] = S[j * n + i] = s / T;
    }
  }
  let trace = 0;
  for (let i = 0; i < n; i++) trace += S[i * n + i]!;
  const mu = trace / n;
  // sum_ij (X'X)_ij^2 / T^2 = ||S||_F^2 ; sum_ij (X2'X2)_ij = sum_t (sum_i x_ti^2)^2
  let frob = 0;
  for (let k = 0; k < n * n; k++) frob += S[k]! * S[k]!;
  const rowNorm2 = new Float64Array(T);
  for (let j = 0; j < n; j++) for (let t = 0; t < T; t++) rowNorm2[t] = rowNorm2[t]! + X[j * T + t]! * X[j * T + t]!;
  let betaSum = 0;
  for (let t = 0; t < T; t++) betaSum += rowNorm2[t]! * rowNorm2[t]!;
  let beta = (1 / (n * T)) * (betaSum / T - frob);
  const delta = (frob - 2 * mu * trace + n * mu * mu) / n;
  beta = Math.min(beta, delta);
  const shrinkage = beta === 0 ? 0 : beta / delta;
  const cov = new Float64Array(n * n);
  for (let k = 0; k < n * n; k++) cov[k] = (1 - shrinkage) * S[k]!;
  for (let i = 0; i < n; i++) cov[i * n + i] = cov[i * n + i]! + shrinkage * mu;
  return { cov, shrinkage };
}

/** Exponentially weighted covariance (see the module comment), not annualised. */
export function ewmaCovariance(data: ColumnMajorMatrix, halflife: number, missing: MissingPolicy = 'pairwise'): Float64Array {
  const { values, nSymbols: n, nDays: T } = data;
  if (!(halflife > 0)) throw new Error(`halflife must be > 0, got ${halflife}`);
  const decay = Math.pow(0.5, 1 / halflife);
  const w = new Float64Array(T);
  for (let t = 0; t < T; t++) w[t] = Math.pow(decay, T - 1 - t);
  let rowMask: Uint8Array | null = null;
  if (missing === 'complete') {
    rowMask = new Uint8Array(T);
    for (const t of completeRows(data)) rowMask[t] = 1;
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let v1 = 0, v2 = 0, sx = 0, sy = 0;
      for (let t = 0; t < T; t++) {
        const x = values[i * T + t]!, y = values[j * T + t]!;
        if (x === x && y === y && (!rowMask || rowMask[t])) {
          const wt = w[t]!;
          v1 += wt; v2 += wt * wt; sx += wt * x; sy += wt * y;
        }
      }
      let c = NaN;
      if (v1 > 0 && v1 * v1 - v2 > 0) {
        const mx = sx / v1, my = sy / v1;
        let s = 0;
        for (let t = 0; t < T; t++) {
          const x = values[i * T + t]!, y = values[j * T + t]!;
          if (x === x && y === y && (!rowMask || rowMask[t])) s += w[t]! * (x - mx) * (y - my);
        }
        c = (s * v1) / (v1 * v1 - v2);
      }
      out[i * n + j] = out[j * n + i] = c;
    }
  }
  return out;
}

export type ExpectedReturnsMethod = 'mean' | 'cagr';

/** Annualised expected returns per symbol over the days each has a value (PyPortfolioOpt conventions). */
export function expectedReturns(data: ColumnMajorMatrix, method: ExpectedReturnsMethod, periods: number): Float64Array {
  const { values, nSymbols: n, nDays: T } = data;
  const out = new Float64Array(n);
  // The log growth only for 'cagr': a log per return is most of the cost of the mean.
  const cagr = method === 'cagr';
  for (let j = 0; j < n; j++) {
    let count = 0, sum = 0, logGrowth = 0;
    for (let t = 0; t < T; t++) {
      const r = values[j * T + t]!;
      if (r !== r) continue;
      count++;
      sum += r;
      if (cagr) logGrowth += Math.log1p(r);
    }
    if (count === 0) out[j] = NaN;
    else out[j] = cagr ? Math.exp((logGrowth * periods) / count) - 1 : (sum / count) * periods;
  }
  return out;
}

/** In-place Cholesky of a copy; returns the smallest pivot ratio (pivot / diagonal), or -1 when not positive definite. */
export function choleskyCheck(cov: Float64Array, n: number): number {
  const L = Float64Array.from(cov);
  let minRatio = Infinity;
  for (let j = 0; j < n; j++) {
    let d = L[j * n + j]!;
    for (let k = 0; k < j; k++) d -= L[j * n + k]! * L[j * n + k]!;
    const diag = cov[j * n + j]!;
    if (!(d > 0) || !(diag > 0)) return -1;
    minRatio = Math.min(minRatio, d / diag);
    const root = Math.sqrt(d);
    L[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let s = L[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = s / root;
    }
  }
  return minRatio;
}

export interface RegularisedCovariance {
  cov: Float64Array;
  /** Intensity s of (1 - s) C + s (tr C / n) I applied; 0 when the matrix was already well conditioned. */
  shrinkage: number;
  /** Why shrinkage was applied, when it was. */
  reason?: 'not_positive_definite' | 'near_singular' | 'undefined_entries';
}

/**
 * Makes a covariance usable by the solvers: undefined entries (pairs with no overlap) become 0, and a matrix that is
 * not positive definite, or whose smallest Cholesky pivot ratio is below `minPivot`, is shrunk towards its average
 * variance times I with the smallest intensity of 1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.25, 0.5, 1 that fixes it.
 */
export function regulariseCovariance(cov: Float64Array, n: number, minPivot = 1e-10): RegularisedCovariance {
  let reason: RegularisedCovariance['reason'];
  const c = Float64Array.from(cov);
  for (let k = 0; k < c.length; k++) {
    if (c[k] !== c[k]) {
      c[k] = 0;
      reason = 'undefined_entries';
    }
  }
  let trace = 0;
  for (let i = 0; i < n; i++) trace += c[i * n + i]!;
  const target = trace > 0 ? trace / n : 1;
  for (let i = 0; i < n; i++) if (!(c[i * n + i]! > 0)) c[i * n + i] = target * 1e-6;
  const first = choleskyCheck(c, n);
  if (first >= minPivot) return { cov: c, shrinkage: 0, ...(reason ? { reason } : {}) };
  reason ??= first < 0 ? 'not_positive_definite' : 'near_singular';
  for (const s of [1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.25, 0.5, 1]) {
    const shrunk = new Float64Array(n * n);
    for (let k = 0; k < n * n; k++) shrunk[k] = (1 - s) * c[k]!;
    for (let i = 0; i < n; i++) shrunk[i * n + i] = shrunk[i * n + i]! + s * target;
    if (choleskyCheck(shrunk, n) >= minPivot || s === 1) return { cov: shrunk, shrinkage: s, reason };
  }
  throw new Error('unreachable');
}
