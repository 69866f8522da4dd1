/**
 * Where each value of a composed config came from. Composition merges several files (extends chain, profile) and
 * command-line overrides; every JSON pointer of the result remembers the file and YAML path that set it, so a
 * diagnostic found after merging still points into the file a person has to edit.
 */
import type { Location } from './diagnostics.js';
import { locate, type Path, type SourceDoc } from './source.js';

export type Origin = { src: SourceDoc; path: Path } | { fixed: Location };

export type OriginMap = Map<string, Origin>;

export const escapePointerToken = (t: string | number) => String(t).replace(/~/g, '~0').replace(/\//g, '~1');
export const pointer = (path: Path): string => path.map((t) => `/${escapePointerToken(t)}`).join('');
export function parsePointer(ptr: string): string[] {
  if (ptr === '') return [];
  return ptr.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Registers every node of `value` (found at `path` in `src`) under `prefix` in the composed document. */
export function recordOrigins(map: OriginMap, value: unknown, prefix: Path, make: (rel: Path) => Origin, rel: Path = []): void {
  map.set(pointer([...prefix, ...rel]), make(rel));
  if (Array.isArray(value)) value.forEach((v, i) => recordOrigins(map, v, prefix, make, [...rel, i]));
  else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) recordOrigins(map, v, prefix, make, [...rel, k]);
}

export const fromSource = (src: SourceDoc, base: Path = []) => (rel: Path): Origin => ({ src, path: [...base, ...rel] });

/** Removes every pointer at or below `ptr` (a value that is replaced whole, such as a list). */
export function dropBelow(map: OriginMap, ptr: string): void {
  for (const k of [...map.keys()]) if (k === ptr || k.startsWith(`${ptr}/`)) map.delete(k);
}

/** Location of the value (or key) at `path` in the composed document: its own origin, or its nearest ancestor's. */
export function locateIn(map: OriginMap, path: Path, which: 'value' | 'key' = 'value'): Location {
  for (let n = path.length; n >= 0; n--) {
    const o = map.get(pointer(path.slice(0, n)));
    if (!o) continue;
    if ('fixed' in o) return o.fixed;
    // An ancestor stands in for a missing node: point at the ancestor itself, not at one of its keys.
    return locate(o.src, o.path, n === path.length ? which : 'value');
  }
  return { file: '<unknown>', line: 1, column: 1 };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Deep merge: objects merge key by key, everything else (lists included) is replaced by the overlay. */
export function deepMerge(base: unknown, overlay: unknown, ptr: string, origins: OriginMap, overlayOrigins: OriginMap): unknown {
  if (isPlainObject(base) && isPlainObject(overlay)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(base)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    for (const [k, v] of Object.entries(overlay)) {
      const childPtr = `${ptr}/${escapePointerToken(k)}`;
      // Own keys only: '__proto__' in a YAML mapping is a key like any other, never the prototype.
      const merged = Object.hasOwn(base, k) ? deepMerge(base[k], v, childPtr, origins, overlayOrigins) : copyOver(v, childPtr, origins, overlayOrigins);
      Object.defineProperty(out, k, { value: merged, enumerable: true, writable: true, configurable: true });
    }
    const o = overlayOrigins.get(ptr);
    if (o) origins.set(ptr, o);
    return out;
  }
  return copyOver(overlay, ptr, origins, overlayOrigins);
}

function copyOver(v: unknown, ptr: string, origins: OriginMap, overlayOrigins: OriginMap): unknown {
  dropBelow(origins, ptr);
  for (const [k, o] of overlayOrigins) if (k === ptr || k.startsWith(`${ptr}/`)) origins.set(k, o);
  return structuredClone(v);
}
