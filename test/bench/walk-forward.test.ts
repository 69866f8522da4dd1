/**
 * The benchmark's sliding cross-products must give the same decisions as computing each window from scratch
 * with the library kernels (pandas-exact covariance, scipy-exact Ward, HRP).
 */
import { decide, windowStarts, type Job } from '../../src/bench/walk-forward-core.js';
import { covarianceMatrix } from '../../src/math/correlation.js';
import { hrpDistance, hrpWeights, linkage, quasiDiagonalOrder } from '../../src/math/hrp.js';
import { fclusterMaxclust, wardLinkage } from '../../src/math/ward.js';

const n = 40;
const T = 420;
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
const R = new Float64Array(T * n);
for (let t = 0; t < T; t++) {
  const m = 0.02 * rand();
  for (let j = 0; j < n; j++) R[t * n + j] = m + 0.01 * rand() + 0.005 * Math.sin(j + t / 9);
}
const job: Job = { returns: R, n, T, train: 120, step: 21, maxClusters: 6, perCluster: 2 };

function fromScratch(t: number) {
  const a = t - job.train;
  const cm = new Float64Array(n * job.train); // column-major for the library
  for (let j = 0; j < n; j++) for (let s = a; s < t; s++) cm[j * job.train + (s - a)] = R[s * n + j];
  const cov = covarianceMatrix({ values: cm, nSymbols: n, nDays: job.train });
  const sd = Array.from({ length: n }, (_, i) => Math.sqrt(cov[i * n + i]));
  const d = new Float64Array((n * (n - 1)) / 2);
  for (let i = 0, k = 0; i < n; i++) for (let j = i + 1; j < n; j++) d[k++] = Math.sqrt(0.5 * (1 - cov[i * n + j] / (sd[i] * sd[j])));
  const labels = fclusterMaxclust(wardLinkage(d, n), job.maxClusters);
  const mom = Array.from({ length: n }, (_, j) => {
    let g = 1;
    for (let s = a; s < t; s++) g *= 1 + R[s * n + j];
    return g - 1;
  });
  const winners: number[] = [];
  for (const c of new Set(labels)) winners.push(...[...labels.keys()].filter((j) => labels[j] === c).sort((x, y) => mom[y] - mom[x] || x - y).slice(0, 2));
  winners.sort((x, y) => x - y);
  const k = winners.length;
  const sub = new Float64Array(k * k);
  const corr = new Float64Array(k * k);
  winners.forEach((i, x) => winners.forEach((j, y) => {
    sub[x * k + y] = cov[i * n + j];
    corr[x * k + y] = x === y ? 1 : cov[i * n + j] / (sd[i] * sd[j]);
  }));
  return { winners, weights: hrpWeights(sub, k, quasiDiagonalOrder(linkage(hrpDistance(corr, k), k, 'single'))) };
}

test('every window: the same winners and HRP weights as a from-scratch computation (1e-10)', () => {
  const starts = windowStarts(job);
  expect(starts.length).toBe(15);
  // Decide in two blocks, as two worker threads would (each block starts from a full window).
  const got = [...decide(job, 0, 7), ...decide(job, 7, starts.length)];
  got.forEach((d, w) => {
    const ref = fromScratch(starts[w]);
    expect(Array.from(d.symbols)).toEqual(ref.winners);
    d.weights.forEach((x, i) => expect(Math.abs(x - ref.weights[i])).toBeLessThan(1e-10));
    expect(d.weights.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
  });
});
