/**
 * The probability of backtest overfitting by combinatorially symmetric cross-validation (Bailey, Borwein, López de
 * Prado & Zhu, "The Probability of Backtest Overfitting", J. Computational Finance 20(4), 2017), as pypbo computes
 * it:
 *
 *   drop the first T mod S rows; split the rest, in time order, into S blocks;
 *   for every choice c of S/2 blocks (in lexicographic order): J = those rows, J̄ = the others;
 *     n* = the column with the best per-period Sharpe ratio on J (the first on ties);
 *     r  = rank of n*'s Sharpe on J̄ among all columns' (1 = worst, N = best, ties averaged);
 *     λ_c = ln(ω / (1 − ω)), ω = r / (N + 1);
 *   PBO = #{c : λ_c < 0} / C(S, S/2).
 *
 * Ranks and ties. The paper ranks the N configurations' out-of-sample performance from 1 to N and sets
 * ω = r/(N + 1) (its CSCV step 2e), so that the median rank (N + 1)/2 is ω = ½, λ = 0; it does not say how tied
 * performances rank, and we give them the average of the ranks they span (scipy's rankdata, as pypbo does). It
 * defines PBO as the probability that the in-sample optimum ranks *below* the median out of sample (a strict
 * inequality; the estimate ∫_{−∞}^{0} f(λ) dλ is silent on the single point λ = 0). So a split whose
 * in-sample winner ranks exactly at the median (λ = 0: the middle of an odd N, or a tie that averages to the
 * median) is not counted as overfit: it neither over- nor underperforms. pypbo and R's pbo count λ ≤ 0, which reads
 * every such split as overfit (with every cell identical, PBO 1; found by review).
 *
 * Per-block sums of r and r² make each split O(S·N). The Sharpe ratio's ranks do not depend on annualisation.
 */

export interface PboResult {
  pbo: number;
  /** λ of every split, in the order of the splits. */
  logits: Float64Array;
  blocks: number;
  /** Rows left out at the start so that S divides the rest. */
  dropped: number;
  /** Rows per block. */
  block_rows: number;
  splits: number;
}

// Bound once: inside a vm context (jest) every global lookup in a hot loop costs.
const { sqrt, log } = Math;
const WORST = -Infinity;

/** C(20, 10) = 184,756 splits; each more block multiplies them by about 4. */
export const MAX_BLOCKS = 20;

/** Every S/2-subset of 0..S−1 in lexicographic order (itertools.combinations). */
export function halfSplits(S: number): Int32Array[] {
  const h = S / 2;
  const out: Int32Array[] = [];
  const c = Int32Array.from({ length: h }, (_, i) => i);
  for (;;) {
    out.push(c.slice());
    let i = h - 1;
    while (i >= 0 && c[i] === S - h + i) i--;
    if (i < 0) return out;
    c[i]++;
    for (let k = i + 1; k < h; k++) c[k] = c[k - 1] + 1;
  }
}

/**
 * PBO of the N columns of a T × N column-major matrix (`values[j * T + t]`, finite), with S blocks (even, 2 to
 * MAX_BLOCKS, and few enough that each half holds two rows or more).
 */
