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

function write(v: unknown, indent: number, depth: number): string | undefined {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: () => unknown }).toJSON();
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) v = Array.from(v as unknown as ArrayLike<number>);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v); // undefined for undefined, functions, symbols
  const open = indent ? `\n${' '.repeat(indent * (depth + 1))}` : '';
  const close = indent ? `\n${' '.repeat(indent * depth)}` : '';
  const sep = indent ? ': ' : ':';
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return `[${open}${v.map((x) => write(x, indent, depth + 1) ?? 'null').join(`,${open}`)}${close}]`;
  }
  const o = v as Record<string, unknown>;
  const members: string[] = [];
  for (const k of Object.keys(o).sort()) {
    const s = write(o[k], indent, depth + 1);
    if (s !== undefined) members.push(`${JSON.stringify(k)}${sep}${s}`);
  }
  return members.length ? `{${open}${members.join(`,${open}`)}${close}}` : '{}';
}

export const sha256 = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

export const configHash = (resolved: unknown): string => sha256(canonicalJson(resolved));
