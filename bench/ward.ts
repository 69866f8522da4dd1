/**
 * Timing of the nearest-neighbour-chain Ward against ml-hclust agnes (O(n^3)). Not a test: run with
 *   npm run build && node dist/bench/ward.js   (or `npm run bench -- --only ward`).
 * Inputs are correlation distances of random factor-model returns, the shape the clustering stage feeds in.
 */
import { agnes } from 'ml-hclust';
import { correlationDistance, correlationMatrix } from '../src/math/correlation.js';
import { squareToCondensed, wardLinkage } from '../src/math/ward.js';

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

function timeMs(run: () => void, repeats: number): number {
  run(); // warm-up so the JIT has compiled the loops
  const start = performance.now();
  for (let r = 0; r < repeats; r++) run();
  return (performance.now() - start) / repeats;
}

const nDays = 250;
for (const n of [500, 1000, 2000]) {
  const data = factorReturns(n, nDays, n);
  let distance: Float64Array = new Float64Array(0);
  const corrMs = timeMs(() => {
    distance = correlationDistance(correlationMatrix(data, { undefinedAs: 'zero' }), n);
  }, 3);
  const condensed = squareToCondensed(distance, n);
  const wardMs = timeMs(() => wardLinkage(condensed, n), 3);
  console.log(`n=${n}: correlation ${nDays} days ${corrMs.toFixed(1)} ms, NN-chain Ward ${wardMs.toFixed(1)} ms`);
  if (n === 500) {
    const rows = Array.from({ length: n }, (_, i) => Array.from(distance.subarray(i * n, (i + 1) * n)));
    const start = performance.now();
    agnes(rows, { method: 'ward2', isDistanceMatrix: true });
    console.log(`n=${n}: ml-hclust agnes ward2 ${(performance.now() - start).toFixed(1)} ms`);
  }
}
