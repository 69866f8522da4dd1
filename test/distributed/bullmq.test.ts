/**
 * --executor bullmq against a real redis-server the test starts (a free port, AOF on) and real worker processes:
 * the same bytes as --executor local (a tournament's tournament.json and cells.json, a nested meta's weights.json
 * and sleeves.json, apart from run ids) with 1 and 3 workers; a worker SIGKILLed mid-job (its job is re-run by
 * another worker, one result); Redis killed and restarted mid-tournament (the run completes); a poison cell (it fails
 * at run time) fails once while the others finish; the submitter killed and started again re-attaches without
 * running any cell twice; an import committing after a worker checked a sleeve's data does not reach the sleeve's run.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DATA_DIR } from '../data.js';
import { cli, repo } from '../cli/helpers.js';
import { BIN, pipelineRun, Proc, RedisServer, startWorker, stopAll } from './harness.js';

let tmp: string;
let lh: string;
const procs: Proc[] = [];
const servers: RedisServer[] = [];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-bullmq-'));
  for (const f of ['crypto_long.yaml', 'crypto_short.yaml', 'crypto_meta.yaml', 'nested_meta.yaml', 'tournament_crypto.yaml', 'tournament_meta.yaml']) copyFileSync(join(repo, 'pipelines', f), join(tmp, f));
  lh = join(tmp, 'lh');
  const r = cli(['lakehouse', 'import', join(DATA_DIR, 'crypto'), '--layout', 'ohlcv', '--venue', 'binance_spot', '--lakehouse', lh]);
  expect(r.code).toBe(0);
}, 120_000);

afterEach(async () => {
  await stopAll(procs.splice(0));
  for (const s of servers.splice(0)) await s.stop('SIGKILL');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function redis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmp, 'redis-'));
  const s = new RedisServer(dir);
  await s.start();
  servers.push(s);
  return s;
}
const worker = (s: RedisServer, out: string, extra: string[] = []) => {
  const w = startWorker(s, out, lh, extra);
  procs.push(w);
  return w;
};

/** Four cells of the crypto tournament (two engines, two steps), few resamples. */
const FOUR = ['--set', 'matrix.stages.allocation.engine=["hrp","equal_weight"]', '--set', 'matrix.stages.inference.ranker=["mps"]', '--set', 'matrix.stages.backtest.step_size=[30,60]', '--set', 'statistics.bootstrap.resamples=300'];
const TOURNAMENT = () => [join(tmp, 'tournament_crypto.yaml'), ...FOUR];

/** A file with run ids (and the timings some files carry) taken out. */
const bytes = (folder: string, file: string) => readFileSync(join(folder, file), 'utf8').replace(/\d{8}T\d{6}Z-[0-9a-f]{6}/g, 'RUN_ID');

async function submit(s: RedisServer, args: string[], out: string): Promise<{ code: number | null; summary: { outcome: string; folder: string }; proc: Proc }> {
  const p = pipelineRun([...args, '--out', out, '--lakehouse', lh, '--executor', 'bullmq', '--redis', s.url, '--json']);
  procs.push(p);
  const code = await p.exited;
  return { code, summary: JSON.parse(p.stdout), proc: p };
}

const local = (args: string[], out: string) => {
  const r = cli([...args, '--out', out, '--lakehouse', lh, '--json', '--no-cache']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).folder as string;
};

/** Every stage checkpoint's fields, each as its blob's bytes (latin1) with run ids taken out. */
const checkpointBlobs = (folder: string) => {
  const dir = join(folder, 'checkpoints');
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const cp = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { type: string; fields: Record<string, string> };
    for (const [field, sha] of Object.entries(cp.fields)) out[`${cp.type}.${field}`] = readFileSync(join(dir, 'blobs', sha), 'latin1').replace(/\d{8}T\d{6}Z-[0-9a-f]{6}/g, 'RUN_ID');
  }
  return out;
};

/** Each cell's run folders (a cell run twice would leave two). */
const cellRuns = (folder: string) => Object.fromEntries(readdirSync(join(folder, 'cells')).map((c) => [c, readdirSync(join(folder, 'cells', c)).length]));

