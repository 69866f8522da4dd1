// npm run bench: every benchmark, one after another, on the built code (timings live here, never in tests).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benches = [
  ['lakehouse: seed, import and read a returns matrix', 'dist/src/lakehouse/bench.js', ['500', '1000']],
  ['Ward clustering: nearest-neighbour chain vs ml-hclust agnes', 'dist/src/math/bench-ward.js', []],
  ['allocation engines at 100, 500 and 1000 assets', 'dist/src/math/bench-allocation.js', []],
  ['the selection funnel on 1000 symbols x 500 days', 'dist/src/bench/funnel.js', ['1000', '500']],
  ['walk-forward job, 500 and 2000 symbols x 1260 days (numpy/scipy: 2.5 s and 10.7 s)', 'dist/src/bench/walk-forward.js', ['500', '2000']],
  ['simulators: event_driven against vectorized (500 symbols, the demo, the crypto example)', 'bench/simulator.mjs', []],
];
let failed = 0;
for (const [title, file, args] of benches) {
  const path = join(root, file);
  process.stdout.write(`\n## ${title}\n`);
  if (!existsSync(path)) {
    process.stdout.write(`(not built: ${file})\n`);
    continue;
  }
  const r = spawnSync(process.execPath, ['--expose-gc', path, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
