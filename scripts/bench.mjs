// npm run bench: the benchmarks in bench/, one after another, on the built code (timings live here, never in tests).
//   npm run bench                                   every benchmark
//   npm run bench -- --only walk-forward --n 500    some of them; --n sets the walk-forward job's symbol counts,
//                                                   --repeat R keeps its fastest of R runs, --no-floor skips its
//                                                   N=30 floor; --cells N the queue-scale benchmark's cell count
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benches = [
  { name: 'lakehouse', title: 'lakehouse: seed, import and read a returns matrix', file: 'dist/bench/lakehouse.js', args: ['500', '1000'] },
  { name: 'ward', title: 'Ward clustering: nearest-neighbour chain vs ml-hclust agnes', file: 'dist/bench/ward.js', args: [] },
  { name: 'allocation', title: 'allocation engines at 100, 500 and 1000 assets', file: 'dist/bench/allocation.js', args: [] },
  { name: 'funnel', title: 'the selection funnel on 1000 symbols x 500 days', file: 'dist/bench/funnel.js', args: ['1000', '500'] },
  { name: 'walk-forward', title: 'the walk-forward job: pipeline-run on pipelines/bench/walk_forward.yaml vs numpy/scipy', file: 'dist/bench/walk-forward.js', args: [] },
  { name: 'simulator', title: 'simulators: event_driven against vectorized (500 symbols, the demo, the crypto example)', file: 'bench/simulator.mjs', args: [] },
  { name: 'queue-scale', title: 'the distributed queue at scale: 2,000 tiny cells through 3 workers on Redis (memory bound, stream trimming, clean-up)', file: 'bench/queue-scale.mjs', args: [] },
  { name: 'tournament', title: 'tournaments: pipeline-run on tournament_crypto.yaml (24 cells) and tournament_meta.yaml, first run and cached re-run, against one pipeline-run per cell', file: 'bench/tournament.mjs', args: [] },
];

const USAGE = `usage: npm run bench [-- options]   (or, after npm run build: node scripts/bench.mjs [options])
  --only NAME[,NAME]  run only these benchmarks: ${benches.map((b) => b.name).join(', ')}
  --n N[,N]           the walk-forward job's symbol counts (default 500,2000,5000)
  --repeat R          the walk-forward job: keep the fastest of R runs of each program, alternating (default 1)
  --no-floor          the walk-forward job: skip its N=30 floor
  --cells N           the queue-scale benchmark's cell count
  --help              this text`;
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
// A flag the benchmarks do not know (a typo such as --onyl) is refused before anything runs: it would otherwise start
// every benchmark, many minutes of load.
const VALUED = ['--only', '--n', '--repeat', '--cells'];
for (let i = 0; i < argv.length; i++) {
  if (VALUED.includes(argv[i])) i++;
  else if (argv[i] !== '--no-floor') {
    console.error(`unknown option ${argv[i]}\n${USAGE}`);
    process.exit(2);
  }
}
const option = (flag) => {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  if (!argv[i + 1] || argv[i + 1].startsWith('--')) {
    console.error(`${flag} needs a value`);
    process.exit(2);
  }
  return argv[i + 1];
};
const only = option('--only')?.split(',');
const ns = option('--n');
const repeat = option('--repeat');
const cells = option('--cells');
const unknown = (only ?? []).filter((n) => !benches.some((b) => b.name === n));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')} (benchmarks: ${benches.map((b) => b.name).join(', ')})`);
  process.exit(2);
}

let failed = 0;
for (const b of benches.filter((x) => !only || only.includes(x.name))) {
  const path = join(root, b.file);
  process.stdout.write(`\n## ${b.title}\n`);
  if (!existsSync(path)) {
    process.stdout.write(`(not built: ${b.file})\n`);
    failed++;
    continue;
  }
  const args =
    b.name === 'walk-forward' ? [...(ns ? ['--n', ns] : []), ...(repeat ? ['--repeat', repeat] : []), ...(argv.includes('--no-floor') ? ['--no-floor'] : [])] : b.name === 'queue-scale' && cells ? ['--cells', cells] : b.args;
  const r = spawnSync(process.execPath, ['--expose-gc', path, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
