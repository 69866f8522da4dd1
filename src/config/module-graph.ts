/**
 * The files a plugin module runs: itself and every file it imports by a relative or absolute path, transitively (a
 * package imported by name is the lock file's, not the pipeline's). What the result cache and the manifest hash, so
 * a change to a helper a plugin imports is a change to the pipeline's code; and what the repository rule checks, so
 * a one-line module cannot re-export a file from elsewhere.
 *
 * Imports are found by their text (static `import … from`, `export … from`, `import '…'`, and `import('…')` with a
 * literal): an import written in a comment is followed too (a harmless extra file); a computed `import(x)` is not.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { byCodeUnit } from '../util/order.js';

const SPECIFIERS = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"\n]+)['"]/g, /\bimport\s*['"]([^'"\n]+)['"]/g, /\bimport\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g];

/** The file an import names, or undefined for a package (bare name, node: and other schemes). */
function fileOf(spec: string, from: string): string | undefined {
  if (spec.startsWith('file:')) return fileURLToPath(spec);
  if (spec.startsWith('./') || spec.startsWith('../') || isAbsolute(spec)) return resolve(dirname(from), spec);
  return undefined;
}

export interface ModuleGraph {
  /** Real paths of the module and every file it imports (transitively), sorted; the entry included. */
  files: string[];
  /** Imports that name no file on disk: `spec` as written in `from`. */
  missing: { from: string; spec: string }[];
}

/** The module at `entry` (a real path) and the files it imports, transitively. */
export function moduleGraph(entry: string): ModuleGraph {
  const seen = new Set<string>();
  const missing: ModuleGraph['missing'] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    for (const re of SPECIFIERS) {
      for (const m of text.matchAll(re)) {
        const target = fileOf(m[1]!, file);
        if (target === undefined) continue;
        if (!existsSync(target)) missing.push({ from: file, spec: m[1]! });
        else visit(realpathSync(target));
      }
    }
  };
  visit(entry);
  return { files: [...seen].sort(byCodeUnit), missing };
}
