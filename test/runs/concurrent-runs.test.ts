/**
 * Two runs of one pipeline into one runs root at a time (src/runs/run-folder.ts): each run marks the pipeline's
 * interrupted runs failed as it starts (markInterrupted), and must never take a live run's folder for one. A live
 * run's `.partial` folder always names its process (RUNNING is in it before the folder has that name, and leaves
 * only once the folder has its final one). Found by the tournament benchmark's peer (24 runs of one pipeline, two at a
 * time): one run in forty lost its folder, RUN_NOT_MARKED. Here one process makes and finishes run folders while
 * another marks the pipeline's interrupted runs, as fast as they can; both are the built modules (dist/).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from '../cli/helpers.js';

const runFolder = join(repo, 'dist', 'src', 'runs', 'run-folder.js');

/** Runs `code` (an ES module) in a new node process; resolves with its stdout parsed as JSON. */
function node(code: string, args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (status) => (status === 0 ? resolve(JSON.parse(out) as Record<string, number>) : reject(new Error(`exit ${status}: ${err}`))));
  });
}

// 400 runs, every other one failed; each an ordinary RunFolder with a manifest (and FAILED for the failed ones).
const maker = `
import { RunFolder, newRunId } from ${JSON.stringify(runFolder)};
const root = process.argv[1];
let lost = 0;
for (let i = 0; i < 400; i++) {
  try {
    const f = new RunFolder(root, 'p', newRunId());
    if (i % 2) f.complete({ outcome: 'succeeded' });
    else f.fail({ outcome: 'failed' }, 'failed on purpose');
  } catch {
    lost++;
  }
}
console.log(JSON.stringify({ lost }));
`;
// Marks interrupted runs until the maker is done (the file 'done' appears) or 60 s have passed.
const marker = `
import { existsSync } from 'node:fs';
import { markInterrupted } from ${JSON.stringify(runFolder)};
const [dir, done] = process.argv.slice(1);
let marked = 0;
let passes = 0;
for (const end = Date.now() + 60_000; !existsSync(done) && Date.now() < end; passes++) marked += markInterrupted(dir).length;
console.log(JSON.stringify({ marked, passes }));
`;

test("a run never takes a concurrent run's folder for an interrupted one", async () => {
  if (!existsSync(runFolder)) throw new Error('run `npm run build` first: this test runs the built modules');
  const root = mkdtempSync(join(tmpdir(), 'fractal-concurrent-runs-'));
  try {
    const done = join(root, 'done');
    const marking = node(marker, [join(root, 'p'), done]);
    const made = await node(maker, [root]);
    writeFileSync(done, '');
    const marks = await marking;
    expect(made.lost).toBe(0);
    expect(marks.marked).toBe(0);
    // The marker looked while the runs were made (not only before or after).
    expect(marks.passes).toBeGreaterThan(10);
    const names = readdirSync(join(root, 'p'));
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
    expect(names.filter((n) => n.endsWith('.failed'))).toHaveLength(200);
    expect(names).toHaveLength(400);
    // No finished folder keeps its RUNNING file.
    expect(names.filter((n) => existsSync(join(root, 'p', n, 'RUNNING')))).toEqual([]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, 90_000);
