/**
 * pipelines/bench/walk_forward.yaml is the walk-forward job of issue 13: run through the CLI as a user runs it (a
 * seeded market written as CSV, imported with `pipeline-run lakehouse import`, then `pipeline-run <file>`), its
 * winners and weights window by window (audit.jsonl, weights.arrow, weights.json) and its daily returns
 * (returns.arrow) equal those of an independent implementation of the job written here, in plain TypeScript
 * over arrays, sharing no code with src/ or stages/: Pearson correlation, Ward by Lance–Williams (O(n³)) cut by
 * maxclust, top 2 per cluster by ∏(1 + r) − 1, single linkage, leaves_list, HRP bisection, drift and costs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { cli, repo } from '../cli/helpers.js';
import { seededRandom as generator } from '../math/helpers.js';

const PIPELINE = join(repo, 'pipelines', 'bench', 'walk_forward.yaml');
// The job: train 252 returns, hold 21, step 21, at most 25 clusters, 2 per cluster, 6 bps on traded notional.
const TRAIN = 252;
const STEP = 21;
const MAX_CLUSTERS = 25;
const PER_CLUSTER = 2;
const COST = 6e-4;
const TOL = 1e-9;

// The market: 60 symbols, 400 closes each (399 returns → 7 windows of 21 days), no gaps. More symbols than
// 25 clusters × 2, so the Ward cut and the top-2 rule both drop symbols.
const N = 60;
const PRICES = 400;

interface Market {
  symbols: string[];
  dates: string[];
  /** closes[j][t] */
  closes: number[][];
}

