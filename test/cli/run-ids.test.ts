/**
 * The run arguments of `trace` and `compare`: a folder as given, a run id looked up under --out. An id no run has is
 * RUN_NOT_FOUND naming --out (not NOT_A_RUN about a folder of the current directory), an id runs of two pipelines
 * have is RUN_AMBIGUOUS naming both (not a silent fall back to the current folder); both exit 2.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { cli, repo } from './helpers.js';

let tmp: string;
let runs: string;
let ok: { run_id: string; folder: string };

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-run-ids-'));
  runs = join(tmp, 'runs');
  const r = cli([join(repo, 'test', 'runs', 'fixtures', 'ok.yaml'), '--out', runs, '--json']);
  expect(r.code).toBe(0);
  ok = JSON.parse(r.stdout);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('an id no run under --out has: RUN_NOT_FOUND naming --out, exit 2, for compare and trace; a folder and a known id still name the run', () => {
  const found = cli(['compare', ok.run_id, ok.folder, '--out', runs, '--json']);
  expect(found.code).toBe(0);
  expect(JSON.parse(found.stdout).a.folder).toBe(ok.folder);
  const c = cli(['compare', ok.run_id, 'nosuchrun', '--out', runs], { cwd: tmp });
  expect(c.code).toBe(2);
  expect(c.stderr).toContain(`error RUN_NOT_FOUND: no run 'nosuchrun' under ${runs}\n`);
  expect(c.stderr).not.toContain('NOT_A_RUN');
  const t = cli(['trace', '20200101T000000Z-abcdef', 'X', '--out', runs, '--json']);
  expect(t.code).toBe(2);
  expect(JSON.parse(t.stdout).error).toMatchObject({ code: 'RUN_NOT_FOUND', exit_code: 2, message: `no run '20200101T000000Z-abcdef' under ${runs}` });
  const noRoot = cli(['compare', 'nosuchrun', ok.folder, '--out', join(tmp, 'elsewhere')]);
  expect(noRoot.code).toBe(2);
  expect(noRoot.stderr).toContain(`error RUN_NOT_FOUND: no run 'nosuchrun' under ${join(tmp, 'elsewhere')} (there is no folder ${join(tmp, 'elsewhere')})`);
});

test('an id runs of two pipelines have: RUN_AMBIGUOUS naming both, exit 2; either folder still works', () => {
  const twin = join(runs, 'another', basename(ok.folder));
  cpSync(ok.folder, twin, { recursive: true });
  try {
    const c = cli(['compare', ok.run_id, ok.folder, '--out', runs], { cwd: tmp });
    expect(c.code).toBe(2);
    expect(c.stderr).toContain(`error RUN_AMBIGUOUS: run id '${ok.run_id}' is ambiguous: matches ${twin}, ${ok.folder}\n`);
    expect(cli(['compare', twin, ok.folder, '--out', runs]).code).toBe(0);
  } finally {
    rmSync(join(runs, 'another'), { recursive: true, force: true });
  }
});
