// Benchmark (issue 16): what the order-level simulator costs beside the vectorized one, as a user runs them:
// `pipeline-run` on a pipeline file, a whole process each, the two simulators alternating in the same run on this
// machine. Cases:
//   - N symbols held in equal weight (pipelines/bench/simulator.yaml on a seeded synthetic market, default N = 500):
//     every rebalance holds every name, so the simulator's share is as large as it gets;
//   - the demo (pipelines/demo.yaml) and the crypto example (pipelines/crypto_long.yaml on ../shared/data/crypto,
//     when present): the target is at most 2x the vectorized one's time.
// Each case runs `vectorized`, `event_driven` (defaults: next open) and `event_driven` with Binance-like lots, a 5
// USDT minimum and a 1% participation cap. Reported per simulator: median wall time of the process, CPU time (user +
// system, steadier when the machine is shared), the backtest stage's time from the manifest, peak RSS (GNU time),
// and each one's ratio to vectorized. `workers: 1` for all, so that worker threads (whose use depends on timings)
// never differ between the two.
//
// Run: `npm run build && node bench/simulator.mjs [--n 500] [--repeat 5]`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(root, 'bin', 'pipeline-run.js');
const GNU_TIME = '/usr/bin/time';
const argv = process.argv.slice(2);
const opt = (flag, dflt) => (argv.includes(flag) ? Number(argv[argv.indexOf(flag) + 1]) : dflt);
const N = opt('--n', 500);
const REPEAT = opt('--repeat', 5);
const CRYPTO = process.env.FRACTAL_DATA ? join(process.env.FRACTAL_DATA, 'crypto') : join(root, '..', 'shared', 'data', 'crypto');

const REALISTIC = JSON.stringify({ name: 'event_driven', params: { max_participation: 0.01, lot_size: 0.001, min_notional: 5, symbols: { BTCUSDT: { lot_size: 0.00001 }, ETHUSDT: { lot_size: 0.0001 } } } });
const SIMULATORS = [
  ['vectorized', 'vectorized'],
  ['event_driven', 'event_driven'],
  ['event_driven (lots, 1% cap)', REALISTIC],
];

function cli(args, { time = false } = {}) {
  const useTime = time && existsSync(GNU_TIME);
  const cmd = useTime ? GNU_TIME : process.execPath;
  const full = useTime ? ['-f', '__time %e %U %S %M', process.execPath, CLI, ...args] : [CLI, ...args];
  const t0 = performance.now();
  const r = spawnSync(cmd, full, { cwd: root, encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 1 << 26 });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`pipeline-run ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  const m = /__time (\S+) (\S+) (\S+) (\S+)/.exec(r.stderr ?? '');
  return { stdout: r.stdout, wall, cpu: m ? (Number(m[2]) + Number(m[3])) * 1000 : NaN, rss: m ? Number(m[4]) / 1024 : NaN };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function runCase(title, file, extra, out) {
  const rows = SIMULATORS.map(([label]) => ({ label, wall: [], cpu: [], stage: [], rss: [] }));
  for (let r = 0; r < REPEAT; r++) {
    // Alternate the order so that neither side always runs on a warmer (or busier) machine.
    const order = r % 2 ? [...SIMULATORS.keys()].reverse() : [...SIMULATORS.keys()];
    for (const i of order) {
      const res = cli([file, '--out', out, '--json', '--set', `stages.backtest.simulator=${SIMULATORS[i][1]}`, '--set', 'stages.backtest.workers=1', ...extra], { time: true });
      const summary = JSON.parse(res.stdout);
      const manifest = JSON.parse(readFileSync(join(summary.folder, 'manifest.json'), 'utf8'));
      rows[i].wall.push(res.wall);
      rows[i].cpu.push(res.cpu);
      rows[i].rss.push(res.rss);
      rows[i].stage.push(manifest.stages.find((s) => s.type === 'backtest').ms);
    }
  }
  const base = rows[0];
  const fmt = (x) => (Number.isFinite(x) ? `${Math.round(x)}` : '—');
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '—');
  console.log(`\n### ${title}\n`);
  console.log('| simulator | wall ms | CPU ms | backtest stage ms | peak RSS MB | wall / vectorized | CPU / vectorized | stage / vectorized |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const [w, c, s, m] = [median(row.wall), median(row.cpu), median(row.stage), median(row.rss)];
    console.log(`| ${row.label} | ${fmt(w)} | ${fmt(c)} | ${fmt(s)} | ${fmt(m)} | ${ratio(w, median(base.wall))} | ${ratio(c, median(base.cpu))} | ${ratio(s, median(base.stage))} |`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'fractal-bench-sim-'));
try {
  console.log(`simulators, medians of ${REPEAT} runs each, alternating; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const synthetic = join(dir, 'synthetic');
  cli(['lakehouse', 'seed', '--synthetic', '--symbols', String(N), '--days', '1000', '--lakehouse', synthetic]);
  runCase(`${N} symbols held in equal weight, 1000 days, a rebalance every 20 days (pipelines/bench/simulator.yaml)`, 'pipelines/bench/simulator.yaml', ['--lakehouse', synthetic], join(dir, 'runs'));
  runCase('the demo (pipelines/demo.yaml: 3 rankers, so 3 paths held by each simulator)', 'pipelines/demo.yaml', [], join(dir, 'runs'));
  if (existsSync(CRYPTO)) {
    const crypto = join(dir, 'crypto');
    cli(['lakehouse', 'import', CRYPTO, '--layout', 'ohlcv', '--venue', 'binance_spot', '--asset-type', 'spot', '--lakehouse', crypto]);
    runCase('the crypto example (pipelines/crypto_long.yaml on ../shared/data/crypto)', 'pipelines/crypto_long.yaml', ['--lakehouse', crypto], join(dir, 'runs'));
  } else console.log(`\n(no ${CRYPTO}: the crypto example is skipped)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
