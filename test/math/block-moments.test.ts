/**
 * Block moments (src/math/block-moments.ts): a backtest window's correlation merged from block moments equals a
 * plain two-pass correlation written here (1e-12, also for returns whose mean is 50 times their spread), whatever
 * windows the cache saw before, with the same bits for a window made cold, after others, in reverse order or with
 * the kept suffixes any distance apart (the merge order depends on the window alone); windows with gaps, off the
 * grid, several lookbacks, changed rows and changed columns.
 */
import { BlockMoments, correlationInPlace, gridWorthIt, type MomentGrid } from '../../src/math/block-moments.js';
import { averageCorrelation, type ColumnMajorMatrix } from '../../src/math/correlation.js';
import { simdAvailable } from '../../src/math/cross-products-wasm.js';
import { seededRandom } from './helpers.js';

const TOL = 1e-12;

/** Pearson correlation of two columns over the rows where both have a value (pandas' pairwise), two passes. */
function pairCorrelation(x: number[], y: number[]): number {
  const both = x.map((v, t) => [v, y[t]!] as const).filter(([a, b]) => !Number.isNaN(a) && !Number.isNaN(b));
  if (both.length === 0) return 0;
  const mx = both.reduce((s, [a]) => s + a, 0) / both.length;
  const my = both.reduce((s, [, b]) => s + b, 0) / both.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [a, b] of both) {
    sxy += (a - mx) * (b - my);
    sxx += (a - mx) ** 2;
    syy += (b - my) ** 2;
  }
  const d = Math.sqrt(sxx * syy);
  return d === 0 ? 0 : Math.max(-1, Math.min(1, sxy / d));
}

/** The mean over lookbacks of the window correlations, each ending at the last row (1 on the diagonal). */
function reference(columns: number[][], lookbacks: number[]): number[][] {
  const n = columns.length;
  const T = columns[0]!.length;
  const out = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (const L of lookbacks) {
    const w = columns.map((c) => c.slice(Math.max(0, T - L)));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i]![j]! += (i === j ? 1 : pairCorrelation(w[i]!, w[j]!)) / lookbacks.length;
  }
  return out;
}

interface Market {
  /** columns[j][t] over the whole calendar */
  columns: number[][];
  days: number[];
}

/** Returns around `level` (a daily drift) with a spread of about `spread`, a common factor in them. */
function market(n: number, T: number, seed: number, gaps: Array<[number, number]> = [], level = 0.0004, spread = 0.01): Market {
  const u = seededRandom(seed);
  const common = Array.from({ length: T }, () => u() - 0.5);
  const columns = Array.from({ length: n }, (_, j) => Array.from({ length: T }, (_, t) => level * (1 + (j % 5)) + spread * (0.6 * common[t]! + (u() - 0.5)) * (1 + (j % 3))));
  for (const [j, t] of gaps) columns[j]![t] = NaN;
  return { columns, days: Array.from({ length: T }, (_, t) => 19000 + t) };
}

/** The backtest's grid: blocks of gcd(train, step) rows aligned with the windows, the first window ending at train. */
function gridOf(m: Market, train: number, step: number): MomentGrid {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const block = gcd(train, step);
  const starts: number[] = [];
  for (let t = train % block; t < m.days.length; t += block) starts.push(m.days[t]!);
  return { block, step, starts };
}

/** What a replay as of row `end − 1` sees: the last `train` rows, column-major. */
function windowOf(m: Market, end: number, train: number): { data: ColumnMajorMatrix; dates: number[]; columns: number[][] } {
  const start = end - train;
  const columns = m.columns.map((c) => c.slice(start, end));
  const values = new Float64Array(columns.flat());
  return { data: { values, nSymbols: columns.length, nDays: train }, dates: m.days.slice(start, end), columns };
}

const names = (n: number) => Array.from({ length: n }, (_, j) => `S${j}`);

function maxDiff(a: Float64Array, ref: number[][]): number {
  const n = ref.length;
  let worst = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(a[i * n + j]! - ref[i]![j]!));
  return worst;
}

const simd = simdAvailable();
const maybe = simd ? test : test.skip;