/** A market factor, 6 sectors with their own loadings, idiosyncratic noise of different sizes and drifts. */
function makeMarket(seed: number): Market {
  const u = generator(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const symbols = Array.from({ length: N }, (_, j) => `S${String(j).padStart(2, '0')}`);
  const dates = Array.from({ length: PRICES }, (_, t) => new Date(Date.UTC(2021, 0, 4 + t)).toISOString().slice(0, 10));
  const sector = symbols.map((_, j) => j % 6);
  const beta = symbols.map(() => 0.5 + u());
  const load = symbols.map(() => 0.4 + 0.8 * u());
  const idio = symbols.map(() => 0.006 + 0.02 * u());
  const drift = symbols.map(() => 0.0008 * (u() - 0.4));
  const closes = symbols.map(() => [50 + 100 * u()]);
  for (let t = 1; t < PRICES; t++) {
    const m = 0.01 * normal();
    const s = Array.from({ length: 6 }, () => 0.008 * normal());
    for (let j = 0; j < N; j++) {
      const r = drift[j] + beta[j] * m + load[j] * s[sector[j]] + idio[j] * normal();
      closes[j].push(closes[j][t - 1] * (1 + r));
    }
  }
  return { symbols, dates, closes };
}

// ---- the reference implementation -------------------------------------------------------------------------

type Linkage = [number, number, number, number][];

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/** Sample covariance (ddof 1) and Pearson correlation of columns. */
function moments(cols: number[][]): { cov: number[][]; corr: number[][] } {
  const m = cols[0].length;
  const dev = cols.map((c) => {
    const mean = sum(c) / m;
    return c.map((x) => x - mean);
  });
  const ss = dev.map((d) => sum(d.map((x) => x * x)));
  const cross = dev.map((a) => dev.map((b) => sum(a.map((x, t) => x * b[t]))));
  return {
    cov: cross.map((row) => row.map((c) => c / (m - 1))),
    corr: cross.map((row, i) => row.map((c, j) => (i === j ? 1 : c / Math.sqrt(ss[i] * ss[j])))),
  };
}

/**
 * Agglomerative clustering by repeatedly merging the closest pair (lowest indices on ties), with the
 * Lance–Williams update of the method. Ward and single linkage are monotone, so merges come out in increasing
 * height; merge s makes node n + s, and a row names its smaller node first (scipy's linkage matrix).
 */
function agglomerate(distance: number[][], method: 'ward' | 'single'): Linkage {
  const n = distance.length;
  const d = distance.map((row) => [...row]);
  const node = Array.from({ length: n }, (_, i) => i);
  const size = new Array(n).fill(1);
  const alive = new Array(n).fill(true);
  const Z: Linkage = [];
  for (let s = 0; s < n - 1; s++) {
    let a = -1;
    let b = -1;
    let best = Infinity;
    for (let i = 0; i < n; i++) {
      if (!alive[i]) continue;
      for (let j = i + 1; j < n; j++) if (alive[j] && d[i][j] < best) [a, b, best] = [i, j, d[i][j]];
    }
    for (let k = 0; k < n; k++) {
      if (!alive[k] || k === a || k === b) continue;
      const v =
        method === 'single'
          ? Math.min(d[a][k], d[b][k])
          : Math.sqrt(((size[a] + size[k]) * d[a][k] ** 2 + (size[b] + size[k]) * d[b][k] ** 2 - size[k] * best ** 2) / (size[a] + size[b] + size[k]));
      d[a][k] = d[k][a] = v;
    }
    Z.push([Math.min(node[a], node[b]), Math.max(node[a], node[b]), best, size[a] + size[b]]);
    node[a] = n + s;
    size[a] += size[b];
    alive[b] = false;
  }
  return Z;
}

/** At most k flat clusters: the partition left by the first n − k merges (labels are component roots). */
function maxclust(Z: Linkage, n: number, k: number): number[] {
  const parent = Array.from({ length: 2 * n - 1 }, (_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  for (let s = 0; s < Math.max(0, n - k); s++) {
    parent[find(Z[s][0])] = n + s;
    parent[find(Z[s][1])] = n + s;
  }
  return Array.from({ length: n }, (_, i) => find(i));
}

/** Leaves left to right: the left child (first column) before the right (scipy leaves_list). */
function leaves(Z: Linkage, n: number): number[] {
  const walk = (x: number): number[] => (x < n ? [x] : [...walk(Z[x - n][0]), ...walk(Z[x - n][1])]);
  return walk(2 * n - 2);
}

/** Variance of the inverse-variance portfolio of `items`. */
function ivpVariance(cov: number[][], items: number[]): number {
  const w = items.map((i) => 1 / cov[i][i]);
  const total = sum(w);
  let v = 0;
  items.forEach((i, a) => items.forEach((j, b) => (v += (w[a] / total) * (w[b] / total) * cov[i][j])));
  return v;
}

/** López de Prado's recursive bisection of the ordered list, split at len // 2. */
function hrp(cov: number[][], corr: number[][]): number[] {
  const k = cov.length;
  if (k === 1) return [1];
  const dist = corr.map((row) => row.map((r) => Math.sqrt(Math.min(1, Math.max(0, (1 - r) / 2)))));
  dist.forEach((row, i) => (row[i] = 0));
  const order = leaves(agglomerate(dist, 'single'), k);
  const w = new Array(k).fill(1);
  const todo = [order];
  while (todo.length) {
    const items = todo.pop()!;
    if (items.length < 2) continue;
    const left = items.slice(0, Math.floor(items.length / 2));
    const right = items.slice(Math.floor(items.length / 2));
    const vl = ivpVariance(cov, left);
    const vr = ivpVariance(cov, right);
    const alpha = 1 - vl / (vl + vr);
    for (const i of left) w[i] *= alpha;
    for (const i of right) w[i] *= 1 - alpha;
    todo.push(left, right);
  }
  return w;
}

/** The decision after the first t returns (rows t − TRAIN .. t − 1): winners (by momentum, descending) and weights. */
function decide(m: Market, R: number[][], t: number): { symbols: string[]; weights: number[] } {
  const X = R.map((col) => col.slice(t - TRAIN, t));
  const momentum = X.map((col) => col.reduce((g, r) => g * (1 + r), 1) - 1);
  const { corr } = moments(X);
  const distance = corr.map((row, i) => row.map((r, j) => (i === j ? 0 : Math.sqrt(0.5 * Math.max(0, 1 - r)))));
  const labels = maxclust(agglomerate(distance, 'ward'), N, MAX_CLUSTERS);
  expect(new Set(labels).size).toBe(MAX_CLUSTERS);
  const byMomentum = (a: number, b: number) => momentum[b] - momentum[a] || (m.symbols[a] < m.symbols[b] ? -1 : 1);
  const winners: number[] = [];
  for (const label of new Set(labels)) {
    const members = labels.flatMap((l, j) => (l === label ? [j] : [])).sort(byMomentum);
    winners.push(...members.slice(0, PER_CLUSTER));
  }
  winners.sort(byMomentum);
  const { cov, corr: wc } = moments(winners.map((j) => X[j]));
  return { symbols: winners.map((j) => m.symbols[j]), weights: hrp(cov, wc) };
}

interface Window {
  asOf: string;
  weights: Map<string, number>;
}

/** Every rebalance, then the holding path: drift, 6 bps of traded notional out of equity at each rebalance. */
function reference(m: Market): { windows: Window[]; dates: string[]; returns: number[]; final: Map<string, number> } {
  const R = m.closes.map((c) => c.slice(1).map((p, s) => p / c[s] - 1));
  const T = PRICES - 1;
  const windows: Window[] = [];
  const dates: string[] = [];
  const returns: number[] = [];
  let held = new Map<string, number>();
  for (let t = TRAIN; t < T; t += STEP) {
    const d = decide(m, R, t);
    const target = new Map(d.symbols.map((s, i) => [s, d.weights[i]]));
    windows.push({ asOf: m.dates[t], weights: target });
    const names = [...new Set([...target.keys(), ...held.keys()])];
    const traded = sum(names.map((s) => Math.abs((target.get(s) ?? 0) - (held.get(s) ?? 0))));
    const w = new Map(target);
    for (let s = t; s < Math.min(t + STEP, T); s++) {
      let rp = 0;
      for (const [sym, x] of w) rp += x * R[m.symbols.indexOf(sym)][s];
      returns.push(s === t ? (1 - COST * traded) * (1 + rp) - 1 : rp);
      dates.push(m.dates[s + 1]);
      for (const [sym, x] of w) w.set(sym, (x * (1 + R[m.symbols.indexOf(sym)][s])) / (1 + rp));
    }
    held = w;
  }
  // The run's weights.json: the same rule as of the last day.
  const last = decide(m, R, T);
  return { windows, dates, returns, final: new Map(last.symbols.map((s, i) => [s, last.weights[i]])) };
}

// ---- the product, as a user runs it ----------------------------------------------------------------------

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-wf-eq-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A Date32 column read back by apache-arrow: milliseconds since the epoch. */
const isoOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function expectMapsClose(got: Map<string, number>, want: Map<string, number>, what: string): void {
  expect({ what, symbols: [...got.keys()].sort() }).toEqual({ what, symbols: [...want.keys()].sort() });
  for (const [s, w] of want) {
    const diff = Math.abs(got.get(s)! - w);
    if (!(diff <= TOL)) throw new Error(`${what}: weight of ${s} is ${got.get(s)}, the reference says ${w}`);
  }
}

test('the pipeline file gives the reference job: winners, weights (1e-9) and daily returns, window by window', () => {
  const m = makeMarket(20261130);
  const csv = join(tmp, 'closes.csv');
  const rows = m.dates.map((d, t) => [d, ...m.closes.map((c) => String(c[t]))].join(','));
  writeFileSync(csv, `${['date', ...m.symbols].join(',')}\n${rows.join('\n')}\n`);
  const lakehouse = join(tmp, 'lakehouse');
  const imported = cli(['lakehouse', 'import', csv, '--layout', 'wide', '--venue', 'bench', '--asset-type', 'equity', '--lakehouse', lakehouse]);
  expect(imported.stderr).not.toMatch(/error/i);
  expect(imported.code).toBe(0);
  const run = cli([PIPELINE, '--lakehouse', lakehouse, '--out', join(tmp, 'runs'), '--json']);
  expect(run.code).toBe(0);
  const folder = JSON.parse(run.stdout).folder as string;

  const want = reference(m);
  expect(want.windows).toHaveLength(7);
  expect(want.returns).toHaveLength(147);

  // Window by window, from the audit ledger.
  const audit = readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const windows = audit.filter((e) => e.event === 'window').map((e) => e.data as { as_of: string; winners: number; weights: { symbol: string; weight: number }[] });
  expect(windows.map((w) => w.as_of)).toEqual(want.windows.map((w) => w.asOf));
  windows.forEach((w, k) => {
    expect(w.winners).toBe(want.windows[k].weights.size);
    expectMapsClose(new Map(w.weights.map((x) => [x.symbol, x.weight])), want.windows[k].weights, `window ${k} (audit)`);
  });
  // The selection is exercised: some symbols lose (Ward cut and top 2), and HRP is not equal weight.
  expect(want.windows.every((w) => w.weights.size < N)).toBe(true);
  expect(want.windows.some((w) => Math.max(...w.weights.values()) > 2 / w.weights.size)).toBe(true);

  // The same weights in weights.arrow (one row per window and symbol).
  const wt = tableFromIPC(readFileSync(join(folder, 'weights.arrow')));
  const wDates = Array.from(wt.getChild('date')!.toArray() as number[], isoOf);
  const wSymbols = Array.from({ length: wt.numRows }, (_, i) => wt.getChild('symbol')!.get(i) as string);
  const wValues = wt.getChild('weight')!.toArray() as Float64Array;
  want.windows.forEach((w, k) => {
    const rows = wDates.flatMap((d, i) => (d === w.asOf ? [i] : []));
    expectMapsClose(new Map(rows.map((i) => [wSymbols[i], wValues[i]])), w.weights, `window ${k} (weights.arrow)`);
  });

  // Daily returns: 147 test days, each to 1e-9.
  const rt = tableFromIPC(readFileSync(join(folder, 'returns.arrow')));
  const dates = Array.from(rt.getChild('date')!.toArray() as number[], isoOf);
  const returns = rt.getChild('return')!.toArray() as Float64Array;
  expect(dates).toEqual(want.dates);
  want.returns.forEach((r, i) => {
    if (!(Math.abs(returns[i] - r) <= TOL)) throw new Error(`return on ${want.dates[i]} is ${returns[i]}, the reference says ${r}`);
  });

  // weights.json: the same rule as of the last day.
  const final = JSON.parse(readFileSync(join(folder, 'weights.json'), 'utf8')) as { symbol: string; weight: number }[];
  expectMapsClose(new Map(final.map((x) => [x.symbol, x.weight])), want.final, 'weights.json');
});
