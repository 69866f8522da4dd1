/**
 * Ward's two engines (WebAssembly SIMD and plain JavaScript) against references written here, sharing no code with
 * src/: a straightforward O(n^3) Lance-Williams clustering (merge the globally closest pair, update the whole
 * matrix) for inputs without ties, and a literal transcription of scipy's nn_chain (condensed matrix, size == 0
 * skips, strict < from the chain's previous element) for tie-heavy inputs, where only the same walk gives the same
 * merges. Heights must match the transcription bit for bit; both engines must match each other bit for bit.
 */
import { linkageRows, wardLinkage, wardLinkageWritten } from '../../src/math/ward.js';
import { wardSimdAvailable } from '../../src/math/ward-wasm.js';
import { gaussian, seededRandom } from './helpers.js';

type Kernel = 'auto' | 'js';
const KERNELS: Kernel[] = ['auto', 'js'];

function pointsDistances(points: number[][]): Float64Array {
  const n = points.length;
  const condensed = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let d = 0; d < points[i]!.length; d++) s += (points[i]![d]! - points[j]![d]!) ** 2;
      condensed[k++] = Math.sqrt(s);
    }
  }
  return condensed;
}

function gaussianPoints(n: number, dim: number, seed: number): number[][] {
  const normal = gaussian(seededRandom(seed));
  return Array.from({ length: n }, () => Array.from({ length: dim }, normal));
}

/** Points of a small integer lattice drawn with repetition: many equal distances and duplicates (distance 0). */
function latticePoints(n: number, side: number, seed: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => [Math.floor(random() * side), Math.floor(random() * side)]);
}

/** scipy's label(): union-find relabelling of merges given in slot indices, rows already in output order. */
function scipyLabel(rows: number[][], n: number): number[][] {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    while (parent.has(x)) x = parent.get(x)!;
    return x;
  };
  const sizes = new Map<number, number>();
  return rows.map(([a, b, h], r) => {
    const ra = find(a!);
    const rb = find(b!);
    const label = n + r;
    parent.set(ra, label);
    parent.set(rb, label);
    const count = (sizes.get(ra) ?? 1) + (sizes.get(rb) ?? 1);
    sizes.set(label, count);
    return [Math.min(ra, rb), Math.max(ra, rb), h!, count];
  });
}

function lanceWilliams(dxi: number, dyi: number, dxy: number, nx: number, ny: number, ni: number): number {
  const t = 1.0 / (nx + ny + ni);
  return Math.sqrt((ni + nx) * t * dxi * dxi + (ni + ny) * t * dyi * dyi - ni * t * dxy * dxy);
}

/** O(n^3): at each step the closest live pair (first in row-major order), the merged cluster kept in the later slot. */
function greedyWard(condensed: Float64Array, n: number): number[][] {
  const d: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) d[i]![j] = d[j]![i] = condensed[k++]!;
  const size = new Array<number>(n).fill(1);
  const rows: number[][] = [];
  for (let step = 0; step < n - 1; step++) {
    let best = Infinity;
    let bx = -1;
    let by = -1;
    for (let i = 0; i < n; i++) {
      if (!size[i]) continue;
      for (let j = i + 1; j < n; j++) {
        if (size[j] && d[i]![j]! < best) {
          best = d[i]![j]!;
          bx = i;
          by = j;
        }
      }
    }
    const nx = size[bx]!;
    const ny = size[by]!;
    for (let i = 0; i < n; i++) {
      if (!size[i] || i === bx || i === by) continue;
      d[by]![i] = d[i]![by] = lanceWilliams(d[bx]![i]!, d[by]![i]!, best, nx, ny, size[i]!);
    }
    size[bx] = 0;
    size[by] = nx + ny;
    rows.push([bx, by, best]);
  }
  return scipyLabel(rows, n);
}

