/** Canonical JSON (keys sorted, no whitespace) and its sha256: the identity of a resolved config. */
import { createHash } from 'node:crypto';

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(v as object)
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

export const sha256 = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

export const configHash = (resolved: unknown): string => sha256(canonicalJson(resolved));
