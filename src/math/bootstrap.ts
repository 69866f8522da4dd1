/**
 * The stationary bootstrap (Politis & Romano 1994) for the tournament's intervals, with its automatic mean block
 * length (Politis & White 2004, corrected by Patton, Politis & White 2009), percentile intervals and paired
 * resampling across cells. docs/tournaments.md states every convention; the numbers are checked against arch's
 * published test values and an independent implementation (test/math/bootstrap.test.ts).
 *
 * Resample b of a run seeded `seed` draws from its own stream (`streamSeed(seed, b)`), in arch's layout: n start
 * indices, then n uniforms; index t starts a new block iff u[t] ≤ 1/L, else continues the previous one, wrapping
 * from n − 1 to 0. The same seed gives the same resamples whichever thread draws them. arch draws from numpy's
 * PCG64, so its indices differ numerically from these but not in distribution.
 */
import { Rng, streamSeed } from './rng.js';

// Bound once: inside a vm context (jest) a global lookup in a hot loop costs.
const { abs, sqrt, pow } = Math;

/** The indices of resample `b`: a stationary bootstrap of 0..n−1 with mean block length `meanBlock` (≥ 1). */
export function stationaryIndices(n: number, meanBlock: number, seed: number, b: number, out: Int32Array = new Int32Array(n)): Int32Array {
  const p = 1 / Math.max(1, meanBlock);
  const rng = new Rng(streamSeed(seed, b));
  for (let t = 0; t < n; t++) out[t] = (rng.next() * n) | 0; // floor: exact for n < 2^31
  rng.next(); // u[0]: drawn, never used (arch's layout)
  for (let t = 1; t < n; t++) {
    if (rng.next() > p) out[t] = out[t - 1] + 1 === n ? 0 : out[t - 1] + 1;
  }
  return out;
}

export interface BlockLength {
  /** The stationary bootstrap's mean block length b_SB (not rounded, at most `cap`). */
  stationary: number;
  /** The circular block bootstrap's block length b_CB = 1.5^(1/3) b_SB (not rounded, at most `cap`). */
  circular: number;
  /** The lag window M chosen by the flat-top rule, and ⌈min(3√n, n/3)⌉. */
  m: number;
  cap: number;
}

const flatTop = (s: number): number => {
  const a = Math.abs(s);
  return a <= 0.5 ? 1 : a <= 1 ? 2 * (1 - a) : 0;
};

/**
 * Politis & White (2004) automatic block length with the 2009 correction (D_SB = 2 ĝ(0)²), computed as arch's
 * `optimal_block_length` does: K_N = max(5, ⌊log10 n⌋), c = 2, m_max = ⌈√n⌉ + K_N, M = 2 m̂ for the first lag m̂
 * that starts K_N consecutive insignificant autocorrelations (arch's own normalisation), else m_max; both lengths
 * capped at ⌈min(3√n, n/3)⌉. A constant or very short series (n < 10) gives 1.
 */
export function optimalBlockLength(x: ArrayLike<number>): BlockLength {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  const e = new Float64Array(n);
  // Deviations at the level of rounding (a constant series whose mean is not exact) are no variation.
  let varying = false;
  for (let i = 0; i < n; i++) {
    e[i] = x[i] - mean;
    if (abs(e[i]) > 1e-12 * abs(mean)) varying = true;
  }
  const cap = n > 0 ? Math.ceil(Math.min(3 * Math.sqrt(n), n / 3)) : 1;
  if (n < 10 || !varying) return { stationary: 1, circular: 1, m: 0, cap };
  const log10n = Math.log10(n);
  const kn = Math.max(5, Math.floor(log10n));
  const mMax = Math.ceil(Math.sqrt(n)) + kn;
  const threshold = 2 * Math.sqrt(log10n / n);
  const acov = new Float64Array(mMax + 1);
  for (let k = 0; k <= mMax; k++) {
    let s = 0;
    for (let t = k; t < n; t++) s += e[t] * e[t - k];
    acov[k] = s / n;
  }
  // arch's autocorrelation: |Σ e_t e_{t−k}| over the norms of the two overlapping stretches it can see.
  const insignificant: boolean[] = [];
  for (let k = 0; k <= mMax; k++) {
    let v1 = 0;
    let v2 = 0;
    for (let t = k + 1; t < n; t++) v1 += e[t] * e[t];
    for (let t = 0; t < n - k - 1; t++) v2 += e[t] * e[t];
    insignificant.push(abs(acov[k] * n) / sqrt(v1 * v2) < threshold);
  }
  let first = -1;
  for (let j = 1; j <= mMax - kn && first < 0; j++) {
    let all = true;
    for (let k = j; k < j + kn; k++) if (!insignificant[k]) all = false;
    if (all) first = j;
  }
  const m = first < 0 ? mMax : Math.min(2 * Math.max(first, 1), mMax);
  let G = 0;
  let g0 = acov[0];
  for (let k = 1; k <= m; k++) {
    const lam = flatTop(k / m);
    G += 2 * lam * k * acov[k];
    g0 += 2 * lam * acov[k];
  }
  const dSB = 2 * g0 * g0;
  const dCB = (4 / 3) * g0 * g0;
  const stationary = Math.min(Math.cbrt((2 * G * G) / dSB) * Math.cbrt(n), cap);
  const circular = Math.min(Math.cbrt((2 * G * G) / dCB) * Math.cbrt(n), cap);
  return { stationary, circular, m, cap };
}