let localTournament: string | undefined;
/** The tournament run locally (once): what every distributed run must match. */
const localT = () => (localTournament ??= local(TOURNAMENT(), join(tmp, 'local')));

test('the same bytes as --executor local with 1 and with 3 workers: a tournament and a nested meta', async () => {
  const localTournament = localT();
  const localMeta = local([join(tmp, 'nested_meta.yaml')], join(tmp, 'local'));
  const s = await redis();
  const out = join(tmp, 'shared');
  worker(s, out);
  for (const workers of [1, 3]) {
    if (workers === 3) {
      worker(s, out);
      worker(s, out, ['--concurrency', '2']);
    }
    const t = await submit(s, [...TOURNAMENT(), '--no-cache'], out);
    expect(t.code).toBe(0);
    for (const f of ['tournament.json', 'cells.json']) expect({ workers, f, text: bytes(t.summary.folder, f) }).toEqual({ workers, f, text: bytes(localT(), f) });
    expect(readFileSync(join(t.summary.folder, 'cell_returns.arrow')).equals(readFileSync(join(localTournament, 'cell_returns.arrow')))).toBe(true);
    // The stages' checkpoints too: each field's blob, run ids apart (a cell made here and one read back from a
    // worker's JSON once serialised as a sparse and a dense array).
    expect({ workers, blobs: checkpointBlobs(t.summary.folder) }).toEqual({ workers, blobs: checkpointBlobs(localTournament) });
    expect(cellRuns(t.summary.folder)).toEqual(cellRuns(localTournament));
    const m = await submit(s, [join(tmp, 'nested_meta.yaml'), '--no-cache'], out);
    expect(m.code).toBe(0);
    for (const f of ['weights.json', 'sleeves.json']) expect({ workers, f, text: bytes(m.summary.folder, f) }).toEqual({ workers, f, text: bytes(localMeta, f) });
    // The nested meta's own sleeves are in its run folder as a local run lays them out.
    expect(readdirSync(join(m.summary.folder, 'sleeves')).sort()).toEqual(readdirSync(join(localMeta, 'sleeves')).sort());
    const inner = (f: string) => readdirSync(join(f, 'sleeves', 'crypto_meta'))[0];
    expect(readdirSync(join(m.summary.folder, 'sleeves', 'crypto_meta', inner(m.summary.folder), 'sleeves')).sort()).toEqual(['crypto_long', 'crypto_short']);
    // Collected runs leave nothing behind: no job folders, no jobs of theirs in the queue.
    expect(readdirSync(join(out, '.jobs'))).toEqual(['ROOT']); // the runs root's identity (queue-common.ts runsRootId)
  }
  const status = pipelineRun(['queue', 'status', '--redis', s.url, '--json']);
  expect(await status.exited).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ queue: 'fractal', runs: [] });
}, 600_000);

test('a tournament of meta pipelines: each cell a flow subtree (its sleeves its children), the same bytes as locally', async () => {
  const args = [join(tmp, 'tournament_meta.yaml'), '--set', 'matrix.stages.meta_optimize.engine=["hrp","equal_weight"]', '--set', 'statistics.bootstrap.resamples=200', '--no-cache'];
  const l = local(args, join(tmp, 'local-tm'));
  const s = await redis();
  const out = join(tmp, 'shared-tm');
  worker(s, out);
  worker(s, out);
  const r = await submit(s, args, out);
  expect(r.code).toBe(0);
  for (const f of ['tournament.json', 'cells.json']) expect(bytes(r.summary.folder, f)).toEqual(bytes(l, f));
  for (const folder of [l, r.summary.folder])
    for (const cell of ['hrp', 'equal_weight']) {
      const run = join(folder, 'cells', cell, readdirSync(join(folder, 'cells', cell))[0]);
      // A meta cell's sleeves under their pipelines' names (sleeves/<pipeline>/<run id>), one run each.
      expect(readdirSync(join(run, 'sleeves')).sort()).toEqual(['crypto_long', 'crypto_short']);
      for (const p of ['crypto_long', 'crypto_short']) expect(readdirSync(join(run, 'sleeves', p)).length).toBe(1);
    }
  for (const cell of ['hrp', 'equal_weight']) {
    const inner = (f: string) => join('cells', cell, readdirSync(join(f, 'cells', cell))[0]);
    expect(bytes(join(r.summary.folder, inner(r.summary.folder)), 'sleeves.json')).toEqual(bytes(join(l, inner(l)), 'sleeves.json'));
  }
}, 300_000);

