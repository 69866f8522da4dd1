/**
 * Lookups keyed by names users choose (symbols, sectors, sleeves, factors, cells). A symbol may be called
 * `constructor`, `toString` or `__proto__`: on a plain object `obj[name]` would reach Object.prototype (a function
 * where a number was expected, or the prototype itself on assignment). Maps, or objects without a prototype,
 * never do; params objects from a config are read through `ownMap`/`ownGet`, which see own keys only.
 */

/** A params mapping as a Map of its own entries (an absent mapping is an empty Map). */
export function ownMap<V>(obj: Readonly<Record<string, V>> | null | undefined): Map<string, V> {
  return new Map(obj ? Object.entries(obj) : []);
}

/** obj[key] when obj has `key` as an own property, else undefined. */
export function ownGet<V>(obj: Readonly<Record<string, V>> | null | undefined, key: string): V | undefined {
  return obj && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** An object without a prototype, for JSON output keyed by user-provided names. */
export function dict<V>(entries: Iterable<readonly [string, V]> = []): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  // defineProperty, not assignment: `out['__proto__'] = v` is a plain key here, but say so explicitly.
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

// A decision's stages look names up in the same arrays (the returns' symbols behind the features, the scores and
// the clusters; the ingestion's candidates): each lookup is built once per array, not once per stage. The
// context's arrays are never changed once made, so a lookup never goes stale.
const positionsOf = new WeakMap<readonly string[], ReadonlyMap<string, number>>();
const bySymbolOf = new WeakMap<readonly { symbol: string }[], ReadonlyMap<string, { symbol: string }>>();

/** Each name's position in `names` (the last one, if a name repeats), built once per array. */
export function positions(names: readonly string[]): ReadonlyMap<string, number> {
  let map = positionsOf.get(names);
  if (!map) positionsOf.set(names, (map = new Map(names.map((s, j) => [s, j]))));
  return map;
}

/** The items by their `symbol` (the last one, if a symbol repeats), built once per array. */
export function bySymbol<T extends { symbol: string }>(items: readonly T[]): ReadonlyMap<string, T> {
  let map = bySymbolOf.get(items) as ReadonlyMap<string, T> | undefined;
  if (!map) bySymbolOf.set(items, (map = new Map(items.map((c) => [c.symbol, c]))));
  return map;
}
