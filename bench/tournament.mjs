// Benchmark (issue 14): tournaments as a user runs them, `pipeline-run <tournament file>` as a whole process, on the
// crypto data (../shared/data/crypto imported into a temporary lakehouse: setup, not timed):
//   - pipelines/tournament_crypto.yaml (24 cells: engine x ranker x step size on crypto_long.yaml): the first run
//     (every cell computed, on the local worker pool) and an unchanged re-run (every cell from the result cache);
//   - its peer, measured in the same run: the same 24 cells as 24 `pipeline-run crypto_long.yaml --set ...`
//     processes, as many at a time as there are cores (what one would script without tournaments; it computes no
//     comparison at all);
//   - pipelines/tournament_meta.yaml (4 meta cells), first run and re-run.
// Wall time includes start-up; peak RSS comes from GNU time's %M when /usr/bin/time is there.
// Run: `npm run bench -- --only tournament`, or after `npm run build`: `node bench/tournament.mjs`.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(root, 'bin', 'pipeline-run.js');
const DATA = process.env.FRACTAL_DATA ?? join(root, '..', 'shared', 'data');
const GNU_TIME = '/usr/bin/time';
const tmp = mkdtempSync(join(tmpdir(), 'fractal-bench-tournament-'));

/** Runs the CLI as a whole process; wall seconds and peak RSS (MiB, when GNU time is there). */
function timed(args) {
  return new Promise((resolve, reject) => {
    const withTime = existsSync(GNU_TIME);
    const cmd = withTime ? GNU_TIME : process.execPath;
    const argv = withTime ? ['-f', '%M', process.execPath, CLI, ...args] : [CLI, ...args];
    const t0 = performance.now();
    const p = spawn(cmd, argv, { cwd: tmp, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`pipeline-run ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      const rss = withTime ? Number(err.trim().split('\n').pop()) / 1024 : NaN;
      resolve({ seconds, rss, folder: out.trim().split('\n').pop() });
    });
  });
}

const fmt = (s) => `${s.toFixed(1)} s`;
const mib = (r) => (Number.isFinite(r) ? `, peak RSS ${r.toFixed(0)} MiB` : '');

try {
  for (const f of ['crypto_long.yaml', 'crypto_short.yaml', 'crypto_meta.yaml', 'tournament_crypto.yaml', 'tournament_meta.yaml']) copyFileSync(join(root, 'pipelines', f), join(tmp, f));
  const lh = join(tmp, 'lakehouse');
  const imp = spawnSync(process.execPath, [CLI, 'lakehouse', 'import', join(DATA, 'crypto'), '--layout', 'ohlcv', '--venue', 'binance_spot', '--lakehouse', lh], { encoding: 'utf8' });
  if (imp.status !== 0) throw new Error(`lakehouse import failed: ${imp.stderr}`);
  const cores = availableParallelism();
  console.log(`machine: ${cores} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the start`);

  for (const [file, label] of [['tournament_crypto.yaml', '24 cells'], ['tournament_meta.yaml', '4 meta cells']]) {
    const out = join(tmp, `runs-${file}`);
    const first = await timed([file, '--lakehouse', lh, '--out', out]);
    const again = await timed([file, '--lakehouse', lh, '--out', out]);
    const j = JSON.parse(readFileSync(join(first.folder, 'tournament.json'), 'utf8'));
    const ran = j.cells.filter((c) => c.outcome === 'succeeded').length;
    console.log(`\n${file} (${label}; ${ran} succeeded, ${j.calendar.days} common days, ${j.bootstrap.resamples} resamples)`);
    console.log(`  first run:                ${fmt(first.seconds)}${mib(first.rss)}`);
    console.log(`  unchanged re-run (cache): ${fmt(again.seconds)}${mib(again.rss)}  = ${(again.seconds / first.seconds).toFixed(3)} of the first run (target <= 0.1)`);
    if (file !== 'tournament_crypto.yaml') continue;
    // The peer: one pipeline-run per cell, `cores` at a time, the cell's overrides as --set.
    const jobs = j.cells.map((c) => ['crypto_long.yaml', ...Object.entries(c.overrides).flatMap(([p, v]) => ['--set', `${p}=${JSON.stringify(v)}`]), '--lakehouse', lh, '--out', join(tmp, 'runs-peer'), '--no-cache', '--quiet']);
    const t0 = performance.now();
    let next = 0;
    // Every lane stops at the first failure and is waited for before the folder goes: a lane still running would
    // write into the folder being removed, and its ENOTEMPTY would hide the failure itself.
    let failed = false;
    const lanes = await Promise.allSettled(Array.from({ length: cores }, async () => {
      while (!failed && next < jobs.length) {
        try {
          await timed(jobs[next++]);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }));
    const failure = lanes.find((l) => l.status === 'rejected');
    if (failure) throw failure.reason;
    const peer = (performance.now() - t0) / 1000;
    console.log(`  peer: ${jobs.length} x pipeline-run crypto_long.yaml --set ..., ${cores} at a time: ${fmt(peer)} (no comparison computed); the tournament took ${(first.seconds / peer).toFixed(2)}x that`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