test('a worker SIGKILLed mid-job: another worker runs the job again, and the cell has one result', async () => {
  const s = await redis();
  const out = join(tmp, 'killed-worker');
  const victim = worker(s, out);
  // Without --json: the submitter's log is what a person watching it sees.
  const p = pipelineRun([...TOURNAMENT(), '--no-cache', '--out', out, '--lakehouse', lh, '--executor', 'bullmq', '--redis', s.url]);
  procs.push(p);
  const started = await victim.waitFor(/cell \S+ \S+ started/);
  const [, cell, id] = /cell (\S+) (\S+) started/.exec(started)!;
  victim.kill('SIGKILL');
  await victim.exited;
  // Another worker, started after the first died: it takes the stalled job once its lock runs out.
  const other = worker(s, out);
  await other.waitFor(new RegExp(`cell ${cell} ${id} started`), 120_000);
  expect(await p.exited).toBe(0);
  // The submitter said why it waited.
  expect(p.lines.join('\n')).toContain(`queue: job ${id} stalled (its worker stopped answering)`);
  const folder = p.stdout.trim();
  expect(cellRuns(folder)).toEqual(Object.fromEntries(Object.keys(cellRuns(localT())).map((c) => [c, 1])));
  for (const f of ['tournament.json', 'cells.json']) expect(bytes(folder, f)).toEqual(bytes(localT(), f));
}, 300_000);

test('SIGTERM drains a worker: its running job finishes or goes back to the queue within --drain-ms, and the run completes', async () => {
  const s = await redis();
  const out = join(tmp, 'drained');
  const first = worker(s, out, ['--drain-ms', '300']);
  const p = pipelineRun([...TOURNAMENT(), '--no-cache', '--out', out, '--lakehouse', lh, '--executor', 'bullmq', '--redis', s.url, '--json']);
  procs.push(p);
  await first.waitFor(/cell \S+ \S+ started/);
  const t0 = Date.now();
  first.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  expect(Date.now() - t0).toBeLessThan(20_000);
  expect(first.lines.join('\n')).toMatch(/SIGTERM: draining/);
  expect(first.lines.join('\n')).toMatch(/put back in the queue|worker stopped/);
  worker(s, out);
  expect(await p.exited).toBe(0);
  const folder = JSON.parse(p.stdout).folder;
  expect(Object.values(cellRuns(folder))).toEqual([1, 1, 1, 1]);
  for (const f of ['tournament.json', 'cells.json']) expect(bytes(folder, f)).toEqual(bytes(localT(), f));
}, 300_000);

test('Redis killed and restarted (AOF) mid-tournament: the run completes with the same results', async () => {
  const s = await redis();
  const out = join(tmp, 'killed-redis');
  // Locks as long as the default's order (the harness's 4 s suit the killed-worker test): a lock must outlive Redis
  // being down and the clients' reconnect backoff, or the stalled-job check hands a live job to the other worker.
  const w1 = worker(s, out, ['--lock-ms', '20000']);
  const w2 = worker(s, out, ['--lock-ms', '20000']);
  const p = pipelineRun([...TOURNAMENT(), '--no-cache', '--out', out, '--lakehouse', lh, '--executor', 'bullmq', '--redis', s.url, '--json']);
  procs.push(p);
  await w1.waitFor(/ done$/);
  await s.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 1500)); // Redis is down for a while: workers and submitter reconnect
  await s.start();
  expect(await p.exited).toBe(0);
  // While Redis was away each process said so in a line or two, not an error object dumped several times a second.
  for (const proc of [w1, w2, p]) {
    expect(proc.lines.join('\n')).not.toMatch(/errno:|at TCPConnectWrap/);
    expect(proc.count(/ECONNREFUSED/)).toBeLessThanOrEqual(4);
  }
  const folder = JSON.parse(p.stdout).folder;
  for (const f of ['tournament.json', 'cells.json']) expect(bytes(folder, f)).toEqual(bytes(localT(), f));
  expect(Object.values(cellRuns(folder))).toEqual([1, 1, 1, 1]);
}, 300_000);

