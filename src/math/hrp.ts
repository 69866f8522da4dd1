/**
 * Hierarchical allocation: linkage (single / average / complete by a nearest-neighbour chain, ward via ward.ts),
 * Lopez de Prado's HRP (quasi-diagonal order = scipy leaves_list, recursive bisection of the ordered list, split
 * alpha = 1 - V1 / (V1 + V2) with V the inverse-variance portfolio variance of a half) and HERC (the same risk split,
 * but along the dendrogram's own children).
 *
 * Bounds and group caps are enforced INSIDE the recursion: at each split the share of each side is clamped to what
 * that side can hold, [sum of its lower bounds, sum of its upper bounds], so no weight is clipped afterwards. Group
 * caps (clusters, regime caps) are turned into per-asset upper bounds by a fixed point: when a group exceeds its cap,
 * its members' upper bounds become their current weight scaled to the cap, and the recursion runs again.
 */
import { leavesList, wardLinkage, type LinkageMatrix } from './ward.js';

export type LinkageMethod = 'single' | 'average' | 'complete' | 'ward';

/** scipy.cluster.hierarchy.linkage(condensed-of(square), method) for a square row-major distance matrix. */
export function linkage(square: Float64Array, n: number, method: LinkageMethod): LinkageMatrix {
  if (method === 'ward') return wardLinkage(square, n, 'square');
  const D = Float64Array.from(square);
  const size = new Int32Array(n).fill(1);
  const chain = new Int32Array(n);
  let chainLength = 0;
  const raw = new Float64Array(Math.max(0, n - 1) * 4);
  for (let step = 0; step < n - 1; step++) {
    if (chainLength === 0) {
      for (let i = 0; i < n; i++) if (size[i]! > 0) { chain[0] = i; break; }
      chainLength = 1;
    }
    let x: number, y = 0, current: number;
    for (;;) {
      x = chain[chainLength - 1]!;
      if (chainLength > 1) { y = chain[chainLength - 2]!; current = D[x * n + y]!; } else current = Infinity;
      for (let i = 0; i < n; i++) {
        if (size[i] === 0 || i === x) continue;
        const d = D[x * n + i]!;
        if (d < current) { current = d; y = i; }
      }
      if (chainLength > 1 && y === chain[chainLength - 2]) break;
      chain[chainLength++] = y;
    }
    chainLength -= 2;
    if (x > y) { const s = x; x = y; y = s; }
    const nx = size[x]!, ny = size[y]!;
    raw.set([x, y, current, nx + ny], step * 4);
    size[x] = 0;
    size[y] = nx + ny;
    for (let i = 0; i < n; i++) {
      if (size[i] === 0 || i === y) continue;
      const dx = D[i * n + x]!, dy = D[i * n + y]!;
      const d = method === 'single' ? Math.min(dx, dy) : method === 'complete' ? Math.max(dx, dy) : (nx * dx + ny * dy) / (nx + ny);
      D[i * n + y] = D[y * n + i] = d;
    }
  }
  // Stable sort by height, then scipy's label(): union-find ids, smaller id first.
  const m = n - 1;
  const order = Array.from({ length: m }, (_, k) => k).sort((a, b) => raw[a * 4 + 2]! - raw[b * 4 + 2]!);
  const Z = new Float64Array(m * 4);
  order.forEach((src, dst) => Z.set(raw.subarray(src * 4, src * 4 + 4), dst * 4));
  const parent = new Int32Array(2 * n).fill(-1);
  const csize = new Int32Array(2 * n).fill(1);
  const find = (s: number) => { let r = s; while (parent[r]! !== -1) r = parent[r]!; return r; };
  for (let r = 0; r < m; r++) {
    const a = find(Z[r * 4]!), b = find(Z[r * 4 + 1]!);
    Z[r * 4] = Math.min(a, b);
    Z[r * 4 + 1] = Math.max(a, b);
    parent[a] = parent[b] = n + r;
    csize[n + r] = csize[a]! + csize[b]!;
    Z[r * 4 + 3] = csize[n + r]!;
  }
  return Z;
}

/** Correlation distance sqrt(clip((1 - rho) / 2, 0, 1)) (PyPortfolioOpt's HRP); NaN rho counts as 0. */
export function hrpDistance(corr: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (i === j) continue;
    const rho = corr[i * n + j]!;
    out[i * n + j] = Math.sqrt(Math.min(1, Math.max(0, (1 - (rho === rho ? rho : 0)) / 2)));
  }
  return out;
}

/** Variance of the inverse-variance portfolio of `members` (PyPortfolioOpt _get_cluster_var). */
export function clusterVariance(cov: Float64Array, n: number, members: ArrayLike<number>): number {
  const k = members.length;
  const w = new Float64Array(k);
  let s = 0;
  for (let a = 0; a < k; a++) { w[a] = 1 / cov[members[a]! * n + members[a]!]!; s += w[a]!; }
  let v = 0;
  for (let a = 0; a < k; a++) {
    const ra = members[a]! * n;
    let r = 0;
    for (let b = 0; b < k; b++) r += cov[ra + members[b]!]! * w[b]!;
    v += w[a]! * r;
  }
  return v / (s * s);
}

