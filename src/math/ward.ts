/**
 * Ward hierarchical clustering by the nearest-neighbour chain (Murtagh 1983; Müllner 2011), O(n^2) time and
 * memory, reproducing scipy.cluster.hierarchy.linkage(method='ward') on a distance matrix: the same Lance-Williams
 * update on Euclidean distances, the same tie-breaking (lowest index wins, the chain's previous element is
 * preferred), a stable sort by merge height and scipy's union-find relabelling. Flat cuts (fcluster 'distance'
 * and 'maxclust') and the dendrogram leaf order (leaves_list) follow scipy's traversals, so labels match too.
 *
 * A linkage matrix is a row-major Float64Array of n-1 rows [idx1, idx2, height, count]; idx < n are leaves and
 * n + i is the cluster formed at row i.
 */

import { mirrorUpper } from './correlation.js';
import { wardMergesSimd } from './ward-wasm.js';
import { stableOrder } from '../util/order.js';

export type LinkageMatrix = Float64Array;
export type DistanceLayout = 'condensed' | 'square';

/** Position of (i, j), i < j, in scipy's condensed (upper-triangle, row by row) vector. */
export function condensedIndex(n: number, i: number, j: number): number {
  return n * i - (i * (i + 1)) / 2 + (j - i - 1);
}

/** Number of points whose condensed distance vector has this length; throws if it is not triangular. */
export function pointsFromCondensedLength(length: number): number {
  const n = Math.round((1 + Math.sqrt(1 + 8 * length)) / 2);
  if ((n * (n - 1)) / 2 !== length) throw new Error(`${length} is not a condensed distance length`);
  return n;
}

export function squareToCondensed(square: Float64Array, n: number): Float64Array {
  const out = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[k++] = square[i * n + j]!;
  return out;
}

/**
 * Writes the distances as a full symmetric matrix, row i at target[i * stride] (columns 0 … n - 1). A square input
 * contributes its upper triangle, as scipy's squareform would, so an asymmetric input cannot change the answer.
 */
function fillWorkingSquare(distances: Float64Array, n: number, layout: DistanceLayout, target: Float64Array, stride: number): void {
  if (layout === 'square') {
    if (distances.length !== n * n) throw new Error(`square distances need ${n * n} entries, got ${distances.length}`);
    for (let i = 0; i < n; i++) {
      target[i * stride + i] = 0;
      for (let j = i + 1; j < n; j++) target[i * stride + j] = target[j * stride + i] = finite(distances[i * n + j]!);
    }
  } else {
    if (distances.length !== (n * (n - 1)) / 2) {
      throw new Error(`condensed distances for ${n} points need ${(n * (n - 1)) / 2} entries, got ${distances.length}`);
    }
    let k = 0;
    for (let i = 0; i < n; i++) {
      target[i * stride + i] = 0;
      for (let j = i + 1; j < n; j++) target[i * stride + j] = target[j * stride + i] = finite(distances[k++]!);
    }
  }
}

function finite(d: number): number {
  if (!Number.isFinite(d)) throw new Error('distances must be finite (scipy refuses NaN and infinity too)');
  return d;
}

/** scipy's _ward update, same operation order so heights agree bit for bit in practice. */
function wardUpdate(dXI: number, dYI: number, dXY: number, sizeX: number, sizeY: number, sizeI: number): number {
  const t = 1.0 / (sizeX + sizeY + sizeI);
  return Math.sqrt((sizeI + sizeX) * t * dXI * dXI + (sizeI + sizeY) * t * dYI * dYI - sizeI * t * dXY * dXY);
}

/**
 * Ward linkage of n points given their pairwise distances, condensed (scipy pdist order, the default) or a square
 * row-major n x n matrix. n = 1 gives an empty linkage.
 */
export function wardLinkage(
  distances: Float64Array,
  n: number,
  layout: DistanceLayout = 'condensed',
  opts: { consume?: boolean; kernel?: 'auto' | 'js' } = {},
): LinkageMatrix {
  if (!Number.isInteger(n) || n < 1) throw new Error(`need at least one point, got n = ${n}`);
  // consume: a full symmetric square the caller no longer needs; it is used as it is (no checks, no copy in JS).
  const asGiven = opts.consume === true && layout === 'square' && distances.length === n * n;
  const raw = new Float64Array(Math.max(0, n - 1) * 4);
  const simd =
    opts.kernel !== 'js' &&
    wardMergesSimd(n, asGiven ? { rows: distances } : { fill: (matrix, stride) => fillWorkingSquare(distances, n, layout, matrix, stride) }, raw);
  if (!simd) {
    let D = distances;
    if (!asGiven) {
      D = new Float64Array(n * n);
      fillWorkingSquare(distances, n, layout, D, n);
    }
    nnChainMerges(D, n, raw);
  }
  return relabel(sortByHeight(raw, n), n);
}