/** Hyndman–Fan type 7 quantile (numpy's default, R's default) of an ascending sample. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (!n) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** The percentile interval [Q(α/2), Q(1 − α/2)], α = 1 − confidence, of a bootstrap sample (type 7 quantiles). */
export function percentileInterval(values: ArrayLike<number>, confidence: number): [number, number] {
  const s = Float64Array.from(values).sort();
  const a = 1 - confidence;
  return [quantileSorted(s, a / 2), quantileSorted(s, 1 - a / 2)];
}

export interface PairedBootstrapOptions {
  /** Periods a year: the Sharpe ratio and CAGR are annualised with it. */
  periodsPerYear: number;
  resamples: number;
  /** Mean block length (≥ 1; below 1 counts as 1). */
  meanBlock: number;
  seed: number;
  confidence: number;
  /** Column of the champion (P(cell's Sharpe > champion's) is counted against it). */
  champion: number;
}

export interface PairedBootstrapResult {
  /** Per cell, the percentile interval of the annualised Sharpe ratio, CAGR and max drawdown (≤ 0). */
  sharpe: [number, number][];
  cagr: [number, number][];
  max_drawdown: [number, number][];
  /** Per cell, (#{Sharpe* > champion's Sharpe*} + ½ #{ties}) / B over the paired resamples: 0.5 for the champion. */
  p_beats_champion: number[];
}

/**
 * Paired stationary bootstrap over the columns of a T × N column-major matrix (`values[j * T + t]`, all finite):
 * every resample applies one index vector to every column, so the comparison with the champion is paired.
 */
export function pairedBootstrap(values: Float64Array, T: number, N: number, o: PairedBootstrapOptions): PairedBootstrapResult {
  const B = o.resamples;
  const sharpe = new Float64Array(N * B);
  const growth = new Float64Array(N * B);
  const drawdown = new Float64Array(N * B);
  const idx = new Int32Array(T);
  const annual = sqrt(o.periodsPerYear);
  for (let b = 0; b < B; b++) {
    stationaryIndices(T, o.meanBlock, o.seed, b, idx);
    for (let j = 0; j < N; j++) {
      // One pass over the resampled path: sum and sum of squares (the Sharpe ratio), growth, drawdown.
      const off = j * T;
      let s = 0;
      let ss = 0;
      let e = 1;
      let peak = 1;
      let worst = 1;
      for (let t = 0; t < T; t++) {
        const v = values[off + idx[t]];
        s += v;
        ss += v * v;
        e *= 1 + v;
        if (e > peak) peak = e;
        else if (e < peak * worst) worst = e / peak;
      }
      const mean = s / T;
      const sd = sqrt((ss - T * mean * mean) / (T - 1));
      sharpe[j * B + b] = sd > 0 ? (mean / sd) * annual : NaN;
      growth[j * B + b] = e > 0 ? pow(e, o.periodsPerYear / T) - 1 : -1;
      drawdown[j * B + b] = worst - 1;
    }
  }
  const out: PairedBootstrapResult = { sharpe: [], cagr: [], max_drawdown: [], p_beats_champion: [] };
  const champ = sharpe.subarray(o.champion * B, (o.champion + 1) * B);
  for (let j = 0; j < N; j++) {
    const own = sharpe.subarray(j * B, (j + 1) * B);
    out.sharpe.push(percentileInterval(own, o.confidence));
    out.cagr.push(percentileInterval(growth.subarray(j * B, (j + 1) * B), o.confidence));
    out.max_drawdown.push(percentileInterval(drawdown.subarray(j * B, (j + 1) * B), o.confidence));
    let wins = 0;
    for (let b = 0; b < B; b++) wins += own[b] > champ[b] ? 1 : own[b] === champ[b] ? 0.5 : 0;
    out.p_beats_champion.push(wins / B);
  }
  return out;
}