test('a poison cell fails once with its error, the others finish', async () => {
  const file = join(tmp, 'poison.yaml');
  writeFileSync(file, `pipeline: tournament
version: "4.0"
base: ./crypto_long.yaml
champion: chrp
matrix:
  include:
    - { stages.allocation.engine: hrp }
    - { stages.allocation.engine: { name: efficient_return, params: { target_return: 50 } }, stages.allocation.fallback: [] }
    - { stages.allocation.engine: equal_weight }
cells: { id: "c{engine}" }
statistics: { bootstrap: { resamples: 200 } }
`);
  const s = await redis();
  const out = join(tmp, 'poison');
  const w = worker(s, out, ['--concurrency', '2']);
  const r = await submit(s, [file], out);
  expect(r.code).toBe(0);
  const cells = JSON.parse(readFileSync(join(r.summary.folder, 'cells.json'), 'utf8')) as { id: string; outcome: string; error?: { code: string } }[];
  const failed = cells.filter((c) => c.outcome === 'failed');
  expect(failed.map((c) => c.error?.code)).toEqual(['ALLOCATION_FAILED']);
  expect(cells.filter((c) => c.outcome === 'succeeded').length).toBe(2);
  // Run once: no retry of a run that failed as a run (UnrecoverableError), its failed run folder kept.
  expect(w.count(new RegExp(`cell ${failed[0].id} \\S+ started`))).toBe(1);
  expect(readdirSync(join(r.summary.folder, 'cells', failed[0].id))[0]).toMatch(/\.failed$/);
  // The same as a local run says.
  const l = local([file], join(tmp, 'poison-local'));
  expect(bytes(r.summary.folder, 'cells.json')).toEqual(bytes(l, 'cells.json'));
}, 300_000);

