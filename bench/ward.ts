/**
 * Timing of the nearest-neighbour-chain Ward, its WebAssembly SIMD engine against its JavaScript loop (same bits,
 * checked here), and against ml-hclust agnes (O(n^3)) at n = 500. Not a test: run with
 *   npm run build && node dist/bench/ward.js   (or `npm run bench -- --only ward`).
 * Inputs are correlation distances of random factor-model returns, the shape the clustering stage feeds in: a
 * square matrix handed over (the JavaScript loop and 'Ward SIMD'), or, as the stage passes them, the upper triangle
 * written into the engine's memory and mirrored there ('SIMD, triangle written'). CPU milliseconds of this process,
 * fastest of the repeats, the engines alternated so that a busy machine weighs on all alike.
 */
import { agnes } from 'ml-hclust';
import { correlationDistance, correlationMatrix } from '../src/math/correlation.js';
import { wardLinkage, wardLinkageWritten } from '../src/math/ward.js';
import { wardSimdAvailable } from '../src/math/ward-wasm.js';

function factorReturns(nSymbols: number, nDays: number, seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const nFactors = 8;
  const factors = Float64Array.from({ length: nFactors * nDays }, normal);
  const values = new Float64Array(nSymbols * nDays);
  for (let j = 0; j < nSymbols; j++) {
    const f = j % nFactors;
    const loading = 0.3 + uniform();
    for (let t = 0; t < nDays; t++) values[j * nDays + t] = 0.01 * (loading * factors[f * nDays + t]! + normal());
  }
  return { values, nSymbols, nDays };
}

function cpuMs(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function timeMs(run: () => void, repeats: number): number {
  run(); // warm-up so the JIT has compiled the loops
  let best = Infinity;
  for (let r = 0; r < repeats; r++) best = Math.min(best, cpuMs(run));
  return best;
}

const nDays = 250;
console.log(`WebAssembly SIMD engine ${wardSimdAvailable() ? 'available' : 'NOT available (both rows time the JavaScript loop)'}`);
{
  // Warm-up: both engines' JavaScript compiled before the first timed size.
  const n = 300;
  const warm = correlationDistance(correlationMatrix(factorReturns(n, nDays, 1), { undefinedAs: 'zero' }), n);
  for (let r = 0; r < 20; r++) for (const kernel of ['js', 'auto'] as const) wardLinkage(warm.slice(), n, 'square', { consume: true, kernel });
}
console.log('n     correlation  Ward JS loop  Ward SIMD  JS / SIMD  SIMD, triangle written  same bits');
for (const n of [500, 1000, 2000, 5000]) {
  const data = factorReturns(n, nDays, n);
  let distance: Float64Array = new Float64Array(0);
  const corrMs = timeMs(() => {
    distance = correlationDistance(correlationMatrix(data, { undefinedAs: 'zero' }), n);
  }, n >= 5000 ? 1 : 3);
  const work = new Float64Array(n * n);
  // The clustering stage's path: its writer puts the upper triangle where the engine reads it (here a copy of it).
  const writeUpper = (square: Float64Array) => {
    for (let i = 0; i < n; i++) square.set(distance.subarray(i * n + i + 1, i * n + n), i * n + i + 1);
  };
  const engines = { js: [] as number[], auto: [] as number[], written: [] as number[] };
  const linkages: Record<string, Float64Array> = {};
  for (let r = 0; r < (n >= 5000 ? 3 : 8); r++) {
    for (const kernel of ['js', 'auto'] as const) {
      work.set(distance);
      engines[kernel].push(cpuMs(() => (linkages[kernel] = wardLinkage(work, n, 'square', { consume: true, kernel }))));
    }
    engines.written.push(cpuMs(() => (linkages.written = wardLinkageWritten(n, writeUpper))));
  }
  const js = Math.min(...engines.js.slice(1));
  const simd = Math.min(...engines.auto.slice(1));
  const written = Math.min(...engines.written.slice(1));
  const same = [linkages.auto!, linkages.written!].every((z) => linkages.js!.every((v, i) => Object.is(v, z[i])));
  console.log(`${String(n).padEnd(6)}${corrMs.toFixed(1).padStart(8)} ms ${js.toFixed(1).padStart(10)} ms ${simd.toFixed(1).padStart(8)} ms ${(js / simd).toFixed(2).padStart(9)} ${written.toFixed(1).padStart(19)} ms  ${same ? 'yes' : 'NO'}`);
  if (n === 500) {
    const rows = Array.from({ length: n }, (_, i) => Array.from(distance.subarray(i * n, (i + 1) * n)));
    const agnesMs = cpuMs(() => agnes(rows, { method: 'ward2', isDistanceMatrix: true }));
    console.log(`      (n=500: ml-hclust agnes ward2 ${agnesMs.toFixed(1)} ms)`);
  }
}
