/** Canonical JSON (keys sorted) and its sha256: the identity of a resolved config, and the bytes of every JSON artifact. */
import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted by code unit at every depth (arrays keep their order), undefined and function
 * members dropped, typed arrays as lists, NaN and ±Infinity as null, `toJSON` honoured. Compact by default (the
 * config hash); `indent` pretty-prints it like JSON.stringify(v, null, indent). The same value gives the same bytes
 * whatever order its keys were inserted in (a cache hit, a worker thread, a map filled in another order).
 */
export function canonicalJson(v: unknown, indent = 0): string {
  return write(v, indent ? marginsOf(indent) : NO_MARGINS, 0) ?? 'null';
}

// The text is appended to one string as the value is walked, with no list of parts made and joined per array or
// object: every JSON artifact and audit event is written here, and those lists were most of the garbage it made.

/** The text before a member at each depth: a newline and the indentation when pretty-printing, else nothing. */
interface Margins {
  indent: number;
  at: string[];
}
const NO_MARGINS: Margins = { indent: 0, at: [] };
const marginsByIndent = new Map<number, Margins>();
function marginsOf(indent: number): Margins {
  let m = marginsByIndent.get(indent);
  if (!m) marginsByIndent.set(indent, (m = { indent, at: [] }));
  return m;
}
const margin = (m: Margins, depth: number): string => (m.indent ? (m.at[depth] ??= `\n${' '.repeat(m.indent * depth)}`) : '');

// Keys as JSON strings: a document repeats its few keys many times over (a row per symbol, a record per window).
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 10_000) quotedKeys.set(k, q);
  }
  return q;
}

/** A number as JSON.stringify writes a finite one (its ToString); NaN and ±Infinity as null. */
const numberText = (x: number): string => (Number.isFinite(x) ? String(x) : 'null');

function write(v: unknown, m: Margins, depth: number): string | undefined {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: () => unknown }).toJSON();
  if (typeof v === 'number') return numberText(v);
  if (v === null || typeof v !== 'object') return JSON.stringify(v); // undefined for undefined, functions, symbols
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    // A typed array of numbers is written straight from its elements; a BigInt one as a list of them (which throws,
    // as JSON.stringify does on a bigint).
    if (v instanceof BigInt64Array || v instanceof BigUint64Array) return write(Array.from(v), m, depth);
    const xs = v as unknown as ArrayLike<number>;
    if (!xs.length) return '[]';
    const open = margin(m, depth + 1);
    let s = `[${open}${numberText(xs[0]!)}`;
    for (let i = 1; i < xs.length; i++) s += `,${open}${numberText(xs[i]!)}`;
    return `${s}${margin(m, depth)}]`;
  }
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    const open = margin(m, depth + 1);
    let s = '[';
    let next = 0;
    // forEach, not v[i] in a loop: optimised code loading elements of both packed and holey arrays may turn a packed
    // array holey in place, and a holey array is v8-serialised sparsely (a checkpoint blob would change). A hole is
    // written as nothing, as Array.prototype.join writes it.
    v.forEach((x: unknown, i: number) => {
      for (; next < i; next++) s += next ? `,${open}` : open;
      s += `${i ? `,${open}` : open}${write(x, m, depth + 1) ?? 'null'}`;
      next = i + 1;
    });
    for (; next < v.length; next++) s += next ? `,${open}` : open;
    return `${s}${margin(m, depth)}]`;
  }
  const o = v as Record<string, unknown>;
  const open = margin(m, depth + 1);
  const sep = m.indent ? ': ' : ':';
  let s: string | undefined;
  for (const k of Object.keys(o).sort()) {
    const x = write(o[k], m, depth + 1);
    if (x !== undefined) s = `${s === undefined ? '{' : `${s},`}${open}${quotedKey(k)}${sep}${x}`;
  }
  return s === undefined ? '{}' : `${s}${margin(m, depth)}}`;
}

export const sha256 = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

export const configHash = (resolved: unknown): string => sha256(canonicalJson(resolved));
