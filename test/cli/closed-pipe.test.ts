/**
 * A reader that stops early (`pipeline-run validate bad.yaml | head -1`, a CI step that keeps the first line)
 * closes the pipe; the CLI's next write fails with EPIPE. That must not change the exit status the command had
 * decided (found in review: exit 1 with a Node stack instead of 2): output stops quietly.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from './helpers.js';

let tmp: string;
let bad: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-pipe-'));
  bad = join(tmp, 'bad.yaml');
  // 3000 unknown stage types: far more output than a pipe holds, so the CLI is still writing when the reader leaves.
  writeFileSync(bad, `pipeline: selection\nversion: "4.0"\nstages:\n${Array.from({ length: 3000 }, (_, i) => `  - type: nosuch${i}\n`).join('')}`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI, reads the first chunk of stdout (and of stderr when `both`), then closes those pipes, as `head -1` does. */
function firstChunkOnly(args: string[], both = false): Promise<{ code: number | null; stderr: string; first: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), ...args], { cwd: tmp, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let first = '';
    let stderr = '';
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString('utf8');
      child.stdout.destroy();
      if (both) child.stderr.destroy();
    });
    if (!both) child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr, first }));
  });
}

test.each([
  ['text', [] as string[]],
  ['--json', ['--json']],
])('validate (%s) of an invalid file, its stdout closed after the first chunk, still exits 2, without a stack', async (_, extra) => {
  const r = await firstChunkOnly(['validate', bad, ...extra]);
  expect(r.first.length).toBeGreaterThan(0);
  expect(r.stderr).not.toMatch(/EPIPE|Unhandled 'error' event|node:events/);
  expect(r.code).toBe(2);
}, 60_000);

test('stdout and stderr both closed early (`2>&1 | head -1`): still exit 2', async () => {
  const r = await firstChunkOnly(['validate', bad], true);
  expect(r.code).toBe(2);
}, 60_000);

test('a command that succeeds still exits 0 when its reader leaves early (validate --json of 1500 valid files)', async () => {
  const many = join(tmp, 'many');
  mkdirSync(many);
  for (let i = 0; i < 1500; i++) writeFileSync(join(many, `p${i}.yaml`), 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n');
  const r = await firstChunkOnly(['validate', many, '--json']);
  expect(r.stderr).not.toMatch(/EPIPE/);
  expect(r.code).toBe(0);
}, 60_000);
