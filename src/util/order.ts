/**
 * String order by UTF-16 code unit: the same on every machine. `localeCompare` follows the process's ICU locale,
 * so tie-breaks, hashes and cache keys built on it could differ between a laptop and CI.
 */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The first index of ascending `a` whose value is not below `x` (a.length when none is). */
export function lowerBound(a: Int32Array, x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