export interface HierarchicalConstraints {
  /** Per-asset bounds (default [0, 1]); lower bounds must be >= 0 for hierarchical engines. */
  lb?: Float64Array;
  ub?: Float64Array;
  /** Groups of asset indices whose total weight may not exceed cap (fraction of the budget). */
  groups?: { members: number[]; cap: number }[];
  /** Total weight; default 1. */
  budget?: number;
  /** HERC's risk of a cluster (default: its inverse-variance portfolio's variance). */
  risk?: (members: number[]) => number;
}

/** A split function: the share alpha of `budget` that goes to the left part. */
type Split = (left: number[], right: number[]) => number;

function allocate(root: number[], children: (node: number[]) => [number[], number[]] | null, split: Split, n: number, lb: Float64Array, ub: Float64Array, budget: number): Float64Array {
  const w = new Float64Array(n);
  const sum = (xs: number[], b: Float64Array) => xs.reduce((s, i) => s + b[i]!, 0);
  const stack: { items: number[]; total: number }[] = [{ items: root, total: budget }];
  while (stack.length) {
    const { items, total } = stack.pop()!;
    const parts = children(items);
    if (!parts) { w[items[0]!] = total; continue; }
    const [left, right] = parts;
    const alpha = split(left, right);
    // Keep each side within what it can hold: left in [sum lb, sum ub] and right likewise.
    const lo = Math.max(sum(left, lb), total - sum(right, ub));
    const hi = Math.min(sum(left, ub), total - sum(right, lb));
    let leftTotal = alpha * total;
    if (leftTotal < lo) leftTotal = lo;
    if (leftTotal > hi) leftTotal = hi;
    stack.push({ items: right, total: total - leftTotal }, { items: left, total: leftTotal });
  }
  return w;
}

function withGroups(run: (ub: Float64Array) => Float64Array, n: number, c: HierarchicalConstraints): Float64Array {
  const ub = Float64Array.from(c.ub ?? new Float64Array(n).fill(1));
  const budget = c.budget ?? 1;
  let w = run(ub);
  for (let iter = 0; iter < 100 && c.groups?.length; iter++) {
    let violated = false;
    for (const g of c.groups) {
      const cap = g.cap * budget;
      const total = g.members.reduce((s, i) => s + w[i]!, 0);
      if (total > cap * (1 + 1e-12) + 1e-15) {
        violated = true;
        // Shrink the slack above each member's lower bound (not the weight itself), so caps never push a
        // weight under its floor: the group's floors L stay, the rest scales to fit cap - L.
        const L = g.members.reduce((s, i) => s + (c.lb?.[i] ?? 0), 0);
        for (const i of g.members) {
          const lo = c.lb?.[i] ?? 0;
          ub[i] = Math.max(lo, Math.min(ub[i]!, lo + ((w[i]! - lo) * (cap - L)) / Math.max(total - L, 1e-300)));
        }
      }
    }
    if (!violated) break;
    w = run(ub);
  }
  return w;
}

/** Quasi-diagonal order of a linkage (scipy leaves_list). */
export function quasiDiagonalOrder(Z: LinkageMatrix): number[] {
  return Array.from(leavesList(Z));
}

/** HRP weights given the covariance (any scale) and the quasi-diagonal order; bisection of the ordered list. */
export function hrpWeights(cov: Float64Array, n: number, order: number[], c: HierarchicalConstraints = {}): Float64Array {
  const lb = c.lb ?? new Float64Array(n);
  const split: Split = (a, b) => {
    const va = clusterVariance(cov, n, a), vb = clusterVariance(cov, n, b);
    return 1 - va / (va + vb);
  };
  const halves = (items: number[]): [number[], number[]] | null =>
    items.length > 1 ? [items.slice(0, items.length >> 1), items.slice(items.length >> 1)] : null;
  return withGroups((ub) => allocate(order, halves, split, n, lb, ub, c.budget ?? 1), n, c);
}

/**
 * HERC (Raffinot 2017, variance risk measure): top-down along the dendrogram's children; each split gives a child
 * a share inversely proportional to its cluster variance (inverse-variance portfolio of its members), so the two
 * children contribute equal risk when uncorrelated; singletons end the recursion.
 */
export function hercWeights(cov: Float64Array, n: number, Z: LinkageMatrix, c: HierarchicalConstraints = {}): Float64Array {
  const lb = c.lb ?? new Float64Array(n);
  const leavesOf = new Map<number, number[]>();
  const leaves = (node: number): number[] => {
    if (node < n) return [node];
    const hit = leavesOf.get(node);
    if (hit) return hit;
    const r = node - n;
    const out = [...leaves(Z[r * 4]!), ...leaves(Z[r * 4 + 1]!)];
    leavesOf.set(node, out);
    return out;
  };
  const nodeOf = new Map<string, number>();
  for (let r = 0; r < n - 1; r++) nodeOf.set(leaves(n + r).join(','), n + r);
  const children = (items: number[]): [number[], number[]] | null => {
    if (items.length < 2) return null;
    const node = nodeOf.get(items.join(','))!;
    const r = node - n;
    return [leaves(Z[r * 4]!), leaves(Z[r * 4 + 1]!)];
  };
  const risk = c.risk ?? ((m: number[]) => clusterVariance(cov, n, m));
  const split: Split = (a, b) => {
    const va = risk(a), vb = risk(b);
    return 1 - va / (va + vb);
  };
  const root = n === 1 ? [0] : leaves(2 * n - 2);
  return withGroups((ub) => allocate(root, children, split, n, lb, ub, c.budget ?? 1), n, c);
}
