/**
 * The QP solver on min-variance problems with a near-constant asset (a zero variance, regularised to a tiny one, so
 * Q's condition number is ~1e6 and more) and caps whose feasible set is a single point or a thin slab, against an
 * independent reference written here: every active set of the box, cap and budget constraints is solved as an
 * equality-constrained QP by Gaussian elimination (a KKT system), and the feasible candidate of least variance is
 * the minimum (for a positive definite Q the optimum is one of them). When no candidate is feasible the constraints
 * have no common point, and the solver must say so (QPInfeasibleError), never return weights that break them.
 * Found in review: D1 (a random walk) and K1 (a constant price), two clusters whose cap is relaxed to 0.5 allow
 * exactly 0.5/0.5, and min_variance called that infeasible.
 */
import { regulariseCovariance } from '../../src/math/covariance-estimators.js';
import { QPInfeasibleError, solveQP } from '../../src/math/qp.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
}

/** Whether the rows (of 0s and ±1s) are linearly independent: Gaussian elimination, exact on such rows. */
function independent(rows: number[][]): boolean {
  const M = rows.map((r) => [...r]);
  const n = M[0]?.length ?? 0;
  let rank = 0;
  for (let c = 0; c < n && rank < M.length; c++) {
    let p = rank;
    for (let r = rank + 1; r < M.length; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    if (Math.abs(M[p]![c]!) < 1e-9) continue;
    [M[rank], M[p]] = [M[p]!, M[rank]!];
    for (let r = rank + 1; r < M.length; r++) {
      const f = M[r]![c]! / M[rank]![c]!;
      for (let k = c; k < n; k++) M[r]![k] = M[r]![k]! - f * M[rank]![k]!;
    }
    rank++;
  }
  return rank === M.length;
}

/**
 * Solves A y = b (Gaussian elimination with partial pivoting). Called on KKT systems of a positive definite Q and
 * independent rows, which are nonsingular: no pivot threshold, which would refuse the tiny variances of
 * near-constant assets.
 */
function solveLinear(A: number[][], b: number[]): number[] | null {
  // two steps of iterative refinement: the variances of a near-constant and a volatile asset differ by 1e6 and more
  let y = eliminate(A, b);
  for (let step = 0; step < 2 && y; step++) {
    const residual = b.map((bi, i) => bi - A[i]!.reduce((s, a, j) => s + a * y![j]!, 0));
    const dy = eliminate(A, residual);
    if (dy) y = y.map((v, i) => v + dy[i]!);
  }
  return y;
}

function eliminate(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    if (M[p]![c] === 0) return null;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k] = M[r]![k]! - f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

type Row = [number[], number];

function* subsets(m: number, max: number, start = 0, cur: number[] = []): Generator<number[]> {
  yield cur;
  if (cur.length === max) return;
  for (let j = start; j < m; j++) yield* subsets(m, max, j + 1, [...cur, j]);
}

/** min x'Qx subject to the equalities and the inequalities a'x <= b, by enumerating active sets; null if infeasible. */
function reference(n: number, Q: ArrayLike<number>, eqs: Row[], ineqs: Row[]): number[] | null {
  let best: number[] | null = null;
  let bestVariance = Infinity;
  for (const active of subsets(ineqs.length, n - eqs.length)) {
    const rows = [...eqs, ...active.map((j) => ineqs[j]!)];
    if (!independent(rows.map(([a]) => a))) continue;
    const k = rows.length;
    const A: number[][] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++) {
      A.push([...Array.from({ length: n }, (_, j) => Q[i * n + j]!), ...rows.map(([a]) => a[i]!)]);
      b.push(0);
    }
    for (const [a, rhs] of rows) {
      A.push([...a, ...new Array<number>(k).fill(0)]);
      b.push(rhs);
    }
    const y = solveLinear(A, b);
    if (!y) continue;
    const x = y.slice(0, n);
    if (ineqs.some(([a, rhs]) => a.reduce((s, v, i) => s + v * x[i]!, 0) > rhs + 1e-10)) continue;
    let v = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v += x[i]! * Q[i * n + j]! * x[j]!;
    if (v < bestVariance) {
      bestVariance = v;
      best = x;
    }
  }
  return best;
}

interface Problem {
  n: number;
  Q: Float64Array;
  budget: number;
  lb: Float64Array;
  ub: Float64Array;
  groups: { members: number[]; cap: number }[];
}

function solve(p: Problem) {
  const rows = p.groups.map((g) => Float64Array.from({ length: p.n }, (_, i) => (g.members.includes(i) ? 1 : 0)));
  return solveQP({ n: p.n, Q: p.Q, eq: { A: [new Float64Array(p.n).fill(1)], b: [p.budget] }, ineq: { A: rows, b: p.groups.map((g) => g.cap * p.budget) }, lb: p.lb, ub: p.ub });
}

function referenceOf(p: Problem): number[] | null {
  const unit = (i: number, s: number) => Array.from({ length: p.n }, (_, j) => (j === i ? s : 0));
  const ineqs: Row[] = [
    ...p.groups.map((g): Row => [Array.from({ length: p.n }, (_, i) => (g.members.includes(i) ? 1 : 0)), g.cap * p.budget]),
    ...Array.from({ length: p.n }, (_, i): Row[] => [[unit(i, 1), p.ub[i]!], [unit(i, -1), -p.lb[i]!]]).flat(),
  ];
  return reference(p.n, p.Q, [[new Array<number>(p.n).fill(1), p.budget]], ineqs);
}

