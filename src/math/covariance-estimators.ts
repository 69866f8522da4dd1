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
import { covarianceAndCorrelation, covarianceMatrix, type ColumnMajorMatrix, type MissingPolicy } from './correlation.js';

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
 * the sample estimator's covariance and the correlation come from one set of sums (covarianceAndCorrelation), the same bits
 * as the two computed apart.
 */
export function estimateRisk(data: ColumnMajorMatrix, options: CovarianceOptions = {}): RiskEstimates {
  const moments = covarianceAndCorrelation(data, { missing: options.missing ?? 'pairwise' });
  if ((options.estimator ?? 'sample') !== 'sample') return { ...estimateCovariance(data, options), corr: moments.corr };
  const periods = options.periods ?? 1;
  const cov = moments.cov;
  if (periods !== 1) for (let k = 0; k < cov.length; k++) cov[k] = cov[k]! * periods;
  return { cov, corr: moments.corr };
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
