/**
 * What identifies the engine's code for caches and checkpoints: a hash of the code's bytes, not of file times, so a
 * rebuild that writes the same bundle (`npm ci`'s prepare, `npx` installing the project) keeps every cached sleeve,
 * cell and checkpoint, and any change to the code drops them. The build hashes its bundle once and writes the
 * figure beside it (scripts/build.mjs); run from source (tests), the tree is hashed when first asked.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byCodeUnit } from '../util/order.js';

/** The file beside the bundle's chunks holding their hash (hex), written by the build. */
export const CODE_FINGERPRINT_FILE = 'code-fingerprint.txt';

/** sha256 over the .js, .cjs and .ts files under `dirs` (paths relative to `root`): each one's path and bytes, in code-unit order. */
export function codeTreeHash(root: string, dirs: readonly string[]): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => byCodeUnit(a.name, b.name))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else if (/\.(c?js|ts)$/.test(e.name)) {
        const bytes = readFileSync(join(root, p));
        h.update(`${p}\u0000${bytes.length}\u0000`).update(bytes);
      }
    }
  };
  for (const d of dirs) walk(d);
  return h.digest('hex');
}