/** The annualised sample covariance of random returns, some assets constant, regularised as the engines see it. */
function covariance(n: number, r: () => number): Float64Array {
  const T = 40;
  const X = Array.from({ length: n }, () => {
    const constant = r() < 0.4;
    const scale = Math.exp((r() - 0.5) * 8);
    return Array.from({ length: T }, () => (constant ? 0 : (r() - 0.5) * scale));
  });
  const cov = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const mi = X[i]!.reduce((a, b) => a + b) / T, mj = X[j]!.reduce((a, b) => a + b) / T;
      let s = 0;
      for (let t = 0; t < T; t++) s += (X[i]![t]! - mi) * (X[j]![t]! - mj);
      cov[i * n + j] = (s / (T - 1)) * 365;
    }
  }
  return regulariseCovariance(cov, n).cov;
}

describe("the review's market: D1 (a random walk) and K1 (a constant price) in two clusters", () => {
  // The covariance min_variance saw in the failing backtest window (annualised, K1's zero variance regularised).
  const Q = Float64Array.of(7.628997889406e-8, 0, 0, 0.15257995778812);
  const twoClusters = (cap: number, Qx = Q): Problem => ({ n: 2, Q: Qx, budget: 1, lb: new Float64Array(2), ub: new Float64Array(2).fill(1), groups: [{ members: [0], cap }, { members: [1], cap }] });

  test('a cap of 0.5 on each allows exactly one portfolio, 0.5/0.5, and that is the answer (in either order)', () => {
    for (const Qx of [Q, Float64Array.of(Q[3]!, 0, 0, Q[0]!)]) {
      const p = twoClusters(0.5, Qx);
      expect(referenceOf(p)).toEqual([0.5, 0.5]);
      const x = solve(p).x;
      expect(Math.abs(x[0]! - 0.5)).toBeLessThan(1e-12);
      expect(Math.abs(x[1]! - 0.5)).toBeLessThan(1e-12);
    }
  });

  test('a cap of 0.6: the constant asset takes all its cap, 0.6/0.4', () => {
    const p = twoClusters(0.6);
    const ref = referenceOf(p)!;
    expect(ref[0]).toBeCloseTo(0.6, 12);
    const x = solve(p).x;
    for (let i = 0; i < 2; i++) expect(Math.abs(x[i]! - ref[i]!)).toBeLessThan(1e-12);
  });

  test('a cap a millionth under 0.5 has no common portfolio: infeasible, not weights that break a cap', () => {
    // also at variances 1e-6 and 1, where the solver used to return 0.500001/0.499999
    for (const Qx of [Q, Float64Array.of(1e-6, 0, 0, 1)]) {
      expect(referenceOf(twoClusters(0.499999, Qx))).toBeNull();
      expect(() => solve(twoClusters(0.499999, Qx))).toThrow(QPInfeasibleError);
    }
  });
});

test('random 2-5 asset problems with near-constant assets and caps of 1/k (a point or a slab), a little above, or a little below (infeasible) match the enumerated reference', () => {
  const r = rng(20240601);
  let feasible = 0, infeasible = 0, single = 0;
  for (let trial = 0; trial < 300; trial++) {
    const n = 2 + Math.floor(r() * 4);
    const k = 1 + Math.floor(r() * n);
    const labels = Array.from({ length: n }, (_, i) => (i < k ? i : Math.floor(r() * k)));
    const mode = r();
    const cap = mode < 0.45 ? 1 / k : mode < 0.75 ? 1 / k + r() * 0.3 : 1 / k - 1e-7 * (0.1 + r());
    const lb = Float64Array.from({ length: n }, () => (r() < 0.2 ? -0.2 * r() : 0));
    const ub = Float64Array.from({ length: n }, (_, i) => Math.max(lb[i]!, r() < 0.3 ? 0.2 + r() * 0.8 : 1));
    const p: Problem = {
      n, Q: covariance(n, r), budget: r() < 0.5 ? 1 : 0.5 + r(), lb, ub,
      groups: Array.from({ length: k }, (_, l) => ({ members: labels.flatMap((x, i) => (x === l ? [i] : [])), cap })),
    };
    const ref = referenceOf(p);
    if (!ref) {
      infeasible++;
      expect(() => solve(p)).toThrow(QPInfeasibleError);
      continue;
    }
    feasible++;
    if (k === n && cap === 1 / k) single++;
    const x = solve(p).x;
    const worst = Math.max(...ref.map((v, i) => Math.abs(x[i]! - v)));
    if (worst > 1e-7) throw new Error(`trial ${trial}: ${JSON.stringify({ Q: Array.from(p.Q), lb: Array.from(p.lb), ub: Array.from(p.ub), b: p.budget, g: p.groups })} ${Array.from(x)} against the reference ${ref} (n ${n}, ${k} groups capped at ${cap})`);
  }
  // the mix the test means to cover
  expect(infeasible).toBeGreaterThan(40);
  expect(feasible).toBeGreaterThan(150);
  expect(single).toBeGreaterThan(15);
});
