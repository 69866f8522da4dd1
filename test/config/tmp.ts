/** Temporary folders of config files for tests that need generated layouts (removed after each test file). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const made: string[] = [];

/** A fresh folder under the OS temp dir holding `files` (path → text). */
export function tmpTree(files: Record<string, string>, prefix = 'fractal-config-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  made.push(root);
  writeTree(root, files);
  return root;
}

export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
}

export function removeTmpTrees(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
