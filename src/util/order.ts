/**
 * String order by UTF-16 code unit: the same on every machine. `localeCompare` follows the process's ICU locale,
 * so tie-breaks, hashes and cache keys built on it could differ between a laptop and CI.
 */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
