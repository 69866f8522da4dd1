/**
 * Risk budgeting / equal risk contribution (Maillard, Roncalli, Teiletche 2010), long only.
 *
 * Solves Spinu's strictly convex problem  min 1/2 x'Cx - sum_i b_i ln x_i  (x > 0) by cyclical coordinate descent
 * (Griveau-Billion, Richard, Roncalli 2013): each coordinate has the closed form
 *   x_i = (-c_i + sqrt(c_i^2 + 4 C_ii b_i)) / (2 C_ii),  c_i = sum_{j != i} C_ij x_j,
 * and (Cx)_i is updated in O(n) after each step, so a sweep is O(n^2). At the optimum x_i (Cx)_i = b_i, i.e. the
 * risk contributions w_i (Cw)_i / w'Cw of w = x / sum(x) equal the normalised budgets b_i exactly.
 */

export interface RiskParityResult {
  weights: Float64Array;
  /** Relative risk contributions w_i (Cw)_i / w'Cw. */
  contributions: Float64Array;
  sweeps: number;
  /** Largest |contribution_i - budget_i| at exit. */
  error: number;
}

export function riskContributions(cov: Float64Array, n: number, w: ArrayLike<number>): Float64Array {
  const out = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += cov[i * n + j]! * w[j]!;
    out[i] = w[i]! * s;
    total += out[i]!;
  }
  for (let i = 0; i < n; i++) out[i] = out[i]! / total;
  return out;
}

export function riskParity(cov: Float64Array, n: number, budgets?: ArrayLike<number>, options: { tolerance?: number; maxSweeps?: number } = {}): RiskParityResult {
  const tol = options.tolerance ?? 1e-13;
  const maxSweeps = options.maxSweeps ?? 10_000;
  const b = new Float64Array(n);
  let bs = 0;
  for (let i = 0; i < n; i++) { b[i] = budgets ? budgets[i]! : 1; if (!(b[i]! > 0)) throw new Error(`risk budget ${i} must be > 0`); bs += b[i]!; }
  for (let i = 0; i < n; i++) b[i] = b[i]! / bs;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = cov[i * n + i]!;
    if (!(v > 0)) throw new Error(`asset ${i} has variance ${v}; risk parity needs positive variances`);
    x[i] = 1 / Math.sqrt(v) / n;
  }
  const Cx = new Float64Array(n);
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += cov[i * n + j]! * x[j]!; Cx[i] = s; }
  let sweeps = 0;
  let error = Infinity;
  for (; sweeps < maxSweeps; sweeps++) {
    for (let i = 0; i < n; i++) {
      const cii = cov[i * n + i]!;
      const ci = Cx[i]! - cii * x[i]!;
      const xi = (-ci + Math.sqrt(ci * ci + 4 * cii * b[i]!)) / (2 * cii);
      const d = xi - x[i]!;
      if (d !== 0) {
        x[i] = xi;
        for (let j = 0; j < n; j++) Cx[j] = Cx[j]! + cov[j * n + i]! * d;
      }
    }
    // Recompute Cx exactly now and then against drift; check x_i (Cx)_i = b_i.
    if (sweeps % 20 === 19) for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += cov[i * n + j]! * x[j]!; Cx[i] = s; }
    let total = 0;
    for (let i = 0; i < n; i++) total += x[i]! * Cx[i]!;
    error = 0;
    for (let i = 0; i < n; i++) error = Math.max(error, Math.abs((x[i]! * Cx[i]!) / total - b[i]!));
    if (error < tol) break;
  }
  let sx = 0;
  for (let i = 0; i < n; i++) sx += x[i]!;
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) weights[i] = x[i]! / sx;
  const contributions = riskContributions(cov, n, weights);
  error = 0;
  for (let i = 0; i < n; i++) error = Math.max(error, Math.abs(contributions[i]! - b[i]!));
  return { weights, contributions, sweeps: sweeps + 1, error };
}
