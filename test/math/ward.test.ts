import { agnes, type Cluster } from 'ml-hclust';
import { correlationDistance, correlationMatrix } from '../../src/math/correlation.js';
import {
  cutWithCap,
  fclusterDistance,
  fclusterMaxclust,
  leavesList,
  linkageRows,
  squareToCondensed,
  wardLinkage,
} from '../../src/math/ward.js';
import { cryptoReturnsMatrix, gaussian, maxAbsDiff, readFixture, seededRandom } from './helpers.js';

interface WardCase {
  name: string;
  n: number;
  condensed: number[];
  linkage: number[][];
  fclusterDistance: { t: number; labels: number[] }[];
  fclusterMaxclust: { k: number; labels: number[] }[];
  leaves: number[];
}
const fixture = readFixture<{ scipy: string; cases: WardCase[] }>('ward_scipy.json');

function squareFromCondensed(condensed: ArrayLike<number>, n: number): Float64Array {
  const square = new Float64Array(n * n);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) square[i * n + j] = square[j * n + i] = condensed[k++]!;
  return square;
}

function agnesHeights(square: Float64Array, n: number): number[] {
  const rows = Array.from({ length: n }, (_, i) => Array.from(square.subarray(i * n, (i + 1) * n)));
  const heights: number[] = [];
  const visit = (node: Cluster) => {
    if (node.isLeaf) return;
    heights.push(node.height);
    node.children.forEach(visit);
  };
  visit(agnes(rows, { method: 'ward2', isDistanceMatrix: true }));
  return heights.sort((a, b) => a - b);
}

function randomEuclidean(n: number, dim: number, seed: number): Float64Array {
  const normal = gaussian(seededRandom(seed));
  const points = Array.from({ length: n }, () => Array.from({ length: dim }, normal));
  const square = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (points[i]![d]! - points[j]![d]!) ** 2;
      square[i * n + j] = square[j * n + i] = Math.sqrt(s);
    }
  }
  return square;
}

/** Same partition up to relabelling. */
function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]!) ?? b[i]) !== b[i] || (ba.get(b[i]!) ?? a[i]) !== a[i]) return false;
    ab.set(a[i]!, b[i]!);
    ba.set(b[i]!, a[i]!);
  }
  return true;
}

describe('wardLinkage against scipy fixtures (scipy ' + fixture.scipy + ')', () => {
  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s: linkage, cuts and leaf order', (_name, c) => {
    const Z = wardLinkage(Float64Array.from(c.condensed), c.n);
    const rows = linkageRows(Z);
    expect(rows.length).toBe(c.n - 1);
    rows.forEach((row, r) => {
      const expected = c.linkage[r]!;
      expect([row[0], row[1], row[3]]).toEqual([expected[0], expected[1], expected[3]]);
      expect(Math.abs(row[2]! - expected[2]!)).toBeLessThanOrEqual(1e-12);
    });
    for (const { t, labels } of c.fclusterDistance) expect(Array.from(fclusterDistance(Z, t))).toEqual(labels);
    for (const { k, labels } of c.fclusterMaxclust) expect(Array.from(fclusterMaxclust(Z, k))).toEqual(labels);
    expect(Array.from(leavesList(Z))).toEqual(c.leaves);
  });

  test('square input gives the same linkage as condensed', () => {
    const c = fixture.cases.find((x) => x.name.startsWith('gaussian_n31'))!;
    const fromSquare = wardLinkage(squareFromCondensed(c.condensed, c.n), c.n, 'square');
    expect(Array.from(fromSquare)).toEqual(Array.from(wardLinkage(Float64Array.from(c.condensed), c.n)));
  });
});

describe('wardLinkage against ml-hclust agnes ward2', () => {
  test.each([
    [7, 2, 1],
    [40, 3, 2],
    [120, 6, 3],
    [250, 10, 4],
  ])('random Euclidean n=%i d=%i (seed %i): merge heights equal', (n, dim, seed) => {
    const square = randomEuclidean(n, dim, seed);
    const ours = linkageRows(wardLinkage(square, n, 'square')).map((r) => r[2]!);
    expect(maxAbsDiff(ours, agnesHeights(square, n))).toBeLessThanOrEqual(1e-10);
  });

  test('real crypto correlation distance (pairwise over the whole history)', () => {
    const data = cryptoReturnsMatrix();
    const n = data.nSymbols;
    const distance = correlationDistance(correlationMatrix(data, { undefinedAs: 'zero' }), n);
    const ours = linkageRows(wardLinkage(squareToCondensed(distance, n), n)).map((r) => r[2]!);
    expect(maxAbsDiff(ours, agnesHeights(distance, n))).toBeLessThanOrEqual(1e-12);
  });
});

describe('flat cuts', () => {
  const c = fixture.cases.find((x) => x.name === 'crypto_corr_distance_complete')!;
  const Z = wardLinkage(Float64Array.from(c.condensed), c.n);

  test('labels are a partition into 1..k', () => {
    const labels = Array.from(fclusterDistance(Z, 0.7));
    const k = Math.max(...labels);
    expect(new Set(labels)).toEqual(new Set(Array.from({ length: k }, (_, i) => i + 1)));
  });

  test('cutWithCap keeps the distance cut when under the cap and falls back to maxclust above it', () => {
    const atThreshold = fclusterDistance(Z, 0.3);
    const count = Math.max(...atThreshold);
    expect(cutWithCap(Z, 0.3, count).rule).toBe('distance');
    const capped = cutWithCap(Z, 0.3, count - 1);
    expect(capped.rule).toBe('maxclust');
    expect(capped.clusterCount).toBe(count - 1);
    const scipy = c.fclusterMaxclust.find((m) => m.k === 5)!;
    expect(samePartition(cutWithCap(Z, 0, 5).labels, scipy.labels)).toBe(true);
  });

  test('n = 1 and n = 2 edge cases', () => {
    expect(wardLinkage(new Float64Array(0), 1).length).toBe(0);
    expect(Array.from(fclusterDistance(new Float64Array(0), 1))).toEqual([1]);
    const Z2 = wardLinkage(Float64Array.of(3), 2);
    expect(linkageRows(Z2)).toEqual([[0, 1, 3, 2]]);
    expect(Array.from(fclusterMaxclust(Z2, 2))).toEqual([1, 2]);
    expect(Array.from(fclusterMaxclust(Z2, 1))).toEqual([1, 1]);
    expect(Array.from(leavesList(Z2))).toEqual([0, 1]);
  });

  test('refuses NaN distances and wrong lengths', () => {
    expect(() => wardLinkage(Float64Array.of(1, NaN, 2), 3)).toThrow(/finite/);
    expect(() => wardLinkage(Float64Array.of(1, 2), 3)).toThrow(/entries/);
  });
});
