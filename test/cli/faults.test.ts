/**
 * Faults, from the user's side (issue 11): a full disk (a real 3 MB tmpfs), a read-only disk and no file
 * descriptors left (item 3); a run killed with SIGKILL mid-backtest (item 4); `lakehouse repair` on real US
 * equities (item 6). What must hold: a coded error naming the folder, a run folder marked failed (or nothing), never
 * an unmarked `.partial` or a torn file, every audit line whole; interrupted runs listed, marked, pruned, saying so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, repo as REPO } from './helpers.js';
import { DATA_DIR } from '../data.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'fractal-faults-'));
  mkdirSync(join(root, '.git'));
  cpSync(join(REPO, 'pipelines', 'demo.yaml'), join(root, 'demo.yaml'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string> = {}) => cli(args, { cwd: root, env });
const lines = (f: string) => readFileSync(f, 'utf8');

/** Every file under a folder, relative. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), base) : [join(dir, e.name).slice(base.length + 1)]));
}

/** The audit ledger is whole lines of JSON (a failed append was cut back). */
function expectWholeAudit(file: string): { event: string }[] {
  const text = lines(file);
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l));
}

// ---------------------------------------------------------------------------------------------------- item 3

const disk = join(tmpdir(), `fractal-tmpfs-${process.pid}`);
let mounted = false;
try {
  mkdirSync(disk, { recursive: true });
  mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk]).status === 0;
} catch {
  mounted = false;
}
afterAll(() => {
  if (mounted) spawnSync('umount', [disk]);
  rmSync(disk, { recursive: true, force: true });
});
/** Fills the 3 MB disk but `freeKb`. */
function fill(freeKb: number): void {
  for (const e of readdirSync(disk)) rmSync(join(disk, e), { recursive: true, force: true });
  writeFileSync(join(disk, 'filler'), Buffer.alloc((3072 - freeKb) * 1024));
}
// Mounting needs root (CI and the development machines run as root); elsewhere these tests say so and skip.
const onTmpfs = mounted ? test : test.skip;
if (!mounted) test('a tmpfs can be mounted for the full-disk tests (skipped: not root)', () => expect(mounted).toBe(false));