maybe.each([
  ['daily returns', 0.0004, 0.01],
  ['returns whose mean is 50 times their spread', 0.05, 0.001],
])('every window of a walk forward equals the two-pass correlation (1e-12), on the grid: %s', (_, level, spread) => {
  const train = 252;
  const step = 21;
  const n = 23;
  const m = market(n, 252 + 30 * 21, 11, [], level, spread);
  const grid = gridOf(m, train, step);
  expect(grid.block).toBe(21);
  expect(gridWorthIt(grid, train, n)).toBe(true);
  const cols = names(n);
  // Each window's reference once (it is the same for every spacing below).
  const windows: Array<{ w: ReturnType<typeof windowOf>; ref: number[][] }> = [];
  for (let end = train; end <= m.days.length; end += step) {
    const w = windowOf(m, end, train);
    windows.push({ w, ref: reference(w.columns, [train]) });
  }
  expect(windows).toHaveLength(31);
  // Every suffix kept, every second (what 2000 symbols do), every fifth, none (5000 symbols: each from scratch).
  for (const spacing of [1, 2, 5, 12]) {
    const cache = new BlockMoments(grid, [], spacing);
    for (const { w, ref } of windows) {
      const out = new Float64Array(n * n);
      expect(cache.correlationInto(w.data, w.dates, cols, 0, train, out, 'write')).toBe(true);
      // The lower triangle is the caller's to mirror: compare the upper one and the diagonal.
      let worst = 0;
      for (let i = 0; i < n; i++) for (let j = i; j < n; j++) worst = Math.max(worst, Math.abs(out[i * n + j]! - ref[i]![j]!));
      expect(worst).toBeLessThanOrEqual(TOL);
    }
    cache.release();
  }
});

maybe('a window has the same bits made cold, after the windows before it, or after windows in another order', () => {
  const train = 126;
  const step = 21;
  const m = market(17, 600, 5);
  const grid = gridOf(m, train, step);
  expect(grid.block).toBe(21);
  const cols = names(17);
  const ends: number[] = [];
  for (let end = train; end <= m.days.length; end += step) ends.push(end);
  const run = (order: number[], spacing?: number) => {
    const cache = new BlockMoments(grid, [], spacing);
    const got = new Map<number, Float64Array>();
    for (const end of order) {
      const w = windowOf(m, end, train);
      const out = new Float64Array(17 * 17);
      const averaged = averageCorrelation(w.data, [train], { out, moments: { cache, dates: w.dates, columns: cols } });
      got.set(end, averaged.slice());
    }
    cache.release();
    return got;
  };
  const inOrder = run(ends);
  // Three workers' shares (contiguous blocks of windows), each with its own cache, and a shuffled order.
  const shares = [ends.slice(0, 4), ends.slice(4, 13), ends.slice(13)].map((share) => run(share));
  const shuffled = run([...ends].reverse());
  // The suffixes kept every second, every fourth or only the window's own: the same folds, the same bits.
  const spaced = [2, 4, 6].map((spacing) => run(ends, spacing));
  for (const end of ends) {
    const a = inOrder.get(end)!;
    const cold = run([end]).get(end)!;
    const shared = shares.find((s) => s.has(end))!.get(end)!;
    expect(Buffer.from(cold.buffer)).toEqual(Buffer.from(a.buffer));
    expect(Buffer.from(shared.buffer)).toEqual(Buffer.from(a.buffer));
    expect(Buffer.from(shuffled.get(end)!.buffer)).toEqual(Buffer.from(a.buffer));
    for (const s of spaced) expect(Buffer.from(s.get(end)!.buffer)).toEqual(Buffer.from(a.buffer));
    expect(maxDiff(a, reference(windowOf(m, end, train).columns, [train]))).toBeLessThanOrEqual(TOL);
  }
});

