/**
 * What sits at a lakehouse's paths is not trusted (found by a fault-injection review):
 * - a FIFO in place of a data file, registry.json, symbols.arrow or journal.json hung the process in a synchronous
 *   open that SIGTERM and Ctrl-C could not interrupt; a link to /dev/zero read without limit (620 MB of registry);
 *   a data file larger than its registry entry was read whole. Now refused before a byte is read, with a coded error
 *   naming the path (src/util/regular-file.ts).
 * - a data file that cannot be read for lack of permission was LAKEHOUSE_CORRUPT with a `lakehouse repair` hint that
 *   would rewrite a sound file: now NO_PERMISSION naming it, and repair leaves it.
 * - `lakehouse verify` on a lakehouse it cannot write failed opening LOCK: it takes the lock only to finish an
 *   interrupted commit.
 * - LOCK as a folder was INTERNAL_ERROR EISDIR; `run --lakehouse <a file>` said LAKEHOUSE_MISSING where `status` said
 *   LAKEHOUSE_NOT_A_FOLDER.
 * Every command runs in a child process with a timeout (SIGKILL): a test that would hang fails instead.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from '../cli/helpers.js';

const DATA = 'ohlcv/synthetic-spot/PIVEUSDT.arrow'; // a file the pipeline below reads (a winner of the seeded market)
const KEY = 'synthetic-spot/PIVEUSDT';
const PIPELINE = 'pipeline: selection\nversion: "4.0"\nname: p\nstages:\n  - type: ingestion\n    params: { scanner: lakehouse, lookback_days: 60 }\n  - type: allocation\n    params: { engine: equal_weight }\n';

/** Root cannot be refused a read: permission cases run their command as nobody then. */
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}
/** The built CLI in a child process, killed (SIGKILL) after `timeoutMs`: a hang is a failure, not a stuck suite. */
function cli(args: string[], opts: { timeoutMs?: number; asNobody?: boolean } = {}): Result {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), ...args], {
    cwd: tmp,
    env: { ...process.env, CI: '1', FRACTAL_LAKEHOUSE_LOCK_WAIT: '2' },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: 'SIGKILL',
    ...(opts.asNobody && asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const mkfifo = (path: string) => {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`);
};

let tmp: string;
let pristine: string;
let pipeline: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-special-'));
  chmodSync(tmp, 0o755); // nobody runs commands in here (permission cases)
  pristine = join(tmp, 'pristine');
  expect(cli(['lakehouse', 'seed', '--synthetic', '--symbols', '10', '--days', '120', '--lakehouse', pristine]).code).toBe(0);
  pipeline = join(tmp, 'p.yaml');
  writeFileSync(pipeline, PIPELINE);
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A fresh copy of the seeded lakehouse, and a runs folder beside it anyone can write. */
function copy(): { lh: string; out: string } {
  const at = join(tmp, `case-${++n}`);
  mkdirSync(at, { mode: 0o755 });
  cpSync(pristine, join(at, 'lh'), { recursive: true });
  mkdirSync(join(at, 'runs'), { mode: 0o777 });
  chmodSync(join(at, 'runs'), 0o777);
  return { lh: join(at, 'lh'), out: join(at, 'runs') };
}
const run = (lh: string, out: string, opts: { asNobody?: boolean } = {}) => cli(['run', pipeline, '--lakehouse', lh, '--out', out], opts);

/** Exit 1 with `code` and a message matching `message`, not killed (a hang) and no crash. */
function failsWith(r: Result, code: string, message: RegExp): void {
  expect({ signal: r.signal, code: r.code }).toEqual({ signal: null, code: 1 });
  expect(r.stderr).toMatch(new RegExp(`error ${code}: `));
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/INTERNAL_ERROR|STAGE_FAILED/);
}

describe('anything but a regular file is refused before it is read', () => {
  test('a FIFO in place of a data file: a run fails with LAKEHOUSE_CORRUPT naming it, and verify says what it is (no hang)', () => {
    const { lh, out } = copy();
    unlinkSync(join(lh, DATA));
    mkfifo(join(lh, DATA));
    failsWith(run(lh, out), 'LAKEHOUSE_CORRUPT', new RegExp(`${join(lh, DATA)} \\(${KEY}\\) is listed in the registry but is a FIFO \\(named pipe\\), not a file; nothing was read from it`));
    const v = cli(['lakehouse', 'verify', '--lakehouse', lh]);
    expect({ signal: v.signal, code: v.code }).toEqual({ signal: null, code: 1 });
    expect(v.stdout).toContain(`CORRUPT ${KEY} (${DATA}): a FIFO (named pipe), not a file`);
  }, 90_000);

  test('a FIFO as registry.json: LAKEHOUSE_REGISTRY for a run and for status (no hang, no run folder)', () => {
    const { lh, out } = copy();
    unlinkSync(join(lh, 'registry.json'));
    mkfifo(join(lh, 'registry.json'));
    const message = new RegExp(`${join(lh, 'registry.json')} is unreadable: a FIFO \\(named pipe\\), not a file`);
    failsWith(run(lh, out), 'LAKEHOUSE_REGISTRY', message);
    failsWith(cli(['lakehouse', 'status', '--lakehouse', lh]), 'LAKEHOUSE_REGISTRY', message);
    expect(readdirSync(out)).toEqual([]);
  }, 90_000);

  test('registry.json a link to /dev/zero: LAKEHOUSE_REGISTRY at once, nothing read', () => {
    const { lh, out } = copy();
    unlinkSync(join(lh, 'registry.json'));
    symlinkSync('/dev/zero', join(lh, 'registry.json'));
    failsWith(run(lh, out), 'LAKEHOUSE_REGISTRY', /registry\.json is unreadable: a character device, not a file/);
  }, 60_000);

  test('registry.json larger than a registry can be: LAKEHOUSE_REGISTRY, not read', () => {
    const { lh, out } = copy();
    truncateSync(join(lh, 'registry.json'), 300 * 2 ** 20); // sparse: no disk used
    failsWith(run(lh, out), 'LAKEHOUSE_REGISTRY', /registry\.json is unreadable: 314572800 bytes, more than a registry can plausibly hold/);
  }, 60_000);

  test('a data file a link to /dev/zero: LAKEHOUSE_CORRUPT naming it; verify says what it is', () => {
    const { lh, out } = copy();
    unlinkSync(join(lh, DATA));
    symlinkSync('/dev/zero', join(lh, DATA));
    failsWith(run(lh, out), 'LAKEHOUSE_CORRUPT', new RegExp(`${join(lh, DATA)} \\(${KEY}\\) is listed in the registry but is a character device, not a file`));
    expect(cli(['lakehouse', 'verify', '--lakehouse', lh]).stdout).toContain(`CORRUPT ${KEY} (${DATA}): a character device, not a file`);
  }, 60_000);

  test('a data file grown past the size its registry entry records is refused by its size, before it is read', () => {
    const { lh, out } = copy();
    const bytes = JSON.parse(readFileSync(join(lh, 'registry.json'), 'utf8')).entries[KEY].bytes as number;
    truncateSync(join(lh, DATA), 2 ** 30); // sparse
    failsWith(run(lh, out), 'LAKEHOUSE_CORRUPT', new RegExp(`${join(lh, DATA)} \\(${KEY}\\) does not fit its registry entry: it is 1073741824 bytes long, the registry says ${bytes}`));
    expect(cli(['lakehouse', 'verify', '--lakehouse', lh]).stdout).toContain(`CORRUPT ${KEY} (${DATA}): size mismatch (1073741824 bytes, registry says ${bytes})`);
  }, 60_000);

  test('a FIFO as symbols.arrow: verify reports it (no hang)', () => {
    const { lh } = copy();
    unlinkSync(join(lh, 'symbols.arrow'));
    mkfifo(join(lh, 'symbols.arrow'));
    const v = cli(['lakehouse', 'verify', '--lakehouse', lh]);
    expect({ signal: v.signal, code: v.code }).toEqual({ signal: null, code: 1 });
    expect(v.stdout).toContain('CORRUPT - (symbols.arrow): unreadable: a FIFO (named pipe), not a file');
  }, 60_000);

  test('a FIFO as journal.json: LAKEHOUSE_JOURNAL for a writer (no hang), nothing renamed', () => {
    const { lh } = copy();
    mkfifo(join(lh, 'journal.json'));
    failsWith(cli(['lakehouse', 'verify', '--lakehouse', lh]), 'LAKEHOUSE_JOURNAL', /journal\.json is unreadable: a FIFO \(named pipe\), not a file; nothing was renamed/);
  }, 60_000);
});

describe('LOCK that is not a lock file', () => {
  test('a folder: a writer fails with LAKEHOUSE_LOCKED naming it (was INTERNAL_ERROR EISDIR); status shows it', () => {
    const { lh } = copy();
    mkdirSync(join(lh, 'LOCK'));
    const r = cli(['lakehouse', 'seed', '--synthetic', '--symbols', '10', '--days', '120', '--lakehouse', lh]);
    failsWith(r, 'LAKEHOUSE_LOCKED', new RegExp(`${join(lh, 'LOCK')} is a folder, not a lock file: no writer can take the lakehouse lock`));
    expect(r.stderr).toContain(`hint: Remove ${join(lh, 'LOCK')}`);
    const st = cli(['lakehouse', 'status', '--lakehouse', lh]);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain(`lock: ${join(lh, 'LOCK')} is a folder, not a lock file`);
  }, 60_000);

  test('a FIFO: LAKEHOUSE_LOCKED (no hang)', () => {
    const { lh } = copy();
    mkfifo(join(lh, 'LOCK'));
    failsWith(cli(['lakehouse', 'seed', '--synthetic', '--symbols', '10', '--days', '120', '--lakehouse', lh]), 'LAKEHOUSE_LOCKED', /LOCK is a FIFO \(named pipe\), not a lock file/);
  }, 60_000);
});

describe('permissions', () => {
  test('a data file the user may not read: NO_PERMISSION naming it, no repair hint; verify says so and repair leaves the file', () => {
    const { lh, out } = copy();
    // The user owns the lakehouse (may write it) but may not read this one file.
    if (asRoot) expect(spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, lh]).status).toBe(0);
    const file = join(lh, DATA);
    const before = readFileSync(file);
    chmodSync(file, 0o000);
    const r = run(lh, out, { asNobody: true });
    failsWith(r, 'NO_PERMISSION', new RegExp(`${file} \\(${KEY}\\) cannot be read: permission denied \\(EACCES\\)`));
    expect(r.stderr).not.toMatch(/LAKEHOUSE_CORRUPT|lakehouse repair --lakehouse/);
    const v = cli(['lakehouse', 'verify', '--lakehouse', lh], { asNobody: true });
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`UNREADABLE ${KEY} (${DATA}): cannot be read: permission denied (EACCES)`);
    expect(v.stdout).not.toContain('CORRUPT');
    // Its owner may write the lakehouse, yet repair does not rewrite a file nothing says is damaged.
    const rep = cli(['lakehouse', 'repair', '--json', '--lakehouse', lh], { asNobody: true });
    expect(JSON.parse(rep.stdout).skipped).toEqual([expect.objectContaining({ key: KEY, reason: 'no_permission' })]);
    chmodSync(file, 0o644);
    expect(readFileSync(file)).toEqual(before);
    expect(statSync(file).mode & 0o777).toBe(0o644);
  }, 90_000);

  test('verify on a lakehouse the user cannot write checks it without the lock (was READ_ONLY_FILESYSTEM/NO_PERMISSION opening LOCK)', () => {
    const { lh } = copy();
    const lock = (mode: number) => {
      for (const d of [lh, join(lh, 'ohlcv'), join(lh, 'ohlcv', 'synthetic-spot'), join(lh, 'ohlcv', 'synthetic-perp')]) chmodSync(d, mode);
    };
    lock(0o555);
    try {
      const v = cli(['lakehouse', 'verify', '--lakehouse', lh], { asNobody: true });
      expect({ code: v.code, stderr: v.stderr }).toEqual({ code: 0, stderr: '' });
      expect(v.stdout).toMatch(/^OK: 14 file\(s\) match their checksums/m);
      expect(existsSync(join(lh, 'LOCK'))).toBe(false);
    } finally {
      lock(0o755);
    }
  }, 60_000);
});

test('`run --lakehouse <a file>` gives the code `lakehouse status` gives: LAKEHOUSE_NOT_A_FOLDER', () => {
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'not a folder\n');
  const { out } = copy();
  for (const r of [run(file, out), cli(['lakehouse', 'status', '--lakehouse', file])]) {
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error LAKEHOUSE_NOT_A_FOLDER: the lakehouse path ${file} is not a folder (${file} is a file)`);
  }
}, 60_000);