test('the submitter killed and started again re-attaches to its jobs: no cell runs twice', async () => {
  const s = await redis();
  const out = join(tmp, 'killed-submitter');
  // Long locks: the worker is held stopped (SIGSTOP) below for longer than the harness's 4 s locks.
  const w = worker(s, out, ['--lock-ms', '60000']);
  const args = [...TOURNAMENT(), '--out', out, '--lakehouse', lh, '--executor', 'bullmq', '--redis', s.url];
  const first = pipelineRun(args);
  procs.push(first);
  await w.waitFor(/ done$/); // one cell done, the next running
  first.kill('SIGKILL');
  // The worker held (SIGSTOP) until the second submitter has attached, so that it attaches to a batch still running.
  w.kill('SIGSTOP');
  await first.exited;
  // The jobs go on without their submitter: queue status shows its run.
  const status = pipelineRun(['queue', 'status', '--redis', s.url, '--json']);
  expect(await status.exited).toBe(0);
  const runs = JSON.parse(status.stdout).runs as { role: string; folder: string; children: number; done: number; waiting: number; active: number; failed: number; stalled: number }[];
  expect(runs.length).toBe(1);
  expect(runs[0]).toMatchObject({ role: 'cells', children: 4, failed: 0 });
  expect(runs[0].folder).toMatch(/^tournament_crypto\/\.[0-9TZa-f-]+\.partial\/cells$/);
  expect(runs[0].done + runs[0].waiting + runs[0].active).toBe(4);
  const second = pipelineRun(args);
  procs.push(second);
  await second.waitFor(/queue: attached to cells job/);
  const taken = pipelineRun(['queue', 'status', '--redis', s.url, '--json']);
  expect(await taken.exited).toBe(0);
  const [batch] = JSON.parse(taken.stdout).runs as { folder: string; attached_at: string | null }[];
  // The folder that will collect the batch: the second run's, not the first's (marked failed as the second began).
  const firstFolder = runs[0].folder.split('/')[1];
  expect(batch.folder).toMatch(/^tournament_crypto\/\.[0-9TZa-f-]+\.partial\/cells$/);
  expect(batch.folder.split('/')[1]).not.toBe(firstFolder);
  expect(existsSync(join(out, dirname(batch.folder)))).toBe(true);
  expect(existsSync(join(out, dirname(runs[0].folder)))).toBe(false);
  expect(batch.attached_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  w.kill('SIGCONT');
  expect(await second.exited).toBe(0);
  const folder = second.stdout.trim();
  expect(Object.values(cellRuns(folder))).toEqual([1, 1, 1, 1]);
  for (const c of Object.keys(cellRuns(folder))) expect({ c, runs: w.count(new RegExp(`cell ${c} \\S+ started`)) }).toEqual({ c, runs: 1 });
  for (const f of ['tournament.json', 'cells.json']) expect(bytes(folder, f)).toEqual(bytes(localT(), f));
  // The first submission's folder is marked interrupted, not left looking complete.
  expect(existsSync(join(out, 'tournament_crypto'))).toBe(true);
}, 300_000);

test('a worker whose lakehouse holds other data refuses the sleeve (QUEUE_DATA_MISMATCH, once): the meta fails with that error', async () => {
  const other = join(tmp, 'other-lh');
  expect(cli(['lakehouse', 'seed', '--synthetic', '--lakehouse', other]).code).toBe(0);
  const s = await redis();
  const out = join(tmp, 'mismatch');
  const w = startWorker(s, out, other);
  procs.push(w);
  const r = await submit(s, [join(tmp, 'crypto_meta.yaml'), '--no-cache'], out);
  expect(r.code).toBe(1);
  expect(r.summary.outcome).toBe('failed');
  const error = (r.summary as unknown as { error: { code: string; message: string } }).error;
  expect(error.code).toBe('QUEUE_DATA_MISMATCH');
  expect(error.message).toMatch(/^sleeve (long|short): .*the lakehouse .*other-lh gives data/);
  // Refused once: an input problem is not retried; the sleeve is named once.
  const name = /^sleeve (\S+):/.exec(error.message)![1];
  expect(error.message).not.toContain(`sleeve ${name}: sleeve`);
  expect(w.count(new RegExp(`sleeve ${name} \\S+ started`))).toBe(1);
  // A tournament on such a worker fails with the same error: a worker set up unlike the submitter fails every cell it
  // takes, and fast; the tournament used to "succeed" comparing the few cells a good worker ran.
  const t = await submit(s, [...TOURNAMENT(), '--no-cache'], out);
  expect(t.code).toBe(1);
  const tError = (t.summary as unknown as { error: { code: string; message: string } }).error;
  expect(tError.code).toBe('QUEUE_DATA_MISMATCH');
  expect(tError.message).toMatch(/^cell \S+: .*the lakehouse .*other-lh gives data/);
  expect(tError.message).not.toMatch(/^cell (\S+): cell \1/);
}, 300_000);

test('a worker whose --out is another folder refuses its jobs before writing anything (QUEUE_OUT_MISMATCH): the run fails with it', async () => {
  const s = await redis();
  const out = join(tmp, 'out-submitter');
  const elsewhere = join(tmp, 'out-worker');
  mkdirSync(elsewhere, { recursive: true });
  const w = worker(s, elsewhere);
  const t = await submit(s, [...TOURNAMENT(), '--no-cache'], out);
  expect(t.code).toBe(1);
  const error = (t.summary as unknown as { error: { code: string; message: string } }).error;
  expect(error.code).toBe('QUEUE_OUT_MISMATCH');
  expect(error.message).toMatch(/^cell \S+: this worker's --out .*out-worker is not the submitter's runs root \(it has no \.jobs\/ROOT\)/);
  // Nothing of the jobs under the worker's folder (it used to keep a job folder per cell, which no submitter removes),
  // and the submitter's runs root keeps only its identity.
  expect(readdirSync(elsewhere)).toEqual([]);
  expect(readdirSync(join(out, '.jobs'))).toEqual(['ROOT']);
  expect(w.count(/cell \S+ \S+ started/)).toBeGreaterThan(0);
  // A second runs root made elsewhere has its own identity: a worker there is refused as well, for another reason.
  mkdirSync(join(elsewhere, '.jobs'), { recursive: true });
  writeFileSync(join(elsewhere, '.jobs', 'ROOT'), 'another-root\n');
  const again = await submit(s, [...TOURNAMENT(), '--no-cache'], out);
  expect((again.summary as unknown as { error: { code: string; message: string } }).error.message).toMatch(/it holds another runs root's identity/);
  expect(readdirSync(join(elsewhere, '.jobs'))).toEqual(['ROOT']);
}, 300_000);

test('a batch never collected (its submitter killed) does not hold up another batch that computes the same child', async () => {
  // crypto_meta's sleeve `long` is crypto_long.yaml as written: the very work of the tournament's champion cell.
  const s = await redis();
  const out = join(tmp, 'uncollected');
  const w = worker(s, out);
  const meta = pipelineRun([join(tmp, 'crypto_meta.yaml'), '--no-cache', '--out', out, '--lakehouse', lh, '--executor', 'bullmq', '--redis', s.url]);
  procs.push(meta);
  await w.waitFor(/sleeve \S+ \S+ started/);
  meta.kill('SIGKILL');
  await meta.exited;
  // The worker finishes the dead batch's sleeves; nobody collects them.
  await w.waitFor(/gather \S+ started/);
  const t = await submit(s, [...TOURNAMENT(), '--no-cache'], out);
  expect(t.code).toBe(0);
  expect(t.summary.outcome).toBe('succeeded');
  const cells = JSON.parse(readFileSync(join(t.summary.folder, 'cells.json'), 'utf8')) as { id: string; outcome: string }[];
  expect(cells.map((c) => [c.id, c.outcome])).toEqual(cells.map((c) => [c.id, 'succeeded']));
  expect(Object.values(cellRuns(t.summary.folder))).toEqual([1, 1, 1, 1]);
  for (const f of ['tournament.json', 'cells.json']) expect(bytes(t.summary.folder, f)).toEqual(bytes(localT(), f));
}, 300_000);

test('an import committing after a worker checked a sleeve\'s data: the sleeve reads the version it was checked against', async () => {
  // The sleeve's first stage (fixtures/commit.stage.mjs), in its preflight on the worker, imports changed bars into
  // the worker's lakehouse: a commit landing after the worker checked the job's data against the submitter's and
  // before the run's own checks read the lakehouse. The run must read the version it was checked against
  // (src/lakehouse/pins.ts, kept versions): the data hash the submitter sent, and the same returns as a run on a
  // lakehouse that never changed. (Before the check and the run shared one scope, the run read the new version.)
  const dir = join(tmp, 'race');
  mkdirSync(join(dir, 'bars'), { recursive: true });
  mkdirSync(join(dir, 'changed'), { recursive: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(dir, 'node_modules', 'fractal')); // the module imports the API as a user's would
  copyFileSync(join(repo, 'test', 'distributed', 'fixtures', 'commit.stage.mjs'), join(dir, 'commit.stage.mjs'));
  const day = (t: number) => new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10);
  for (const [j, symbol] of ['AAA', 'BBB', 'CCC', 'DDD'].entries()) {
    const closes: number[] = [];
    for (let t = 0, p = 100; t < 160; t++) closes.push((p *= 1 + 0.01 * Math.sin(0.7 * t * (j + 1)) + 0.002 * (j - 1)));
    const csv = (c: number[]) => ['date,open,high,low,close,volume', ...c.map((x, t) => `${day(t)},${x},${x * 1.01},${x * 0.99},${x},1000000`)].join('\n');
    writeFileSync(join(dir, 'bars', `${symbol}.csv`), csv(closes));
    // What the commit brings: AAA's last 60 closes 5% higher.
    if (symbol === 'AAA') writeFileSync(join(dir, 'changed', 'AAA.csv'), csv(closes.map((x, t) => (t >= 100 ? x * 1.05 : x))));
  }
  const sleeve = (commit: boolean) => `pipeline: selection
version: "4.0"
name: race_sleeve
${commit ? 'plugins: [./commit.stage.mjs]\n' : ''}stages:
${commit ? '  - type: commit_import\n' : ''}  - type: ingestion
    params: { scanner: { name: lakehouse, params: { venue: race, min_volume_spot: 0, exclude_stablecoins: false } }, lookback_days: 60 }
  - type: allocation
    params: { engine: equal_weight }
  - type: backtest
    params: { train_window: 40, test_window: 20, step_size: 20 }
`;
  writeFileSync(join(dir, 'sleeve.yaml'), sleeve(true));
  writeFileSync(join(dir, 'plain.yaml'), sleeve(false));
  writeFileSync(join(dir, 'meta.yaml'), 'pipeline: meta\nversion: "4.0"\nname: race_meta\nsleeves:\n  - { name: only, pipeline: ./sleeve.yaml }\nstages:\n  - type: meta_returns\n  - type: meta_optimize\n    params: { engine: equal_weight, train_window: 20, test_window: 10, step_size: 10 }\n  - type: meta_flatten\n');
  const lakehouse = (name: string) => {
    const at = join(dir, name);
    expect(cli(['lakehouse', 'import', join(dir, 'bars'), '--layout', 'ohlcv', '--venue', 'race', '--asset-type', 'spot', '--lakehouse', at]).code).toBe(0);
    return at;
  };
  const shared = lakehouse('lh');
  const identity = async (at: string) => (await openLakehouse(at, { readOnly: true })).dataIdentity();
  const before = await identity(shared);
  // The reference: the same stages without the commit, on a lakehouse that never changes.
  const reference = JSON.parse(cli([join(dir, 'plain.yaml'), '--lakehouse', lakehouse('lh-reference'), '--out', join(dir, 'local'), '--json', '--no-cache']).stdout).folder as string;
  const s = await redis();
  const out = join(dir, 'runs');
  // A worker as startWorker makes one, told to commit in the fixture's preflight.
  procs.push(new Proc(process.execPath, [BIN, 'worker', '--redis', s.url, '--out', out, '--lakehouse', shared, '--lock-ms', '4000', '--drain-ms', '5000'], { env: { FRACTAL_TEST_COMMIT_IN_PREFLIGHT: '1' } }));
  const p = pipelineRun([join(dir, 'meta.yaml'), '--out', out, '--lakehouse', shared, '--executor', 'bullmq', '--redis', s.url, '--json']);
  procs.push(p);
  expect(await p.exited).toBe(0);
  expect(await identity(shared)).not.toBe(before); // the commit landed
  const sleeves = JSON.parse(readFileSync(join(JSON.parse(p.stdout).folder, 'sleeves.json'), 'utf8')) as { sleeves: { data_hash: string; run: string }[] };
  expect(sleeves.sleeves.map((x) => x.data_hash)).toEqual([before]);
  const ran = join(JSON.parse(p.stdout).folder, sleeves.sleeves[0]!.run);
  expect(JSON.parse(readFileSync(join(ran, 'manifest.json'), 'utf8')).data_hash).toBe(before);
  expect(readFileSync(join(ran, 'returns.arrow')).equals(readFileSync(join(reference, 'returns.arrow')))).toBe(true);
}, 120_000);

test('usage: --executor bullmq without a Redis URL, an unknown executor, an unreachable Redis', () => {
  const env = { FRACTAL_REDIS_URL: '' };
  const noUrl = cli([join(tmp, 'crypto_long.yaml'), '--executor', 'bullmq', '--lakehouse', lh, '--out', join(tmp, 'x')], { env });
  expect(noUrl.code).toBe(2);
  expect(noUrl.stderr).toMatch(/QUEUE_NO_REDIS/);
  const bad = cli([join(tmp, 'crypto_long.yaml'), '--executor', 'ray', '--lakehouse', lh, '--out', join(tmp, 'x')]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/CLI_BAD_OPTION.*--executor must be local or bullmq/);
  mkdirSync(join(tmp, 'x'), { recursive: true });
  const down = cli(['worker', '--redis', 'redis://127.0.0.1:1', '--out', join(tmp, 'x')]);
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(/QUEUE_UNREACHABLE/);
});