maybe('several lookbacks (on and off the grid), a window with a gap, as distances: the reference mean (1e-12)', () => {
  const train = 240;
  const step = 24;
  // Symbol 3 misses a day (row 290): the windows holding it go pairwise, the others on the grid.
  const m = market(14, 400, 9, [[3, 290]]);
  const grid = gridOf(m, train, step);
  const cache = new BlockMoments(grid);
  const cols = names(14);
  const lookbacks = [240, 50, 24];
  for (let end = train; end <= m.days.length; end += step) {
    const w = windowOf(m, end, train);
    const ref = reference(w.columns, lookbacks);
    const corr = averageCorrelation(w.data, lookbacks, { moments: { cache, dates: w.dates, columns: cols } });
    expect(maxDiff(corr, ref)).toBeLessThanOrEqual(TOL);
    const dist = averageCorrelation(w.data, lookbacks, { distance: true, moments: { cache, dates: w.dates, columns: cols } });
    const refDist = ref.map((row, i) => row.map((rho, j) => (i === j ? 0 : Math.sqrt(0.5 * Math.max(0, 1 - rho)))));
    expect(maxDiff(dist, refDist)).toBeLessThanOrEqual(TOL);
  }
  // One lookback alone, distances fused: the same bits as the correlation turned into distances afterwards.
  const w = windowOf(m, 288, train);
  const fused = averageCorrelation(w.data, [240], { distance: true, moments: { cache, dates: w.dates, columns: cols } });
  const corr = averageCorrelation(w.data, [240], { moments: { cache, dates: w.dates, columns: cols } });
  for (let k = 0; k < corr.length; k++) {
    const i = Math.floor(k / 14);
    expect(Object.is(fused[k], i === k % 14 ? 0 : Math.sqrt(0.5 * Math.max(0, 1 - corr[k]!)))).toBe(true);
  }
  cache.release();
});

maybe('changed rows or columns are never reused: the result is the cold one', () => {
  const train = 120;
  const step = 30;
  const m = market(9, 300, 3);
  const grid = gridOf(m, train, step);
  const cols = names(9);
  const cache = new BlockMoments(grid);
  const w1 = windowOf(m, 150, train);
  averageCorrelation(w1.data, [train], { moments: { cache, dates: w1.dates, columns: cols } });
  // The next window's rows as a market revised in the middle (one value of a block both windows hold) gives them.
  const revised = { ...m, columns: m.columns.map((c) => c.slice()) };
  revised.columns[4]![100] = revised.columns[4]![100]! + 0.05;
  const w2 = windowOf(revised, 180, train);
  const warm = averageCorrelation(w2.data, [train], { moments: { cache, dates: w2.dates, columns: cols } });
  const cold = averageCorrelation(w2.data, [train], { moments: { cache: new BlockMoments(grid), dates: w2.dates, columns: cols } });
  expect(Buffer.from(warm.buffer)).toEqual(Buffer.from(cold.buffer));
  expect(maxDiff(warm, reference(w2.columns, [train]))).toBeLessThanOrEqual(TOL);
  // Other columns (a universe that changed), same values: computed again, the cold result.
  const other = cols.map((c, j) => (j === 2 ? 'X' : c));
  const w3 = windowOf(revised, 210, train);
  const warm3 = averageCorrelation(w3.data, [train], { moments: { cache, dates: w3.dates, columns: other } });
  const cold3 = averageCorrelation(w3.data, [train], { moments: { cache: new BlockMoments(grid), dates: w3.dates, columns: other } });
  expect(Buffer.from(warm3.buffer)).toEqual(Buffer.from(cold3.buffer));
  cache.release();
});

maybe.each([
  ['the first block the two windows share, first column', 0, 60],
  ['the last block they share, last column', 8, 149],
])('a revision in %s is never reused: the result is the cold one', (_, column, row) => {
  const train = 120;
  const step = 30;
  const m = market(9, 300, 4);
  const grid = gridOf(m, train, step);
  const cols = names(9);
  const cache = new BlockMoments(grid);
  for (const end of [120, 150]) {
    const w = windowOf(m, end, train);
    averageCorrelation(w.data, [train], { moments: { cache, dates: w.dates, columns: cols } });
  }
  const revised = { ...m, columns: m.columns.map((c) => c.slice()) };
  revised.columns[column]![row] = revised.columns[column]![row]! + 0.01;
  const w = windowOf(revised, 180, train);
  const warm = averageCorrelation(w.data, [train], { moments: { cache, dates: w.dates, columns: cols } });
  const cold = averageCorrelation(w.data, [train], { moments: { cache: new BlockMoments(grid), dates: w.dates, columns: cols } });
  expect(Buffer.from(warm.buffer)).toEqual(Buffer.from(cold.buffer));
  // The unrevised window from the same cache is its own cold result too (the revision was not kept either way).
  const again = windowOf(m, 180, train);
  const warmAgain = averageCorrelation(again.data, [train], { moments: { cache, dates: again.dates, columns: cols } });
  const coldAgain = averageCorrelation(again.data, [train], { moments: { cache: new BlockMoments(grid), dates: again.dates, columns: cols } });
  expect(Buffer.from(warmAgain.buffer)).toEqual(Buffer.from(coldAgain.buffer));
  cache.release();
});

