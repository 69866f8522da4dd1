// Benchmark: the distributed queue at scale, as docs/distributed.md's scale plan states it. 2,000 tiny cells on the
// queue at once (five tournaments of 400 cells on a synthetic 8-symbol market, submitted together with
// `pipeline-run <file> --executor bullmq`) through 3 `pipeline-run worker` processes (concurrency 2) on a
// redis-server of its own (a free port, nothing kept on disk). Prints the throughput, Redis's peak used_memory over
// the empty server (sampled every 250 ms) and per cell, the longest the event stream got, the keys left once every
// run has collected its cells, and the run folders' size per cell; exits 1 when the memory bound the docs state
// (32 MB over an empty Redis), the stream trimming (about 2,000 entries) or the clean-up does not hold.
// test/distributed/scale.test.ts runs it on 200 cells (`--cells 200 --tournaments 2 --json`) and checks the memory per
// cell and the clean-up; this measures them at the size the docs promise (about a minute on 2 cores).
// Run: `npm run bench -- --only queue-scale [--cells 2000]` (a multiple of 50), or after `npm run build`:
// `node bench/queue-scale.mjs [--cells N] [--tournaments K] [--json]` (K tournaments of N/K cells each, a multiple of
// 50; by default tournaments of at most 400 cells; --json prints the figures as one object). Needs redis-server.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(root, 'bin', 'pipeline-run.js');
const BOUND = 32 * 1024 * 1024;
const WORKERS = 3;
const PER_TOURNAMENT = 400;
const argv = process.argv.slice(2);
const numberAfter = (flag, otherwise) => (argv.includes(flag) ? Number(argv[argv.indexOf(flag) + 1]) : otherwise);
const cellsArg = numberAfter('--cells', 2000);
const tournaments = numberAfter('--tournaments', Math.ceil(cellsArg / PER_TOURNAMENT));
const json = argv.includes('--json');
if (!Number.isInteger(tournaments) || tournaments < 1 || !Number.isInteger(cellsArg) || cellsArg % (50 * tournaments) !== 0 || cellsArg < 50) {
  console.error(`--cells ${cellsArg} in --tournaments ${tournaments}: each tournament must hold a multiple of 50 cells`);
  process.exit(2);
}
if (spawnSync('redis-server', ['--version']).status !== 0) {
  console.log(json ? JSON.stringify({ measured: false, why: 'redis-server is not on this machine' }) : 'redis-server is not on this machine: nothing measured (apt-get install redis-server).');
  process.exit(0);
}
/** The human lines; --json prints one object instead. */
const say = (line) => json || console.log(line);

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** A child process with its stdout collected; `exited` resolves with its exit code. */
function start(cmd, args, cwd) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { child, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (t) => (p.stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t) => (p.stderr = (p.stderr + t).slice(-4000)));
  p.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  return p;
}

const du = (p) => {
  const st = statSync(p);
  return st.isDirectory() ? readdirSync(p).reduce((a, f) => a + du(join(p, f)), 0) : st.size;
};

/** The tiny base pipeline of the cells: 8 synthetic symbols x 120 days, a backtest of a few windows. */
const TINY = readFileSync(join(root, 'pipelines', 'bench', 'tiny.yaml'), 'utf8');

/** Tournament g of `cells` cells (a multiple of 50): feature lookbacks x 50 test windows, no cell shared with another. */
function tournament(g, cells) {
  const windows = 50;
  const lookbacks = cells / windows;
  const l = Array.from({ length: lookbacks }, (_, i) => 5 + g * 8 + i);
  const w = Array.from({ length: windows }, (_, i) => 5 + i);
  return `pipeline: tournament
version: "4.0"
name: t${g}
base: ./tiny.yaml
champion: c${l[0]}_5
matrix:
  stages.feature_engineering.lookback: [${l.join(', ')}]
  stages.backtest.test_window: [${w.join(', ')}]
cells: { id: "c{lookback}_{test_window}", max: ${cells} }
statistics: { bootstrap: { resamples: 100 }, cscv_blocks: 4 }
`;
}

