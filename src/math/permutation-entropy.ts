/**
 * Normalised permutation entropy (Bandt & Pompe 2002, "Permutation entropy: a natural complexity measure for time
 * series", Phys. Rev. Lett. 88, 174102): the Shannon entropy of the distribution of ordinal patterns of `order`
 * consecutive values (spaced `delay` apart), divided by ln(order!), so it lies in [0, 1]: 0 for a monotone series,
 * near 1 for white noise. It is what the seeds' spectral veto (entropy_max 0.995, relaxed 0.999) is calibrated on:
 * the histogram entropy of src/math/features.ts stays around 0.6-0.9 on daily crypto returns.
 *
 * Conventions: missing values (NaN, infinities) are dropped first, keeping order (as the seeds' implementation,
 * which filters NaN before embedding); a pattern is the argsort of its values with ties broken by position (numpy
 * argsort kind='stable'); fewer than order + (order - 1)(delay - 1) finite values, i.e. no complete pattern, gives NaN.
 */

const FACTORIALS = [1, 1, 2, 6, 24, 120, 720, 5040, 40320];

/** Permutation entropy of `values` over `[start, end)`, normalised to [0, 1]. order in 2..8, delay >= 1. */
export function permutationEntropy(values: ArrayLike<number>, order = 3, delay = 1, start = 0, end = values.length): number {
  if (!Number.isInteger(order) || order < 2 || order > 8) throw new Error(`order must be an integer in 2..8, got ${order}`);
  if (!Number.isInteger(delay) || delay < 1) throw new Error(`delay must be a positive integer, got ${delay}`);
  const x: number[] = [];
  for (let i = Math.max(0, start); i < Math.min(values.length, end); i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) x.push(v);
  }
  const patterns = x.length - (order - 1) * delay;
  if (patterns < 1) return NaN;
  const counts = new Map<number, number>();
  const idx = new Array<number>(order);
  for (let i = 0; i < patterns; i++) {
    for (let k = 0; k < order; k++) idx[k] = k;
    // Stable argsort of the order values (insertion sort: order is tiny).
    for (let a = 1; a < order; a++) {
      const cur = idx[a]!;
      const cv = x[i + cur * delay]!;
      let b = a - 1;
      while (b >= 0 && x[i + idx[b]! * delay]! > cv) {
        idx[b + 1] = idx[b]!;
        b--;
      }
      idx[b + 1] = cur;
    }
    let code = 0;
    for (let k = 0; k < order; k++) code = code * order + idx[k]!;
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  let h = 0;
  for (const c of counts.values()) {
    const p = c / patterns;
    h -= p * Math.log(p);
  }
  return h / Math.log(FACTORIALS[order]!);
}
