/** Canonical JSON (keys sorted) and its sha256: the identity of a resolved config, and the bytes of every JSON artifact. */
import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted by code unit at every depth (arrays keep their order), undefined and function
 * members dropped, typed arrays as lists, NaN and ±Infinity as null, `toJSON` honoured. Compact by default (the
 * config hash); `indent` pretty-prints it like JSON.stringify(v, null, indent). The same value gives the same bytes
 * whatever order its keys were inserted in (a cache hit, a worker thread, a map filled in another order).
 */
export function canonicalJson(v: unknown, indent = 0): string {
  return write(v, indent, 0) ?? 'null';
}

// Each array and object is its members' texts joined (V8's join of a list of strings is one flat copy): building the
// text by appending piece by piece was faster for small documents but twice as slow for large ones (a tree of millions
// of pieces to flatten when the file is written).
function write(v: unknown, indent: number, depth: number): string | undefined {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: () => unknown }).toJSON();
  if (typeof v === 'number') return numberText(v);
  if (v === null || typeof v !== 'object') return JSON.stringify(v); // undefined for undefined, functions, symbols
  const open = indent ? `\n${' '.repeat(indent * (depth + 1))}` : '';
  const close = indent ? `\n${' '.repeat(indent * depth)}` : '';
  const sep = indent ? ': ' : ':';
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    // A typed array of numbers is written from its elements, not copied into a list of numbers first; a BigInt one as
    // a list of its elements (which throws, as JSON.stringify does on a bigint).
    if (v instanceof BigInt64Array || v instanceof BigUint64Array) return write(Array.from(v), indent, depth);
    const xs = v as unknown as ArrayLike<number>;
    if (!xs.length) return '[]';
    const texts = new Array<string>(xs.length);
    for (let i = 0; i < xs.length; i++) texts[i] = numberText(xs[i]!);
    return `[${open}${texts.join(`,${open}`)}${close}]`;
  }
  // map(), not v[i] in a loop: optimised code loading elements of both packed and holey arrays may turn a packed array
  // holey in place, and V8 serialises a holey array sparsely (a checkpoint blob of the value would change).
  if (Array.isArray(v)) return v.length ? `[${open}${v.map((x) => write(x, indent, depth + 1) ?? 'null').join(`,${open}`)}${close}]` : '[]';
  const o = v as Record<string, unknown>;
  const members: string[] = [];
  for (const k of Object.keys(o).sort()) {
    const s = write(o[k], indent, depth + 1);
    if (s !== undefined) members.push(`${quotedKey(k)}${sep}${s}`);
  }
  return members.length ? `{${open}${members.join(`,${open}`)}${close}}` : '{}';
}

/** A number as JSON.stringify writes a finite one (its ToString); NaN and ±Infinity as null. */
const numberText = (x: number): string => (Number.isFinite(x) ? String(x) : 'null');

// Keys as JSON strings, made once: a document repeats its few keys many times over (a row per symbol, a record per window).
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 10_000) quotedKeys.set(k, q);
  }
  return q;
}

export const sha256 = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

export const configHash = (resolved: unknown): string => sha256(canonicalJson(resolved));