const tmp = mkdtempSync(join(tmpdir(), 'fractal-bench-queue-'));
const procs = [];
let failed = false;
try {
  writeFileSync(join(tmp, 'tiny.yaml'), TINY);
  const sizes = Array.from({ length: tournaments }, () => cellsArg / tournaments);
  const files = sizes.map((cells, g) => {
    const f = join(tmp, `t${g}.yaml`);
    writeFileSync(f, tournament(g, cells));
    return f;
  });
  const port = await freePort();
  const redisDir = mkdtempSync(join(tmp, 'redis-'));
  const server = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], redisDir);
  procs.push(server);
  const url = `redis://127.0.0.1:${port}`;
  const r = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (n) => (n > 50 ? null : 100) });
  r.on('error', () => {}); // refused until the server listens: retried, and an end without it fails below
  await new Promise((resolve, reject) => (r.once('ready', resolve), r.once('end', () => reject(new Error('redis-server did not start')))));
  const out = join(tmp, 'runs');
  const lakehouse = join(tmp, 'no-lakehouse');
  for (let i = 0; i < WORKERS; i++) procs.push(start(process.execPath, [CLI, 'worker', '--redis', url, '--out', out, '--lakehouse', lakehouse, '--concurrency', '2', '--quiet'], tmp));
  const used = async () => Number(/used_memory:(\d+)/.exec(await r.info('memory'))[1]);
  const baseline = await used();
  let peak = baseline;
  let peakEvents = 0;
  let waitingAtPeak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const m = await used();
      if (m > peak) [peak, waitingAtPeak] = [m, await r.llen('bull:fractal:wait')];
      peakEvents = Math.max(peakEvents, await r.xlen('bull:fractal:events'));
      await new Promise((res) => setTimeout(res, 250));
    }
  })();
  const cells = sizes.reduce((a, b) => a + b, 0);
  say(`machine: ${availableParallelism()} cores, load average ${loadavg()[0].toFixed(2)} at the start; ${cells} cells in ${files.length} tournament${files.length > 1 ? 's' : ''}, ${WORKERS} workers of concurrency 2`);
  const t0 = performance.now();
  const submitters = files.map((f) => start(process.execPath, [CLI, f, '--out', out, '--lakehouse', lakehouse, '--executor', 'bullmq', '--redis', url, '--json'], tmp));
  procs.push(...submitters);
  const codes = await Promise.all(submitters.map((s) => s.exited));
  const seconds = (performance.now() - t0) / 1000;
  sampling = false;
  await sampler;
  const left = await r.dbsize();
  await r.quit();
  if (codes.some((c) => c !== 0)) throw new Error(`a submitter failed (exit codes ${codes.join(', ')}):\n${submitters.find((s, i) => codes[i] !== 0).stderr}`);
  const folders = submitters.map((s) => JSON.parse(s.stdout).folder);
  const cellBytes = folders.reduce((a, f) => a + du(join(f, 'cells')), 0);
  const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
  say(`${cells} cells in ${seconds.toFixed(0)} s (${(cells / seconds).toFixed(1)} cells/s)`);
  say(`Redis used_memory: ${mb(baseline)} empty, peak ${mb(peak)} (+${mb(peak - baseline)}, ${((peak - baseline) / cells / 1024).toFixed(2)} KB per cell; ${waitingAtPeak} jobs waiting then); bound +${mb(BOUND)}`);
  say(`event stream: at most ${peakEvents} entries (trimmed to about 2,000); keys left once collected: ${left}; cell run folders ${(cellBytes / cells / 1024).toFixed(0)} KB per cell`);
  const problems = [
    ...folders.flatMap((f, i) => (readdirSync(join(f, 'cells')).length === sizes[i] ? [] : [`${f}: ${readdirSync(join(f, 'cells')).length} cells, expected ${sizes[i]}`])),
    ...(peak - baseline < BOUND ? [] : [`Redis grew by ${mb(peak - baseline)}, over the bound`]),
    ...(peakEvents < 3000 ? [] : [`the event stream reached ${peakEvents} entries`]),
    ...(left < 10 ? [] : [`${left} keys left in Redis`]),
    // The runs root holds its identity alone once every batch is collected (src/exec/queue-common.ts runsRootId).
    ...(readdirSync(join(out, '.jobs')).join() === 'ROOT' ? [] : [`job folders left: ${readdirSync(join(out, '.jobs')).join(', ')}`]),
  ];
  for (const p of problems) say(`NOT AS DOCUMENTED: ${p}`);
  if (json) console.log(JSON.stringify({ measured: true, cells, tournaments: sizes.length, seconds, redis: { baseline, peak, waiting_at_peak: waitingAtPeak, keys_left: left }, peak_events: peakEvents, cell_bytes: cellBytes, problems }));
  failed = problems.length > 0;
} catch (err) {
  console.error(err.message);
  failed = true;
} finally {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