export function cscv(values: Float64Array, T: number, N: number, S: number): PboResult {
  if (S < 2 || S % 2 || S > MAX_BLOCKS) throw new RangeError(`CSCV needs an even number of blocks from 2 to ${MAX_BLOCKS}, got ${S}`);
  const dropped = T % S;
  const m = (T - dropped) / S;
  if (m * (S / 2) < 2) throw new RangeError(`CSCV with ${S} blocks needs at least ${2 * S} rows, got ${T}`);
  const s1 = new Float64Array(S * N);
  const s2 = new Float64Array(S * N);
  for (let j = 0; j < N; j++)
    for (let k = 0; k < S; k++) {
      let a = 0;
      let q = 0;
      for (let t = dropped + k * m; t < dropped + (k + 1) * m; t++) {
        const v = values[j * T + t];
        a += v;
        q += v * v;
      }
      s1[k * N + j] = a;
      s2[k * N + j] = q;
    }
  const nh = (S / 2) * m;
  const splits = halfSplits(S);
  const logits = new Float64Array(splits.length);
  const inSample = new Float64Array(N);
  const outSample = new Float64Array(N);
  const chosen = new Uint8Array(S);
  let overfit = 0;
  const sharpeOf = (a: number, q: number) => {
    const mu = a / nh;
    const sr = mu / sqrt((q - nh * mu * mu) / (nh - 1));
    return sr === sr ? sr : WORST; // NaN: a flat half (no variance) ranks last
  };
  splits.forEach((c, ci) => {
    chosen.fill(0);
    for (const k of c) chosen[k] = 1;
    for (let j = 0; j < N; j++) {
      let ai = 0;
      let qi = 0;
      let ao = 0;
      let qo = 0;
      for (let k = 0; k < S; k++) {
        if (chosen[k]) {
          ai += s1[k * N + j];
          qi += s2[k * N + j];
        } else {
          ao += s1[k * N + j];
          qo += s2[k * N + j];
        }
      }
      inSample[j] = sharpeOf(ai, qi);
      outSample[j] = sharpeOf(ao, qo);
    }
    let best = 0;
    for (let j = 1; j < N; j++) if (inSample[j] > inSample[best]) best = j;
    const x = outSample[best];
    let below = 0;
    let equal = 0;
    for (let j = 0; j < N; j++) {
      if (outSample[j] < x) below++;
      else if (outSample[j] === x) equal++;
    }
    const rank = below + (equal + 1) / 2;
    const w = rank / (N + 1);
    logits[ci] = log(w / (1 - w));
    // Strictly below the median (ranks are halves: exact), not at it.
    if (2 * rank < N + 1) overfit++;
  });
  return { pbo: overfit / splits.length, logits, blocks: S, dropped, block_rows: m, splits: splits.length };
}

/**
 * CSCV over the distinct columns whose values vary (`live`: their indices), the others left out: a column that never
 * varies (`flat`: a configuration that never held anything) has no Sharpe ratio, and the paper ranks configurations
 * by theirs. Ranked last instead, each such column would be a sure loser lifting the in-sample winner's rank out of
 * sample, and PBO would fall towards 0 as they were added (found by review). A column equal to an earlier live one on
 * every row (`same`: [column, the earlier one]; settings that made no difference, such as a risk-free rate) is the
 * same configuration's returns: counted twice it would tie with itself in every split and shift the median. Null
 * when fewer than two distinct columns vary (every cell identical: nothing to choose between, not overfitting).
 */
export function cscvOfVarying(values: Float64Array, T: number, N: number, S: number): { result: PboResult | null; live: number[]; flat: number[]; same: [number, number][] } {
  const live: number[] = [];
  const flat: number[] = [];
  const same: [number, number][] = [];
  const equal = (a: number, b: number) => {
    for (let t = 0; t < T; t++) if (!Object.is(values[a * T + t], values[b * T + t])) return false;
    return true;
  };
  for (let j = 0; j < N; j++) {
    let varies = false;
    for (let t = 1; t < T && !varies; t++) varies = values[j * T + t] !== values[j * T];
    if (!varies) {
      flat.push(j);
      continue;
    }
    const twin = live.find((k) => equal(j, k));
    if (twin === undefined) live.push(j);
    else same.push([j, twin]);
  }
  if (live.length < 2) return { result: null, live, flat, same };
  if (live.length === N) return { result: cscv(values, T, N, S), live, flat, same };
  const kept = new Float64Array(T * live.length);
  live.forEach((j, k) => kept.set(values.subarray(j * T, (j + 1) * T), k * T));
  return { result: cscv(kept, T, live.length, S), live, flat, same };
}
