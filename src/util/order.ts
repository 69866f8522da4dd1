/**
 * String order by UTF-16 code unit: the same on every machine. `localeCompare` follows the process's ICU locale,
 * so tie-breaks, hashes and cache keys built on it could differ between a laptop and CI.
 */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The first index of ascending `a` whose value is not below `x` (a.length when none is). */
export function lowerBound(a: Int32Array | Float64Array, x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index of ascending `a` whose value is above `x` (a.length when none is). */
export function upperBound(a: Int32Array | Float64Array, x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The indices of `keys` in ascending order of their keys, equal keys in index order (a stable argsort, numpy's
 * kind='mergesort'; -0 and 0 are equal): the keys sorted natively, each index then placed after the equal keys
 * before it, with no comparator called back. The keys are numbers, not NaN.
 */
export function stableOrder(keys: Float64Array): Int32Array {
  const m = keys.length;
  const sorted = Float64Array.from(keys).sort();
  // placed[s]: how many indices already went to the run of equal keys that starts at s.
  const placed = new Int32Array(m);
  const order = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const lo = lowerBound(sorted, keys[i]!);
    order[lo + placed[lo]!++] = i;
  }
  return order;
}