describe('3. a full disk, a read-only disk, no file descriptors', () => {
  onTmpfs.each([8, 40, 100, 300, 500])('a run into a 3 MB disk with %i KB free fails coded, marked failed, nothing torn', (free) => {
    fill(free);
    const r = run(['demo.yaml', '--out', join(disk, 'runs'), '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('internal error');
    const s = JSON.parse(r.stdout);
    expect(s.outcome).toBe('failed');
    expect(s.error.code).toBe('DISK_FULL');
    expect(s.error.message).toContain(join(disk, 'runs', 'demo'));
    // One folder, marked failed; no .partial, no temporary file, every audit line whole.
    expect(readdirSync(join(disk, 'runs', 'demo'))).toEqual([`${s.run_id}.failed`]);
    const folder = join(disk, 'runs', 'demo', `${s.run_id}.failed`);
    const files = walk(folder);
    expect(files).toContain('FAILED');
    expect(files.filter((f) => f.includes('.writing') || f.includes('.tmp'))).toEqual([]);
    expectWholeAudit(join(folder, 'audit.jsonl'));
    if (files.includes('manifest.json')) expect(JSON.parse(lines(join(folder, 'manifest.json'))).error).toMatchObject({ code: 'DISK_FULL', exit_code: 1 });
    else expect(s.unwritten.join(' ')).toContain('manifest.json');
    if (lines(join(folder, 'FAILED')) !== '') {
      expect(lines(join(folder, 'FAILED'))).toContain('[DISK_FULL]');
      // A coded fault says all there is: no stack trace under it.
      expect(lines(join(folder, 'FAILED'))).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
    }
  });

  onTmpfs('with no room for the run folder itself, nothing is left behind', () => {
    fill(0);
    const r = run(['demo.yaml', '--out', join(disk, 'runs'), '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'error', error: { code: 'DISK_FULL', exit_code: 1 } });
    expect(readdirSync(join(disk, 'runs', 'demo'))).toEqual([]);
  });

  onTmpfs('an import into a full disk commits nothing and leaves no temporary file; the lakehouse stays whole', () => {
    fill(600);
    const lh = join(disk, 'lh');
    expect(run(['lakehouse', 'seed', '--synthetic', '--symbols', '8', '--days', '60', '--lakehouse', lh]).code).toBe(0);
    const before = lines(join(lh, 'registry.json'));
    const r = run(['lakehouse', 'import', join(DATA_DIR, 'crypto'), '--layout', 'ohlcv', '--venue', 'binance', '--lakehouse', lh]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error DISK_FULL: no space left on the device while writing the lakehouse ${lh} (nothing was committed)`);
    expect(lines(join(lh, 'registry.json'))).toBe(before);
    expect(walk(lh).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(run(['lakehouse', 'verify', '--lakehouse', lh]).code).toBe(0);
  });

  onTmpfs('a read-only disk: the run is refused naming --out (exit 2); a lakehouse write is coded (exit 1)', () => {
    fill(1000);
    const lh = join(disk, 'lh');
    expect(run(['lakehouse', 'seed', '--synthetic', '--symbols', '8', '--days', '60', '--lakehouse', lh]).code).toBe(0);
    expect(spawnSync('mount', ['-o', 'remount,ro', disk]).status).toBe(0);
    try {
      const r = run(['demo.yaml', '--out', join(disk, 'runs')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error OUT_NOT_WRITABLE: cannot create the run folder under ${join(disk, 'runs')}: EROFS`);
      const w = run(['lakehouse', 'seed', '--synthetic', '--symbols', '8', '--days', '60', '--seed', '9', '--lakehouse', lh]);
      expect(w.code).toBe(1);
      expect(w.stderr).toMatch(/error READ_ONLY_FILESYSTEM: the file system is read-only/);
      expect(w.stderr).toContain(lh);
    } finally {
      spawnSync('mount', ['-o', 'remount,rw', disk]);
    }
  });

  test('no file descriptor left: coded, and the folder is still marked failed', () => {
    writeFileSync(join(root, 'fds.yaml'), 'pipeline: selection\nversion: "4.0"\nname: fds\nplugins: [./fixtures/faults.js]\nstages:\n  - type: exhaust_fds\n');
    mkdirSync(join(root, 'fixtures'), { recursive: true });
    cpSync(join(REPO, 'test', 'cli', 'fixtures', 'faults.js'), join(root, 'fixtures', 'faults.js'));
    const r = run(['fds.yaml', '--out', join(root, 'runs'), '--json']);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.error).toMatchObject({ code: 'TOO_MANY_OPEN_FILES', exit_code: 1, stage: 'exhaust_fds' });
    expect(s.error.message).toContain(join(root, 'runs', 'fds'));
    expect(readdirSync(join(root, 'runs', 'fds'))).toEqual([`${s.run_id}.failed`]);
    const events = expectWholeAudit(join(root, 'runs', 'fds', `${s.run_id}.failed`, 'audit.jsonl'));
    expect(events.map((e) => e.event).slice(0, 3)).toEqual(['run_started', 'stage_started', 'opening']);
  });
});

// ---------------------------------------------------------------------------------------------------- item 4

/**
 * Starts the demo, waits until its backtest has started, and kills it with SIGKILL while the backtest's
 * `stage_started` is still the audit's last event. The child runs on between the poll's read and the kill: it is
 * stopped (SIGSTOP) first and the audit read again; a run already past that point is killed and started afresh.
 */
async function killMidBacktest(out: string): Promise<string> {
  const dir = join(out, 'demo');
  for (let attempt = 0; attempt < 5; attempt++) {
    rmSync(dir, { recursive: true, force: true });
    const child = spawn(process.execPath, [join(REPO, 'bin', 'pipeline-run.js'), 'demo.yaml', '--out', out, '--quiet'], { cwd: root, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const audit = () => {
      const partial = existsSync(dir) ? readdirSync(dir).find((n) => n.endsWith('.partial')) : undefined;
      return partial && existsSync(join(dir, partial, 'audit.jsonl')) ? { partial, text: lines(join(dir, partial, 'audit.jsonl')) } : undefined;
    };
    const deadline = Date.now() + 30_000;
    let seen: { partial: string; text: string } | undefined;
    while (!(seen = audit()) || !/"stage":"backtest","event":"stage_started"/.test(seen.text)) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGSTOP');
    const last = audit()?.text.trim().split('\n').pop() ?? '';
    child.kill('SIGKILL');
    await exited;
    if (seen && /"stage":"backtest","event":"stage_started"/.test(last)) return seen.partial;
  }
  throw new Error('could not stop the demo while its backtest had started and not yet recorded anything');
}

describe('4. a run killed mid-backtest is listed, marked by a later run, pruned on request', () => {
  test('listed as interrupted with its last audit event; a later run marks it failed and says so', async () => {
    const out = join(root, 'killed');
    const partial = await killMidBacktest(out);
    const runId = partial.slice(1, -'.partial'.length);
    const listed = run(['runs', '--out', out, '--json']);
    expect(listed.code).toBe(0);
    const row = JSON.parse(listed.stdout).find((x: { run_id: string }) => x.run_id === runId);
    expect(row).toMatchObject({ outcome: 'interrupted', last_event: { stage: 'backtest', event: 'stage_started' } });
    const text = run(['runs', '--out', out]);
    expect(text.stderr).toContain(`interrupted: ${join(out, 'demo', partial)} (last event: backtest: stage_started at `);
    expect(text.stderr).toContain('1 interrupted (`runs --prune` removes them)');
    expect(lines(join(out, 'index.md'))).toContain(`| demo | [${runId}](demo/${partial}/audit.jsonl) | interrupted |`);

    const again = run(['demo.yaml', '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`marked an interrupted run failed: ${join(out, 'demo', `${runId}.failed`)}`);
    expect(existsSync(join(out, 'demo', partial))).toBe(false);
    expect(lines(join(out, 'demo', `${runId}.failed`, 'FAILED'))).toMatch(/^\[RUN_INTERRUPTED\] the run was interrupted: its process \(pid \d+\) ended without finishing it; last audit event: backtest: stage_started at /);
    const marked = expectWholeAudit(join(again.stdout.trim(), 'audit.jsonl')).find((e) => e.event === 'interrupted_runs_marked') as { data: { runs: { folder: string }[] } } | undefined;
    expect(marked?.data.runs.map((x) => x.folder)).toEqual([join(out, 'demo', `${runId}.failed`)]);
    const rows = JSON.parse(run(['runs', '--out', out, '--json']).stdout) as { run_id: string; outcome: string; error?: string }[];
    expect(rows.find((x) => x.run_id === runId)).toMatchObject({ outcome: 'failed', error: expect.stringContaining('RUN_INTERRUPTED') });
  }, 180_000);

  test('runs --prune removes interrupted folders, naming each; completed runs stay', async () => {
    const out = join(root, 'pruned');
    const partial = await killMidBacktest(out);
    const done = run(['demo.yaml', '--out', join(root, 'other')]); // another pipeline root: untouched
    expect(done.code).toBe(0);
    const p = run(['runs', '--out', out, '--prune']);
    expect(p.code).toBe(0);
    expect(p.stderr).toContain(`removed interrupted run ${join(out, 'demo', partial)} (last event: backtest: stage_started at `);
    expect(p.stderr).toContain('1 run(s) removed');
    expect(readdirSync(join(out, 'demo'))).toEqual([]);
    expect(readdirSync(join(root, 'other', 'demo')).length).toBe(1);
  }, 180_000);
});

// ---------------------------------------------------------------------------------------------------- item 6

describe('6. lakehouse repair keeps the venue calendar and never mixes a changed source in', () => {
  test('a damaged AAPL is restored STABLE (2001-09-11 is a market closure, not a gap); a changed source is named and left alone', () => {
    const dir = mkdtempSync(join(root, 'repair-'));
    const csv = join(dir, 'stock_prices.csv');
    cpSync(join(DATA_DIR, 'pypfopt', 'stock_prices.csv'), csv);
    const lh = join(dir, 'lh');
    expect(run(['lakehouse', 'import', csv, '--venue', 'us', '--lakehouse', lh]).code).toBe(0);
    const status = () => JSON.parse(run(['lakehouse', 'status', '--json', '--lakehouse', lh]).stdout).entries.find((e: { symbol: string }) => e.symbol === 'AAPL');
    expect(status()).toMatchObject({ status: 'STABLE', reasons: [] });
    const aapl = join(lh, 'ohlcv', 'us', 'AAPL.arrow');
    const damage = () => {
      const b = readFileSync(aapl);
      b[b.length - 100] ^= 0xff;
      writeFileSync(aapl, b);
    };
    damage();
    expect(run(['lakehouse', 'verify', '--lakehouse', lh]).code).toBe(1);
    const rep = run(['lakehouse', 'repair', '--json', '--lakehouse', lh]);
    expect(rep.code).toBe(0);
    expect(JSON.parse(rep.stdout).repaired).toEqual([expect.objectContaining({ key: 'us/AAPL', status: 'STABLE', after: [] })]);
    expect(status()).toMatchObject({ status: 'STABLE', reasons: [] });
    expect(run(['lakehouse', 'verify', '--lakehouse', lh]).code).toBe(0);

    // The source changes (one AAPL price), the stored file is damaged again: repair says so and writes nothing.
    const rows = lines(csv).split('\n');
    const col = rows[0].split(',').indexOf('AAPL');
    const cells = rows[5000].split(',');
    cells[col] = String(Number(cells[col]) * 1.5);
    rows[5000] = cells.join(',');
    writeFileSync(csv, rows.join('\n'));
    damage();
    const damaged = readFileSync(aapl);
    const again = run(['lakehouse', 'repair', '--json', '--lakehouse', lh]);
    expect(again.code).toBe(1);
    const r2 = JSON.parse(again.stdout);
    expect(r2.repaired).toEqual([]);
    expect(r2.skipped).toEqual([expect.objectContaining({ key: 'us/AAPL', reason: 'source_changed', why: expect.stringContaining('the source changed since it was imported') })]);
    expect(readFileSync(aapl)).toEqual(damaged);
  });

  test('a DEGRADED symbol whose source changed: repair names the rows that differ and keeps the stored ones', () => {
    const dir = mkdtempSync(join(root, 'repair-'));
    const csv = join(dir, 'w.csv');
    const day = (t: number) => new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10);
    const body = (spikeAt: number, edit?: number) => ['date,AAA,BBB', ...Array.from({ length: 60 }, (_, t) => `${day(t)},${100 + t + (t === edit ? 0.5 : 0)},${t === spikeAt ? 900 : 50 + t}`)].join('\n');
    writeFileSync(csv, body(30));
    const lh = join(dir, 'lh');
    expect(run(['lakehouse', 'import', csv, '--lakehouse', lh]).code).toBe(0);
    const bbb = () => JSON.parse(run(['lakehouse', 'status', '--json', '--lakehouse', lh]).stdout).entries.find((e: { symbol: string }) => e.symbol === 'BBB');
    expect(bbb().status).toBe('DEGRADED');
    const unchanged = JSON.parse(run(['lakehouse', 'repair', '--json', '--lakehouse', lh]).stdout);
    expect(unchanged.repaired).toEqual([expect.objectContaining({ key: 'csv/BBB', changed: false, status: 'DEGRADED' })]);
    writeFileSync(csv, body(31)); // the spike moved a day: two rows differ
    const changed = JSON.parse(run(['lakehouse', 'repair', '--json', '--lakehouse', lh]).stdout);
    expect(changed.skipped).toEqual([{ key: 'csv/BBB', reason: 'source_changed', why: expect.stringContaining(`2 row(s) differ (first on ${day(30)})`) }]);
    expect(bbb().rows).toBe(60);
    // The import it suggests, run as written, takes the new rows into this lakehouse's venue: nothing left to skip.
    const suggested = /run `pipeline-run (lakehouse import [^`]+)`/.exec(changed.skipped[0].why)![1]!.split(' ');
    expect(suggested).toEqual(['lakehouse', 'import', csv, '--layout', 'wide', '--venue', 'csv', '--asset-type', 'spot', '--lakehouse', lh]);
    expect(run(suggested).code).toBe(0);
    expect(JSON.parse(run(['lakehouse', 'repair', '--json', '--lakehouse', lh]).stdout).skipped).toEqual([]);
  });
});
