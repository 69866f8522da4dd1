/**
 * The API's boundary (src/api/boundary.ts) and its table of the command line's flags by the API's names
 * (option-names.ts): every function the entry point exports goes through the boundary, every flag of every command
 * has a row, and no hint of the catalogue names a flag once rewritten. What a program sees end to end:
 * errors-name-options.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as api from '../../src/api/index.js';
import { apiText, isApiFunction } from '../../src/api/boundary.js';
import { CLI_FLAGS } from '../../src/api/option-names.js';
import { ERRORS } from '../../src/core/error-catalogue.js';
import { repo } from '../cli/helpers.js';

/** A flag outside backticks (a command in backticks is one to run in a shell, flags and all). */
const flagsOutsideCode = (text: string) => text.split(/`[^`\n]*`/).flatMap((part) => part.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? []);

test('every function the entry point exports goes through the boundary (FractalError, a class, is the one exception)', () => {
  const functions = Object.entries(api).filter(([, v]) => typeof v === 'function');
  expect(functions.length).toBeGreaterThan(25);
  expect(functions.filter(([name, f]) => name !== 'FractalError' && !isApiFunction(f)).map(([name]) => name)).toEqual([]);
  expect(isApiFunction(api.FractalError)).toBe(false);
});

test('every flag of every command has a row in the table, and every row is a flag', () => {
  // The built CLI's program with every command (jest cannot load its commands' modules at once in one process).
  const list = `import(${JSON.stringify(join(repo, 'dist', 'src', 'cli', 'main.js'))}).then(async (m) => {
    const flags = new Set();
    const walk = (c) => { for (const o of c.options) if (o.long) flags.add(o.long); c.commands.forEach(walk); };
    walk(await m.buildProgram());
    console.log(JSON.stringify([...flags]));
  })`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', list], { encoding: 'utf8' });
  const flags = new Set(JSON.parse(r.stdout) as string[]);
  expect(flags.size).toBeGreaterThan(30);
  expect([...flags].filter((f) => !Object.hasOwn(CLI_FLAGS, f)).sort()).toEqual([]);
  expect(Object.keys(CLI_FLAGS).filter((f) => !flags.has(f)).sort()).toEqual([]);
});

test("every hint of the catalogue, in the API's words, names no flag outside a command to run", () => {
  const left = Object.entries(ERRORS).flatMap(([code, spec]) => {
    const hint = (spec as { hint?: string }).hint;
    return hint ? flagsOutsideCode(apiText(hint)).map((f) => `${code}: ${f}`) : [];
  });
  expect(left).toEqual([]);
  // Commands in backticks stay whole; a flag in backticks alone is renamed; a word that only contains "--" is kept.
  expect(apiText('Run `pipeline-run lakehouse verify --lakehouse /x` first; or point --lakehouse at /x.')).toBe('Run `pipeline-run lakehouse verify --lakehouse /x` first; or point `lakehouse` at /x.');
  expect(apiText('Pass --replace to overwrite them, or import under another --venue.')).toBe('Pass `replace` to overwrite them, or import under another `venue`.');
  expect(apiText('the file a--b and --no-such-flag')).toBe('the file a--b and --no-such-flag');
  // A flag's name as a path's component is the path's (found by review: `/data/--days/lh` became /data/`days`/lh).
  expect(apiText('No lakehouse at /data/--days/lh nor at C:\\x\\--out\\y nor --out/z; pass --out.')).toBe('No lakehouse at /data/--days/lh nor at C:\\x\\--out\\y nor --out/z; pass `out`.');
  expect(apiText("(`--debug` prints the whole stack)")).not.toContain('--debug');
});
