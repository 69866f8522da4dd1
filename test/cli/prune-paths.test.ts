/**
 * `runs` and `runs --prune` name run folders as every other command does: under --out as it was given (absolute when
 * --out is absolute), never relative to the current folder (`../../tmp/...`).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-prune-paths-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An interrupted run: a `.partial` folder with no process (no RUNNING file) and no audit event. */
const interrupted = (out: string) => {
  const folder = join(out, 'demo', '.20200101T000000Z-abcdef.partial');
  mkdirSync(folder, { recursive: true });
  return folder;
};

test('an absolute --out: the folders listed and removed are absolute; a relative one: under it, as given', () => {
  const out = join(tmp, 'abs');
  const folder = interrupted(out);
  const listed = cli(['runs', '--out', out]); // run from the repository: another folder than --out's
  expect(listed.code).toBe(0);
  expect(listed.stderr).toContain(`interrupted: ${folder} (no audit event)\n`);
  const pruned = cli(['runs', '--out', out, '--prune']);
  expect(pruned.code).toBe(0);
  expect(pruned.stderr).toContain(`removed interrupted run ${folder} (no audit event)\n`);
  expect(existsSync(folder)).toBe(false);

  interrupted(join(tmp, 'rel', 'runs'));
  const relative = cli(['runs', '--out', './runs/', '--prune'], { cwd: join(tmp, 'rel') });
  expect(relative.code).toBe(0);
  expect(relative.stderr).toContain(`removed interrupted run ${join('runs', 'demo', '.20200101T000000Z-abcdef.partial')} (no audit event)\n`);
});
