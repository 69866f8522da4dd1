/**
 * The run-time error catalogue and docs/errors.md agree: every code is documented with its exit code and hint, the
 * page lists no code the catalogue lacks, and every code the sources raise is in the catalogue.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS } from '../../src/core/error-catalogue.js';
import { REPO_DIR } from '../data.js';

const doc = readFileSync(join(REPO_DIR, 'docs', 'errors.md'), 'utf8');
const rows = new Map(
  doc
    .split('\n')
    .filter((l) => /^\| `[A-Z_]+` \|/.test(l))
    .map((l) => {
      const cells = l.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim().replace(/\\\|/g, '|'));
      return [cells[0].replace(/`/g, ''), { exit: Number(cells[1]), summary: cells[2], hint: cells[3] }] as const;
    }),
);

test('every run-time error code is documented with its exit code and hint', () => {
  for (const [code, spec] of Object.entries(ERRORS)) {
    const row = rows.get(code);
    expect({ code, documented: Boolean(row) }).toEqual({ code, documented: true });
    expect({ code, exit: row!.exit, hint: row!.hint }).toEqual({ code, exit: spec.exit, hint: (spec as { hint?: string }).hint ?? '' });
    expect(row!.summary.length).toBeGreaterThan(10);
  }
});

test('the page lists no code the catalogue does not have', () => {
  expect([...rows.keys()].filter((c) => !Object.hasOwn(ERRORS, c))).toEqual([]);
});

test('every code the sources raise is in the catalogue', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const f = join(dir, n);
      if (statSync(f).isDirectory()) walk(f);
      else if (f.endsWith('.ts')) files.push(f);
    }
  };
  walk(join(REPO_DIR, 'src'));
  walk(join(REPO_DIR, 'stages'));
  const raised = new Set<string>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:inputError|runError|new FractalError)\(\s*'([A-Z_]+)'/g)) raised.add(m[1]);
  }
  expect(raised.size).toBeGreaterThan(60);
  expect([...raised].filter((c) => !Object.hasOwn(ERRORS, c))).toEqual([]);
});
