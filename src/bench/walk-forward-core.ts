/**
 * The decision of each walk-forward window for the benchmark job (issue 6): momentum over the train window,
 * the correlation matrix, Ward on sqrt(0.5(1-rho)) cut to at most 25 clusters, the top 2 of each cluster by
 * momentum, single-linkage HRP on the winners. The covariance is not recomputed per window: the sums and
 * cross-products of the train window are updated as it slides (the rows that enter added, those that leave
 * subtracted), one pass over the upper triangle per window with the update rows kept in cache.
 */
import { hrpDistance, hrpWeights, linkage, quasiDiagonalOrder } from '../math/hrp.js';
import { fclusterMaxclust, wardLinkage } from '../math/ward.js';

export interface Job {
  /** Row-major daily returns, `returns[t * n + j]` (complete: no NaN). */
  returns: Float64Array;
  n: number;
  T: number;
  train: number;
  step: number;
  maxClusters: number;
  perCluster: number;
}

export interface Decision {
  window: number;
  /** Row index of the decision day's end (exclusive): rows [t - train, t) were seen. */
  t: number;
  symbols: Int32Array;
  weights: Float64Array;
}

export const windowStarts = (job: Job): number[] => {
  const out: number[] = [];
  for (let t = job.train; t < job.T; t += job.step) out.push(t);
  return out;
};

/**
 * P[i·n + j] (j ≥ i) += Σ_t sign_t · R[t, i] · R[t, j] over the listed rows: the upper triangle of a rank-k
 * update, eight rows at a time so each pass over a row of P does eight multiply-adds (P's row stays in L1).
 */
function rankUpdate(P: Float64Array, S: Float64Array, R: Float64Array, n: number, rows: number[], signs: number[]): void {
  const k = rows.length;
  for (let r = 0; r < k; r++) {
    const off = rows[r] * n;
    const sg = signs[r];
    for (let j = 0; j < n; j++) S[j] += sg * R[off + j];
  }
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let r = 0;
    for (; r + 8 <= k; r += 8) {
      const o0 = rows[r] * n, o1 = rows[r + 1] * n, o2 = rows[r + 2] * n, o3 = rows[r + 3] * n;
      const o4 = rows[r + 4] * n, o5 = rows[r + 5] * n, o6 = rows[r + 6] * n, o7 = rows[r + 7] * n;
      const x0 = signs[r] * R[o0 + i], x1 = signs[r + 1] * R[o1 + i], x2 = signs[r + 2] * R[o2 + i], x3 = signs[r + 3] * R[o3 + i];
      const x4 = signs[r + 4] * R[o4 + i], x5 = signs[r + 5] * R[o5 + i], x6 = signs[r + 6] * R[o6 + i], x7 = signs[r + 7] * R[o7 + i];
      for (let j = i; j < n; j++)
        P[row + j] += x0 * R[o0 + j] + x1 * R[o1 + j] + x2 * R[o2 + j] + x3 * R[o3 + j] + x4 * R[o4 + j] + x5 * R[o5 + j] + x6 * R[o6 + j] + x7 * R[o7 + j];
    }
    for (; r < k; r++) {
      const off = rows[r] * n;
      const xi = signs[r] * R[off + i];
      for (let j = i; j < n; j++) P[row + j] += xi * R[off + j];
    }
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** Decisions for windows [from, to) of `windowStarts(job)`. */
export function decide(job: Job, from: number, to: number): Decision[] {
  const { returns: R, n, train } = job;
  const starts = windowStarts(job);
  const S = new Float64Array(n);
  const P = new Float64Array(n * n); // upper triangle used
  const out: Decision[] = [];
  let lo = -1;
  let hi = -1;
  const sd = new Float64Array(n);
  const mom = new Float64Array(n);
  const D = new Float64Array(n * n);
  for (let w = from; w < to; w++) {
    const t = starts[w];
    const a = t - train;
    if (lo < 0 || a - lo >= train) {
      S.fill(0);
      P.fill(0);
      rankUpdate(P, S, R, n, range(a, t), range(a, t).map(() => 1));
    } else {
      // Slide: the rows that enter are added, the rows that leave subtracted, in one pass.
      const rows = [...range(hi, t), ...range(lo, a)];
      rankUpdate(P, S, R, n, rows, rows.map((r) => (r >= hi ? 1 : -1)));
    }
    lo = a;
    hi = t;
    const m = train;
    const cov = (i: number, j: number) => (P[i * n + j] - (S[i] * S[j]) / m) / (m - 1); // i <= j
    for (let i = 0; i < n; i++) sd[i] = Math.sqrt(Math.max(0, cov(i, i)));
    // Distances sqrt(0.5(1 - rho)) for Ward, straight from the cross-products: the upper triangle row by row,
    // then the lower one by a blocked transpose (cache-friendly), into a square Ward works in place.
    for (let i = 0; i < n; i++) {
      const row = i * n;
      const si = S[i];
      const di = sd[i];
      D[row + i] = 0;
      for (let j = i + 1; j < n; j++) {
        const c = (P[row + j] - (si * S[j]) / m) / (m - 1);
        const den = di * sd[j];
        const r = den > 0 ? Math.max(-1, Math.min(1, c / den)) : 0;
        D[row + j] = Math.sqrt(0.5 * (1 - r));
      }
    }
    const B = 64;
    for (let bi = 0; bi < n; bi += B)
      for (let bj = bi; bj < n; bj += B)
        for (let i = bi; i < Math.min(bi + B, n); i++) for (let j = Math.max(bj, i + 1); j < Math.min(bj + B, n); j++) D[j * n + i] = D[i * n + j];
    const labels = fclusterMaxclust(wardLinkage(D, n, 'square', { consume: true }), job.maxClusters);
    for (let j = 0; j < n; j++) {
      let g = 1;
      for (let s = a; s < t; s++) g *= 1 + R[s * n + j];
      mom[j] = g - 1;
    }
    // Top `perCluster` by momentum in each cluster.
    const byCluster = new Map<number, number[]>();
    for (let j = 0; j < n; j++) byCluster.set(labels[j], [...(byCluster.get(labels[j]) ?? []), j]);
    const winners: number[] = [];
    for (const members of byCluster.values()) winners.push(...members.sort((x, y) => mom[y] - mom[x] || x - y).slice(0, job.perCluster));
    winners.sort((x, y) => x - y);
    const k = winners.length;
    const subCov = new Float64Array(k * k);
    const subCorr = new Float64Array(k * k);
    for (let x = 0; x < k; x++)
      for (let y = 0; y < k; y++) {
        const [i, j] = winners[x] <= winners[y] ? [winners[x], winners[y]] : [winners[y], winners[x]];
        const c = cov(i, j);
        subCov[x * k + y] = c;
        subCorr[x * k + y] = x === y ? 1 : sd[i] > 0 && sd[j] > 0 ? c / (sd[i] * sd[j]) : 0;
      }
    const weights = k === 1 ? Float64Array.of(1) : hrpWeights(subCov, k, quasiDiagonalOrder(linkage(hrpDistance(subCorr, k), k, 'single')));
    out.push({ window: w, t, symbols: Int32Array.from(winners), weights });
  }
  return out;
}