/**
 * Ward linkage of n points whose distances `write` puts into the upper triangle of a square it is handed (row-major
 * n x n, finite; not checked; the lower triangle is not read, the diagonal is ignored): straight into the SIMD
 * engine's working memory, so that they are written once, where the engine reads them, and mirrored there; for the
 * JavaScript loop into `square()` (the caller's reusable n x n matrix) or a new one, mirrored here.
 */
export function wardLinkageWritten(
  n: number,
  write: (square: Float64Array) => void,
  opts: { square?: () => Float64Array; kernel?: 'auto' | 'js' } = {},
): LinkageMatrix {
  if (!Number.isInteger(n) || n < 1) throw new Error(`need at least one point, got n = ${n}`);
  const raw = new Float64Array(Math.max(0, n - 1) * 4);
  if (n < 2 || opts.kernel === 'js' || !wardMergesSimd(n, { upper: write }, raw)) {
    const D = opts.square?.() ?? new Float64Array(n * n);
    if (D.length !== n * n) throw new Error(`square has ${D.length} entries, expected ${n}^2`);
    write(D);
    mirrorUpper(D, n);
    nnChainMerges(D, n, raw);
  }
  return relabel(sortByHeight(raw, n), n);
}

/** The nearest-neighbour chain in plain JavaScript (the reference the SIMD kernels reproduce): merges into raw. */
function nnChainMerges(D: Float64Array, n: number, raw: Float64Array): void {
  const size = new Int32Array(n).fill(1);
  const chain = new Int32Array(n);
  let chainLength = 0;
  // The live clusters in ascending slot order: scans skip merged slots, and ascending order keeps scipy's
  // tie-breaking (the lowest index wins).
  const active = Int32Array.from({ length: n }, (_, i) => i);
  let live = n;

  for (let step = 0; step < n - 1; step++) {
    if (chainLength === 0) {
      chainLength = 1;
      chain[0] = active[0]!;
    }
    let x: number;
    let y = 0;
    let currentMin: number;
    // Walk nearest neighbours until two clusters are each other's nearest (reciprocal nearest neighbours).
    for (;;) {
      x = chain[chainLength - 1]!;
      if (chainLength > 1) {
        y = chain[chainLength - 2]!;
        currentMin = D[x * n + y]!;
      } else {
        currentMin = Infinity;
      }
      const row = x * n;
      for (let k = 0; k < live; k++) {
        const i = active[k]!;
        if (i === x) continue;
        const d = D[row + i]!;
        if (d < currentMin) {
          currentMin = d;
          y = i;
        }
      }
      if (chainLength > 1 && y === chain[chainLength - 2]) break;
      chain[chainLength++] = y;
    }
    chainLength -= 2;
    if (x > y) {
      const swap = x;
      x = y;
      y = swap;
    }
    const nx = size[x]!;
    const ny = size[y]!;
    raw[step * 4] = x;
    raw[step * 4 + 1] = y;
    raw[step * 4 + 2] = currentMin;
    raw[step * 4 + 3] = nx + ny;
    size[x] = 0;
    size[y] = nx + ny;
    // Slot x is gone: drop it from the live list (order kept).
    const at = active.indexOf(x);
    active.copyWithin(at, at + 1, live);
    live--;
    // The merged cluster lives in slot y; D is symmetric, so rows x and y are read contiguously.
    const rx = x * n;
    const ry = y * n;
    for (let k = 0; k < live; k++) {
      const i = active[k]!;
      if (i === y) continue;
      const d = wardUpdate(D[rx + i]!, D[ry + i]!, currentMin, nx, ny, size[i]!);
      D[ry + i] = d;
      D[i * n + y] = d;
    }
  }
}

