/**
 * No file descriptor left while the launcher loads the CLI's chunks (found in review: at `ulimit -n 24` a raw Node
 * stack, EMFILE opening dist/bundle/chunk-*.js, and nothing at all on stdout under --json; from 26 up the CLI itself
 * said TOO_MANY_OPEN_FILES). The launcher says it, in the catalogue's words. Below ~19 descriptors Node cannot read
 * the launcher itself (or aborts while starting): nothing of Fractal runs there, and those limits are skipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERRORS } from '../../src/core/error-catalogue.js';
import { FractalError, systemError } from '../../src/core/errors.js';
import { repo } from './helpers.js';

let tmp: string;
let bad: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-ulimit-'));
  bad = join(tmp, 'bad.yaml');
  writeFileSync(bad, 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: nosuch\n');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const launcher = join(repo, 'bin', 'pipeline-run.js');

function atLimit(limit: number, args: string[]) {
  // jest's NODE_OPTIONS (--experimental-vm-modules) is not the user's
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries({ ...process.env, CI: '1' }).filter(([k]) => k !== 'NODE_OPTIONS'));
  const r = spawnSync('sh', ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, launcher, ...args], { cwd: tmp, env, encoding: 'utf8' });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Node could not start the launcher at all: it aborted, or could not open the launcher's own file. */
const notStarted = (r: ReturnType<typeof atLimit>) => r.signal !== null || (r.status !== null && r.status > 2) || r.stderr.includes(`open '${launcher}'`);

test('at every file limit the launcher runs at, --json gives one coded JSON error (or the command ran), never a raw stack', () => {
  const seen: string[] = [];
  for (const limit of [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28, 30, 34, 40, 64]) {
    const r = atLimit(limit, ['validate', bad, '--json']);
    if (notStarted(r)) continue;
    expect({ limit, stderr: r.stderr }).not.toMatchObject({ stderr: expect.stringMatching(/^\s+at |node:internal|Error: EMFILE/m) });
    const out = JSON.parse(r.stdout) as { outcome?: string; error?: { code: string; exit_code: number; message: string; hint?: string } };
    if (out.error?.code === 'TOO_MANY_OPEN_FILES') {
      expect(r.status).toBe(ERRORS.TOO_MANY_OPEN_FILES.exit);
      expect(r.stderr).toContain(`error TOO_MANY_OPEN_FILES: ${out.error.message}\n  hint: ${ERRORS.TOO_MANY_OPEN_FILES.hint}`);
      expect(out.error).toMatchObject({ exit_code: ERRORS.TOO_MANY_OPEN_FILES.exit, hint: ERRORS.TOO_MANY_OPEN_FILES.hint });
      const launcherSaid = /while loading the CLI \(open (.+)\)$/.exec(out.error.message);
      if (launcherSaid) {
        // The launcher's words are the catalogue's: systemError on the same EMFILE says the same.
        const same = systemError(Object.assign(new Error('EMFILE'), { code: 'EMFILE', syscall: 'open', path: launcherSaid[1] }), 'loading the CLI') as FractalError;
        expect(same.code).toBe('TOO_MANY_OPEN_FILES');
        expect(out.error.message).toBe(same.message);
        seen.push('launcher');
      } else seen.push('cli');
    } else {
      // enough descriptors: the command's own answer (the file is invalid)
      expect(r.status).toBe(2);
      seen.push('ran');
    }
  }
  // the limits covered the launcher's case (the review's 24), the CLI's own, and a normal run
  expect(seen).toContain('launcher');
  expect(seen).toContain('ran');
}, 120_000);

test('without --json: the coded message on stderr, exit 1, nothing on stdout', () => {
  let hit = false;
  for (let limit = 18; limit <= 30 && !hit; limit++) {
    const r = atLimit(limit, ['validate', bad]);
    if (notStarted(r) || !r.stderr.includes('while loading the CLI')) continue;
    hit = true;
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error TOO_MANY_OPEN_FILES: too many open files in this process while loading the CLI \(open .+\)\n {2}hint: Raise the limit/);
  }
  expect(hit).toBe(true);
}, 120_000);

test("the launcher's ENFILE words are the catalogue's too", () => {
  const source = readFileSync(launcher, 'utf8');
  const enfile = systemError(Object.assign(new Error('ENFILE'), { code: 'ENFILE' })) as FractalError;
  expect(enfile.code).toBe('TOO_MANY_OPEN_FILES');
  expect(source).toContain(`what: '${enfile.message}'`);
  expect(source.split(`hint: '${ERRORS.TOO_MANY_OPEN_FILES.hint}'`).length - 1).toBe(2);
});