/** scipy/cluster/_hierarchy.pyx nn_chain with method='ward', line for line, then the stable sort and label(). */
function scipyNnChain(condensed: Float64Array, n: number): number[][] {
  const D = Float64Array.from(condensed);
  // condensed_index(n, i, j)
  const at = (i: number, j: number) => (i < j ? n * i - ((i * (i + 1)) >> 1) + (j - i - 1) : n * j - ((j * (j + 1)) >> 1) + (i - j - 1));
  const size = new Array<number>(n).fill(1);
  const chain: number[] = [];
  const Z: number[][] = [];
  let y = 0;
  for (let k = 0; k < n - 1; k++) {
    if (chain.length === 0) chain.push(size.findIndex((s) => s > 0));
    let x: number;
    let currentMin: number;
    for (;;) {
      x = chain[chain.length - 1]!;
      if (chain.length > 1) {
        y = chain[chain.length - 2]!;
        currentMin = D[at(x, y)]!;
      } else {
        currentMin = Infinity;
      }
      for (let i = 0; i < n; i++) {
        if (size[i] === 0 || x === i) continue;
        const dist = D[at(x, i)]!;
        if (dist < currentMin) {
          currentMin = dist;
          y = i;
        }
      }
      if (chain.length > 1 && y === chain[chain.length - 2]) break;
      chain.push(y);
    }
    chain.length -= 2;
    if (x > y) [x, y] = [y, x];
    const nx = size[x]!;
    const ny = size[y]!;
    Z.push([x, y, currentMin]);
    size[x] = 0;
    size[y] = nx + ny;
    for (let i = 0; i < n; i++) {
      const ni = size[i]!;
      if (ni === 0 || i === y) continue;
      D[at(i, y)] = lanceWilliams(D[at(i, x)]!, D[at(i, y)]!, currentMin, nx, ny, ni);
    }
  }
  // np.argsort(kind='mergesort') is stable: equal heights keep their merge order.
  const order = Z.map((_, r) => r).sort((a, b) => Z[a]![2]! - Z[b]![2]! || a - b);
  return scipyLabel(order.map((r) => Z[r]!), n);
}

// 'written': the upper triangle is written by a callback into the engine's own memory (wardLinkageWritten), which
// mirrors it; the diagonal and the lower triangle get NaN, so that reading them before the mirror would show.
/** `diagonal`: what the square layout holds on its diagonal (never read). */
function linkage(condensed: Float64Array, n: number, kernel: Kernel, layout: 'condensed' | 'square' | 'written' = 'condensed', diagonal = 0): number[][] {
  if (layout === 'condensed') return linkageRows(wardLinkage(condensed, n, 'condensed', { kernel }));
  if (layout === 'written') {
    const writeUpper = (square: Float64Array) => {
      expect(square.length).toBe(n * n);
      let k = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) square[i * n + j] = NaN;
        for (let j = i + 1; j < n; j++) square[i * n + j] = condensed[k++]!;
      }
    };
    return linkageRows(wardLinkageWritten(n, writeUpper, { kernel }));
  }
  const square = new Float64Array(n * n);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) square[i * n + j] = square[j * n + i] = condensed[k++]!;
  for (let i = 0; i < n; i++) square[i * n + i] = diagonal;
  return linkageRows(wardLinkage(square, n, 'square', { consume: true, kernel }));
}

test('the SIMD engine is available here, so the tests below exercise both engines', () => {
  expect(wardSimdAvailable()).toBe(true);
});

describe('against the O(n^3) Lance-Williams clustering (no ties)', () => {
  test.each([
    [2, 2, 11],
    [3, 2, 12],
    [7, 3, 13],
    [41, 4, 14],
    [130, 6, 15],
    [301, 5, 16],
  ])('gaussian points n=%i d=%i seed %i: same merges, heights within 1e-12', (n, dim, seed) => {
    const condensed = pointsDistances(gaussianPoints(n, dim, seed));
    const expected = greedyWard(condensed, n);
    for (const kernel of KERNELS) {
      const rows = linkage(condensed, n, kernel);
      expect(rows.map((r) => [r[0], r[1], r[3]])).toEqual(expected.map((r) => [r[0], r[1], r[3]]));
      rows.forEach((r, i) => expect(Math.abs(r[2]! - expected[i]![2]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, expected[i]![2]!)));
    }
  });
});