/** Stable sort of the raw merges by height (scipy: argsort kind='mergesort'). */
function sortByHeight(raw: Float64Array, n: number): Float64Array {
  const m = n - 1;
  const heights = new Float64Array(m);
  for (let k = 0; k < m; k++) heights[k] = raw[k * 4 + 2]!;
  const order = stableOrder(heights);
  const out = new Float64Array(m * 4);
  // Row by row, without a view per row (n - 1 of them per linkage).
  for (let dst = 0; dst < m; dst++) {
    const from = order[dst]! * 4;
    const to = dst * 4;
    out[to] = raw[from]!;
    out[to + 1] = raw[from + 1]!;
    out[to + 2] = raw[from + 2]!;
    out[to + 3] = raw[from + 3]!;
  }
  return out;
}

/** scipy's label(): slot indices become cluster ids via union-find, smaller id first. */
function relabel(Z: Float64Array, n: number): Float64Array {
  const parent = new Int32Array(2 * n - 1).fill(-1);
  const clusterSize = new Int32Array(2 * n - 1).fill(1);
  let nextLabel = n;
  const find = (start: number): number => {
    let root = start;
    while (parent[root]! !== -1) root = parent[root]!;
    let node = start;
    while (parent[node]! !== -1 && parent[node] !== root) {
      const next = parent[node]!;
      parent[node] = root;
      node = next;
    }
    return root;
  };
  for (let r = 0; r < n - 1; r++) {
    const xRoot = find(Z[r * 4]!);
    const yRoot = find(Z[r * 4 + 1]!);
    Z[r * 4] = Math.min(xRoot, yRoot);
    Z[r * 4 + 1] = Math.max(xRoot, yRoot);
    parent[xRoot] = nextLabel;
    parent[yRoot] = nextLabel;
    const merged = clusterSize[xRoot]! + clusterSize[yRoot]!;
    clusterSize[nextLabel] = merged;
    Z[r * 4 + 3] = merged;
    nextLabel++;
  }
  return Z;
}

/** Number of observations of a linkage matrix. */
export function linkageLeafCount(Z: LinkageMatrix): number {
  if (Z.length % 4 !== 0) throw new Error('a linkage matrix has 4 columns');
  return Z.length / 4 + 1;
}

/** The linkage as rows [idx1, idx2, height, count] (for records and JSON). */
export function linkageRows(Z: LinkageMatrix): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < Z.length / 4; r++) rows.push([Z[r * 4]!, Z[r * 4 + 1]!, Z[r * 4 + 2]!, Z[r * 4 + 3]!]);
  return rows;
}

/** Largest merge height inside each cluster's subtree (scipy get_max_dist_for_each_cluster). */
function maxHeightPerCluster(Z: LinkageMatrix, n: number): Float64Array {
  const out = new Float64Array(n - 1);
  for (let r = 0; r < n - 1; r++) {
    let h = Z[r * 4 + 2]!;
    const left = Z[r * 4]!;
    const right = Z[r * 4 + 1]!;
    // Children are formed at earlier rows, so their maxima are already known.
    if (left >= n) h = Math.max(h, out[left - n]!);
    if (right >= n) h = Math.max(h, out[right - n]!);
    out[r] = h;
  }
  return out;
}

/**
 * scipy cluster_monocrit: depth-first from the root, left child first; the first node on a path whose
 * criterion is <= cutoff becomes a cluster. Labels are 1..k in that traversal order, exactly as scipy.
 */
function clusterMonocrit(Z: LinkageMatrix, criterion: Float64Array, cutoff: number, n: number): Int32Array {
  const labels = new Int32Array(n);
  if (n === 1) {
    labels[0] = 1;
    return labels;
  }
  const stack = new Int32Array(n);
  const visited = new Uint8Array(2 * n - 1);
  let clusterCount = 0;
  let leader = -1;
  let k = 0;
  stack[0] = 2 * n - 2;
  while (k >= 0) {
    const root = stack[k]! - n;
    const left = Z[root * 4]!;
    const right = Z[root * 4 + 1]!;
    if (leader === -1 && criterion[root]! <= cutoff) {
      leader = root;
      clusterCount++;
    }
    if (left >= n && !visited[left]) {
      visited[left] = 1;
      stack[++k] = left;
      continue;
    }
    if (right >= n && !visited[right]) {
      visited[right] = 1;
      stack[++k] = right;
      continue;
    }
    if (left < n) {
      if (leader === -1) clusterCount++;
      labels[left] = clusterCount;
    }
    if (right < n) {
      if (leader === -1) clusterCount++;
      labels[right] = clusterCount;
    }
    if (leader === root) leader = -1;
    k--;
  }
  return labels;
}

