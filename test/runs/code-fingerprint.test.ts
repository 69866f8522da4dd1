/**
 * The code's identity for caches and checkpoints (src/runs/code-fingerprint.ts): the bytes of the code, not file
 * times. A rebuild that writes the same bundle (npm ci's prepare, npx installing the project) used to change every
 * file's mtime and so refuse every `--reuse` with REUSE_CODE_CHANGED and drop every cached sleeve and cell.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CODE_FINGERPRINT_FILE, codeTreeHash } from '../../src/runs/code-fingerprint.js';
import { repo } from '../cli/helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fractal-code-'));
  mkdirSync(join(dir, 'chunks'));
  writeFileSync(join(dir, 'main.js'), 'export const a = 1;\n');
  writeFileSync(join(dir, 'chunks', 'b.js'), 'export const b = 2;\n');
  writeFileSync(join(dir, 'validators.cjs'), 'module.exports = 3;\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('the same bytes written again at another time: the same identity', () => {
  const before = codeTreeHash(dir, ['']);
  for (const f of ['main.js', 'chunks/b.js', 'validators.cjs']) {
    writeFileSync(join(dir, f), readFileSync(join(dir, f)));
    utimesSync(join(dir, f), new Date(2031, 0, 1), new Date(2031, 0, 1));
  }
  expect(codeTreeHash(dir, [''])).toBe(before);
});

test('any change to the code is another identity: a byte, a file renamed, a file added; maps and notes are not code', () => {
  const before = codeTreeHash(dir, ['']);
  writeFileSync(join(dir, 'chunks', 'b.js'), 'export const b = 3;\n');
  const edited = codeTreeHash(dir, ['']);
  expect(edited).not.toBe(before);
  renameSync(join(dir, 'chunks', 'b.js'), join(dir, 'chunks', 'c.js'));
  const renamed = codeTreeHash(dir, ['']);
  expect(renamed).not.toBe(edited);
  writeFileSync(join(dir, 'chunks', 'd.js'), '');
  expect(codeTreeHash(dir, [''])).not.toBe(renamed);
  const now = codeTreeHash(dir, ['']);
  writeFileSync(join(dir, 'main.js.map'), '{}');
  writeFileSync(join(dir, CODE_FINGERPRINT_FILE), 'x\n');
  expect(codeTreeHash(dir, [''])).toBe(now);
});

test('the hash is sha256 over each file\'s path and bytes in code-unit order (recomputed here independently)', () => {
  const h = createHash('sha256');
  for (const p of ['chunks/b.js', 'main.js', 'validators.cjs']) {
    const bytes = readFileSync(join(dir, p));
    h.update(`${p}\u0000${bytes.length}\u0000`).update(bytes);
  }
  expect(codeTreeHash(dir, [''])).toBe(h.digest('hex'));
});

test('the build wrote beside the bundle the hash of the bundle it shipped', () => {
  const bundle = join(repo, 'dist', 'bundle');
  expect(readdirSync(bundle)).toContain(CODE_FINGERPRINT_FILE);
  expect(readFileSync(join(bundle, CODE_FINGERPRINT_FILE), 'utf8').trim()).toBe(codeTreeHash(bundle, ['']));
});