test('windows off the grid, too short for it to pay, or too big for its memory take the direct path', () => {
  const grid: MomentGrid = { block: 21, step: 21, starts: [] };
  expect(gridWorthIt(grid, 252, 2000)).toBe(true);
  // A window's two triangles of 5000 columns (100 MB each) fit the budget: each suffix folded from scratch, 6.5
  // blocks of 22 rows a decision on average, against 252 rows directly.
  expect(gridWorthIt(grid, 252, 5000)).toBe(true);
  // Two triangles of 8000 columns do not (256 MB each).
  expect(gridWorthIt(grid, 252, 8000)).toBe(false);
  // Blocks of 2 rows: about 1.7 folds of 3 rows and a pass each cost more than 6 rows done directly.
  expect(gridWorthIt({ block: 2, step: 2, starts: [] }, 6, 50)).toBe(false);
  expect(gridWorthIt(grid, 250, 2000)).toBe(false);
  expect(gridWorthIt(grid, 21, 2000)).toBe(false);
  // Several lookbacks share one budget per thread, taken in their order: at 4000 columns (64 MB a triangle, none kept
  // beside a window's own two) 63 and 126 rows take 4 triangles, so 252 rows (2 more) no longer fit 256 MiB; at 2000
  // (16 MB, 3 triangles a length) all three do; at 5000 (100 MB) only the first does.
  expect([63, 126, 252].map((rows) => gridWorthIt(grid, rows, 4000, [63, 126, 252]))).toEqual([true, true, false]);
  expect([63, 126, 252].map((rows) => gridWorthIt(grid, rows, 2000, [63, 126, 252]))).toEqual([true, true, true]);
  expect([63, 126, 252].map((rows) => gridWorthIt(grid, rows, 5000, [63, 126, 252]))).toEqual([true, false, false]);
  expect([63, 126, 252].map((rows) => gridWorthIt(grid, rows, 500, [63, 126, 252]))).toEqual([true, true, true]);
  // The order decides which one fits, whatever order the windows come in.
  expect([252, 126, 63].map((rows) => gridWorthIt(grid, rows, 5000, [252, 126, 63]))).toEqual([true, false, false]);
  const m = market(6, 200, 1);
  const w = windowOf(m, 200, 120);
  // A window whose first day starts no block.
  const cache = new BlockMoments({ block: 20, step: 20, starts: [w.dates[5]!, w.dates[25]!] });
  expect(cache.correlationInto(w.data, w.dates, names(6), 0, 120, new Float64Array(36), 'write')).toBe(false);
});

maybe.each([
  [1, 3],
  [2, 21],
  [7, 5],
  [9, 252],
  [17, 40],
  [64, 21],
  [65, 30],
  [131, 22],
])('the direct path, %i columns × %i days: each entry the scalar sums, rho and distance bit for bit, the lower triangle left alone (but for the pair of an odd row)', (n, days) => {
  const u = seededRandom(100 + n);
  // Centred columns, one of them constant (rho undefined: 0) when there are several.
  const centred = Float64Array.from({ length: n * days }, (_, k) => (n > 2 && Math.floor(k / days) === 1 ? 0 : 0.01 * (u() - 0.5)));
  const sum = (i: number, j: number) => {
    let s = 0;
    for (let t = 0; t < days; t++) s += centred[i * days + t]! * centred[j * days + t]!;
    return s;
  };
  for (const output of ['write', 'distance'] as const) {
    const out = new Float64Array(n * n).fill(-7);
    expect(correlationInPlace(centred, n, days, out, output)).toBe(true);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        // The kernels write pairs of columns: an odd row's entry left of the diagonal too (its correlation).
        if (j < (i & ~1)) {
          expect(out[i * n + j]).toBe(-7);
          continue;
        }
        const divisor = Math.sqrt(sum(i, i) * sum(j, j));
        let rho = divisor === 0 ? 0 : sum(i, j) / divisor;
        rho = rho > 1 ? 1 : rho < -1 ? -1 : rho === rho ? rho : 0;
        if (i === j) rho = 1;
        expect(Object.is(out[i * n + j], output === 'write' ? rho : i === j ? 0 : Math.sqrt(0.5 * Math.max(0, 1 - rho)))).toBe(true);
      }
    }
  }
});