/**
 * Flat clusters whose cophenetic distance is <= threshold (scipy fcluster(Z, t, criterion='distance')).
 * Returns labels 1..k per observation, numbered as scipy does.
 */
export function fclusterDistance(Z: LinkageMatrix, threshold: number): Int32Array {
  const n = linkageLeafCount(Z);
  return clusterMonocrit(Z, maxHeightPerCluster(Z, n), threshold, n);
}

/** Count of clusters a cut at this criterion threshold would give, stopping early once it exceeds `limit`. */
function countClustersAt(Z: LinkageMatrix, criterion: Float64Array, threshold: number, n: number, limit: number): number {
  const stack = new Int32Array(n);
  const visited = new Uint8Array(2 * n - 1);
  let count = 0;
  let k = 0;
  stack[0] = 2 * n - 2;
  while (k >= 0) {
    const root = stack[k]! - n;
    const left = Z[root * 4]!;
    const right = Z[root * 4 + 1]!;
    if (criterion[root]! <= threshold) {
      if (++count > limit) return count;
      k--;
      visited[left] = 1;
      visited[right] = 1;
      continue;
    }
    if (!visited[left]) {
      visited[left] = 1;
      if (left >= n) {
        stack[++k] = left;
        continue;
      }
      if (++count > limit) return count;
    }
    if (!visited[right]) {
      visited[right] = 1;
      if (right >= n) {
        stack[++k] = right;
        continue;
      }
      if (++count > limit) return count;
    }
    k--;
  }
  return count;
}

/**
 * At most maxClusters flat clusters (scipy fcluster(Z, k, criterion='maxclust')): scipy's bisection over the
 * merge heights for the lowest one whose cut gives no more than k clusters, then a 'distance' cut there.
 * Ties in height can make the result have fewer than k clusters, as in scipy; k >= n gives singletons 1..n.
 */
export function fclusterMaxclust(Z: LinkageMatrix, maxClusters: number): Int32Array {
  const n = linkageLeafCount(Z);
  if (!Number.isInteger(maxClusters) || maxClusters < 1) throw new Error(`maxClusters must be >= 1, got ${maxClusters}`);
  // scipy: asking for at least n clusters gives singletons labelled in index order.
  if (maxClusters >= n) return Int32Array.from({ length: n }, (_, i) => i + 1);
  const criterion = maxHeightPerCluster(Z, n);
  // lower = -1 stands for minus infinity; criterion[n - 2] (the root) always gives one cluster, so upper <= n - 2.
  let lower = -1;
  let upper = n - 1;
  while (upper - lower > 1) {
    const mid = (lower + upper) >> 1;
    if (countClustersAt(Z, criterion, criterion[mid]!, n, maxClusters) > maxClusters) lower = mid;
    else upper = mid;
  }
  const cutoff = criterion[Math.min(upper, n - 2)]!;
  return clusterMonocrit(Z, criterion, cutoff, n);
}

/**
 * scipy's cut for the clustering stage: cut at `threshold`; if that gives more than maxClusters clusters, use
 * the maxclust cut instead. Returns the labels and which rule decided.
 */
export function cutWithCap(
  Z: LinkageMatrix,
  threshold: number,
  maxClusters: number,
): { labels: Int32Array; clusterCount: number; rule: 'distance' | 'maxclust' } {
  const byDistance = fclusterDistance(Z, threshold);
  const distanceCount = countLabels(byDistance);
  if (distanceCount <= maxClusters) return { labels: byDistance, clusterCount: distanceCount, rule: 'distance' };
  const byCount = fclusterMaxclust(Z, maxClusters);
  return { labels: byCount, clusterCount: countLabels(byCount), rule: 'maxclust' };
}

function countLabels(labels: Int32Array): number {
  let max = 0;
  for (const label of labels) if (label > max) max = label;
  return max;
}

/** Leaves left to right in the dendrogram (scipy leaves_list): pre-order, left child first. */
export function leavesList(Z: LinkageMatrix): Int32Array {
  const n = linkageLeafCount(Z);
  const order = new Int32Array(n);
  if (n === 1) return order;
  let written = 0;
  const stack: number[] = [2 * n - 2];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node < n) {
      order[written++] = node;
      continue;
    }
    const r = node - n;
    stack.push(Z[r * 4 + 1]!, Z[r * 4]!);
  }
  return order;
}