describe("against scipy's nn_chain transcribed (ties, duplicates, large n): bit for bit", () => {
  const cases: [string, () => { condensed: Float64Array; n: number }][] = [
    ['lattice n=60 side 4 (most points duplicated)', () => ({ condensed: pointsDistances(latticePoints(60, 4, 21)), n: 60 })],
    ['lattice n=257 side 9', () => ({ condensed: pointsDistances(latticePoints(257, 9, 22)), n: 257 })],
    ['lattice n=1203 side 30', () => ({ condensed: pointsDistances(latticePoints(1203, 30, 23)), n: 1203 })],
    ['one-dimensional integers n=150 (ties everywhere)', () => ({ condensed: pointsDistances(Array.from({ length: 150 }, (_, i) => [i % 37])), n: 150 })],
    [
      'distances rounded to 0.1 (not Euclidean: ties, and Ward updates that can go below zero) n=203',
      () => {
        const random = seededRandom(24);
        const n = 203;
        return { condensed: Float64Array.from({ length: (n * (n - 1)) / 2 }, () => Math.round(random() * 10) / 10), n };
      },
    ],
    [
      'zeros of both signs among ties (0 and -0 are equal to a strict <: the first one wins) n=47',
      () => {
        const random = seededRandom(26);
        const n = 47;
        return { condensed: Float64Array.from({ length: (n * (n - 1)) / 2 }, () => [0, -0, 0.25, 0.5][Math.floor(random() * 4)]!), n };
      },
    ],
    ['all distances equal n=33', () => ({ condensed: new Float64Array((33 * 32) / 2).fill(1), n: 33 })],
    ['all distances zero n=6', () => ({ condensed: new Float64Array(15), n: 6 })],
    ['gaussian n=2001 d=8', () => ({ condensed: pointsDistances(gaussianPoints(2001, 8, 25)), n: 2001 })],
  ];
  test.each(cases)('%s', (_name, make) => {
    const { condensed, n } = make();
    const expected = scipyNnChain(condensed, n);
    for (const kernel of KERNELS) {
      // (the square layout is the same walk after the copy; checked on the smaller cases to keep the suite quick)
      for (const layout of n > 1000 ? (['condensed', 'written'] as const) : (['condensed', 'square', 'written'] as const)) {
        const rows = linkage(condensed, n, kernel, layout);
        expect(rows.length).toBe(n - 1);
        // toEqual on numbers uses Object.is: same bits (NaN equal to NaN, 0 and -0 told apart).
        expect(rows).toEqual(expected);
      }
    }
  });
});

test('engines agree bit for bit for every n from 2 to 40 (every padding of the SIMD rows)', () => {
  for (let n = 2; n <= 40; n++) {
    const condensed = pointsDistances(latticePoints(n, 5, 100 + n));
    const expected = linkage(condensed, n, 'js');
    expect(linkage(condensed, n, 'auto')).toEqual(expected);
    // the upper triangle written into the engine's memory n wide, moved out to the padded stride, then mirrored
    expect(linkage(condensed, n, 'auto', 'written')).toEqual(expected);
    expect(linkage(condensed, n, 'js', 'written')).toEqual(expected);
  }
});

test("the diagonal is never read: a square whose diagonal holds NaN, -1 or 0 gives the same merges and heights, in both engines", () => {
  for (const n of [2, 3, 9, 33]) {
    const condensed = pointsDistances(gaussianPoints(n, 3, 700 + n));
    for (const kernel of KERNELS) {
      const expected = linkage(condensed, n, kernel, 'condensed');
      for (const diagonal of [NaN, -1, 0]) expect(linkage(condensed, n, kernel, 'square', diagonal)).toEqual(expected);
    }
  }
});
