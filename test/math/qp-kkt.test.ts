/**
 * The active-set QP solver against the KKT conditions, with a checker written here from scratch (it shares nothing
 * with the solver): random problems up to n = 300 with bounds, equalities and inequalities; degenerate problems;
 * infeasible ones; an equality-only problem against its closed form.
 */
import { regulariseCovariance } from '../../src/math/covariance-estimators.js';
import { QPInfeasibleError, solveQP, type QPProblem, type QPSolution } from '../../src/math/qp.js';

function rng(seed: number) {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return { u, normal: () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) };
}

/** X X' / T for an n x T matrix of normals: rank min(n, T), so singular when T < n. */
function gram(n: number, T: number, normal: () => number, ridge: number): Float64Array {
  const X = Float64Array.from({ length: n * T }, normal);
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += X[i * T + t]! * X[j * T + t]!;
    Q[i * n + j] = Q[j * n + i] = s / T + (i === j ? ridge : 0);
  }
  return Q;
}

interface KKT { stationarity: number; primal: number; complementarity: number; dualSign: number }

/**
 * The four KKT residuals of (x, nu, lambda, mu) for  min 1/2 x'Qx + c'x,  Ex = e,  Gx <= g,  lb <= x <= ub  with
 * Qx + c + E'nu + G'lambda - muL + muU = 0. Multipliers of infinite bounds must be 0.
 */
function kkt(p: QPProblem, s: QPSolution): KKT {
  const { n, Q } = p;
  const x = s.x;
  const eqA = p.eq?.A ?? [], eqB = p.eq?.b ?? [], inA = p.ineq?.A ?? [], inB = p.ineq?.b ?? [];
  const lb = p.lb ?? new Float64Array(n).fill(-Infinity), ub = p.ub ?? new Float64Array(n).fill(Infinity);
  const dot = (a: Float64Array, y: Float64Array) => a.reduce((acc, v, i) => acc + v * y[i]!, 0);
  let stationarity = 0, primal = 0, complementarity = 0, dualSign = 0;
  for (let i = 0; i < n; i++) {
    let r = p.c?.[i] ?? 0;
    for (let j = 0; j < n; j++) r += Q[i * n + j]! * x[j]!;
    eqA.forEach((a, k) => { r += s.nu[k]! * a[i]!; });
    inA.forEach((a, k) => { r += s.lambda[k]! * a[i]!; });
    r += -s.muLower[i]! + s.muUpper[i]!;
    stationarity = Math.max(stationarity, Math.abs(r));
    primal = Math.max(primal, lb[i]! - x[i]!, x[i]! - ub[i]!);
    dualSign = Math.max(dualSign, -s.muLower[i]!, -s.muUpper[i]!);
    if (s.muLower[i]! !== 0) complementarity = Math.max(complementarity, Number.isFinite(lb[i]!) ? Math.abs(s.muLower[i]! * (x[i]! - lb[i]!)) : Infinity);
    if (s.muUpper[i]! !== 0) complementarity = Math.max(complementarity, Number.isFinite(ub[i]!) ? Math.abs(s.muUpper[i]! * (ub[i]! - x[i]!)) : Infinity);
  }
  eqA.forEach((a, k) => { primal = Math.max(primal, Math.abs(dot(a, x) - eqB[k]!)); });
  inA.forEach((a, k) => {
    const slack = inB[k]! - dot(a, x);
    primal = Math.max(primal, -slack);
    dualSign = Math.max(dualSign, -s.lambda[k]!);
    complementarity = Math.max(complementarity, Math.abs(s.lambda[k]! * slack));
  });
  return { stationarity, primal, complementarity, dualSign };
}

const worst: KKT = { stationarity: 0, primal: 0, complementarity: 0, dualSign: 0 };
afterAll(() => {
  console.log(`worst KKT residuals over this file: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
});

function expectKKT(p: QPProblem, s: QPSolution, tol = 1e-10): KKT {
  const r = kkt(p, s);
  for (const k of Object.keys(worst) as (keyof KKT)[]) worst[k] = Math.max(worst[k], r[k]);
  expect(r.stationarity).toBeLessThanOrEqual(tol);
  expect(r.primal).toBeLessThanOrEqual(tol);
  expect(r.complementarity).toBeLessThanOrEqual(tol);
  expect(r.dualSign).toBeLessThanOrEqual(tol);
  // the reported objective is the objective at x
  let obj = 0;
  for (let i = 0; i < p.n; i++) {
    let qx = 0;
    for (let j = 0; j < p.n; j++) qx += p.Q[i * p.n + j]! * s.x[j]!;
    obj += 0.5 * s.x[i]! * qx + (p.c?.[i] ?? 0) * s.x[i]!;
  }
  expect(Math.abs(obj - s.objective)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(obj)));
  return r;
}

/** A random portfolio-like QP: budget (and sometimes a second equality), group caps, dense rows, mixed bounds. */
function randomProblem(seed: number, n: number): QPProblem {
  const { u, normal } = rng(seed);
  const Q = gram(n, n + 10, normal, 1e-3);
  const c = Float64Array.from({ length: n }, () => (u() < 0.5 ? 0 : 0.3 * normal()));
  const lb = Float64Array.from({ length: n }, () => { const v = u(); return v < 0.2 ? -0.05 : v < 0.25 ? -Infinity : 0; });
  const ub = Float64Array.from({ length: n }, () => (u() < 0.1 ? Infinity : 3 / n + u() * 0.2));
  const eq = { A: [new Float64Array(n).fill(1)], b: [1] };
  if (u() < 0.5) {
    // a beta equality that the equal-weight portfolio satisfies
    const beta = Float64Array.from({ length: n }, () => 1 + 0.3 * normal());
    eq.A.push(beta);
    eq.b.push(beta.reduce((a, b) => a + b, 0) / n);
  }
  const A: Float64Array[] = [], b: number[] = [];
  const groups = 2 + Math.floor(u() * 6);
  for (let g = 0; g < groups; g++) {
    const row = Float64Array.from({ length: n }, (_, i) => (i % groups === g ? 1 : 0));
    A.push(row);
    b.push((1.15 * row.reduce((a, v) => a + v, 0)) / n + 0.01); // the equal-weight portfolio fits with slack

  }
  for (let k = 0; k < 3; k++) {
    // dense rows the equal-weight portfolio satisfies with slack
    const a = Float64Array.from({ length: n }, normal);
    A.push(a);
    b.push(a.reduce((s, v) => s + v, 0) / n + 0.02);
  }
  return { n, Q, c, eq, ineq: { A, b }, lb, ub };
}

describe('random problems satisfy the KKT conditions to 1e-10', () => {
  test.each([3, 10, 30, 80, 150, 300])('n = %i', (n) => {
    const trials = n <= 30 ? 25 : n <= 150 ? 6 : 3;
    let worst = 0;
    for (let trial = 0; trial < trials; trial++) {
      const p = randomProblem(1000 * n + trial, n);
      const r = expectKKT(p, solveQP(p));
      worst = Math.max(worst, r.stationarity, r.primal, r.complementarity, r.dualSign);
    }
    expect(worst).toBeLessThanOrEqual(1e-10);
  });

  test('long-only min-variance with tight caps and a beta band (n = 300)', () => {
    const n = 300;
    const { normal } = rng(7);
    const Q = gram(n, 120, normal, 0); // rank 120: singular...
    const reg = regulariseCovariance(Q, n); // ...made positive definite by the caller's shrinkage
    expect(reg.shrinkage).toBeGreaterThan(0);
    const beta = Float64Array.from({ length: n }, () => 1 + 0.5 * normal());
    const A = Array.from({ length: 10 }, (_, g) => Float64Array.from({ length: n }, (_, i) => (i % 10 === g ? 1 : 0)));
    const b = A.map(() => 0.11);
    A.push(beta, beta.map((v) => -v));
    b.push(1.02, -0.98);
    const p: QPProblem = { n, Q: reg.cov, eq: { A: [new Float64Array(n).fill(1)], b: [1] }, ineq: { A, b }, lb: new Float64Array(n), ub: new Float64Array(n).fill(0.01) };
    const s = solveQP(p);
    expectKKT(p, s);
    expect(s.x.filter((v) => v === 0.01).length).toBeGreaterThan(0); // the caps bind
  });
});

describe('degenerate problems', () => {
  test('duplicate equality and inequality rows', () => {
    const n = 40;
    const base = randomProblem(11, n);
    const ones = new Float64Array(n).fill(1);
    const g = Float64Array.from({ length: n }, (_, i) => (i < 10 ? 1 : 0));
    const p: QPProblem = { ...base, eq: { A: [ones, ones, Float64Array.from(ones, (v) => 2 * v)], b: [1, 1, 2] }, ineq: { A: [g, g, Float64Array.from(g, (v) => 3 * v)], b: [0.1, 0.1, 0.3] } };
    const s = solveQP(p);
    expectKKT(p, s);
    expect(s.x.slice(0, 10).reduce((a, v) => a + v, 0)).toBeLessThanOrEqual(0.1 + 1e-12);
  });

  test('a constraint implied by the bounds, and a cap exactly at the bounds (weakly active)', () => {
    const n = 20;
    const { normal } = rng(3);
    const Q = gram(n, 30, normal, 1e-2);
    const g = Float64Array.from({ length: n }, (_, i) => (i < 5 ? 1 : 0));
    const p: QPProblem = { n, Q, eq: { A: [new Float64Array(n).fill(1)], b: [1] }, ineq: { A: [g, new Float64Array(n).fill(1)], b: [0.25, 1] }, lb: new Float64Array(n), ub: new Float64Array(n).fill(0.05) };
    expectKKT(p, solveQP(p));
  });

  test('every variable fixed by its bounds (consistent), and a few fixed among free ones', () => {
    const n = 6;
    const Q = gram(n, 10, rng(5).normal, 0.1);
    const lb = Float64Array.of(0.1, 0.2, 0.3, 0.1, 0.2, 0.1);
    const all: QPProblem = { n, Q, eq: { A: [new Float64Array(n).fill(1)], b: [1] }, lb, ub: lb };
    const s = solveQP(all);
    expect(Array.from(s.x)).toEqual(Array.from(lb));
    expectKKT(all, s);
    const ub = Float64Array.of(0.1, 1, 1, 0.1, 1, 1);
    const some: QPProblem = { n, Q, c: Float64Array.of(1, -1, 0, 2, 0, -2), eq: { A: [new Float64Array(n).fill(1)], b: [1] }, lb: Float64Array.of(0.1, 0, 0, 0.1, 0, 0), ub };
    const t = solveQP(some);
    expect(t.x[0]).toBe(0.1);
    expect(t.x[3]).toBe(0.1);
    expectKKT(some, t);
  });

  test('free variables (infinite bounds) and no constraints at all', () => {
    const n = 25;
    const p = randomProblem(17, n);
    const free: QPProblem = { ...p, lb: undefined, ub: undefined };
    expectKKT(free, solveQP(free));
    const none: QPProblem = { n, Q: p.Q, c: p.c };
    expectKKT(none, solveQP(none));
  });

  test('the tangency problem shape: homogeneous rows, zero lower bounds, no upper bounds', () => {
    const n = 60;
    const { normal } = rng(23);
    const Q = gram(n, 80, normal, 1e-3);
    const mu = Float64Array.from({ length: n }, () => 0.05 + 0.1 * normal());
    const A = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) - 0.1));
    const p: QPProblem = { n, Q, eq: { A: [mu], b: [1] }, ineq: { A, b: A.map(() => 0) }, lb: new Float64Array(n), ub: new Float64Array(n).fill(Infinity) };
    expectKKT(p, solveQP(p));
  });
});

describe('infeasible problems raise QPInfeasibleError', () => {
  const n = 10;
  const Q = gram(n, 15, rng(9).normal, 0.1);
  const ones = new Float64Array(n).fill(1);
  test.each<[string, QPProblem]>([
    ['caps below the budget', { n, Q, eq: { A: [ones], b: [1] }, lb: new Float64Array(n), ub: new Float64Array(n).fill(0.09) }],
    ['minimums above the budget', { n, Q, eq: { A: [ones], b: [1] }, lb: new Float64Array(n).fill(0.11), ub: new Float64Array(n).fill(1) }],
    ['contradictory inequalities', { n, Q, ineq: { A: [ones, ones.map((v) => -v)], b: [0.2, -0.5] } }],
    ['contradictory equalities', { n, Q, eq: { A: [ones, ones], b: [1, 1.1] } }],
    ['group caps below the budget', { n, Q, eq: { A: [ones], b: [1] }, ineq: { A: [ones.map((_, i) => (i < 5 ? 1 : 0)), ones.map((_, i) => (i < 5 ? 0 : 1))], b: [0.4, 0.4] }, lb: new Float64Array(n) }],
    ['all variables fixed off the budget', { n, Q, eq: { A: [ones], b: [1] }, lb: new Float64Array(n).fill(0.2), ub: new Float64Array(n).fill(0.2) }],
    ['crossed bounds', { n, Q, lb: new Float64Array(n).fill(0.2), ub: new Float64Array(n).fill(0.1) }],
  ])('%s', (_, p) => {
    expect(() => solveQP(p)).toThrow(QPInfeasibleError);
  });
});

test('an equality-only problem matches the closed form x = -Q^-1 (c + A nu), (A Q^-1 A) nu = -(b + A Q^-1 c)', () => {
  const n = 50;
  const { normal } = rng(31);
  const Q = gram(n, 70, normal, 0.05);
  const c = Float64Array.from({ length: n }, normal);
  const A = [new Float64Array(n).fill(1), Float64Array.from({ length: n }, normal), Float64Array.from({ length: n }, normal)];
  const b = [1, 0.3, -0.2];
  // Gaussian elimination with partial pivoting on [Q | I] gives Q^-1
  const M = Array.from({ length: n }, (_, i) => [...Array.from({ length: n }, (_, j) => Q[i * n + j]!), ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i]![k]!) > Math.abs(M[piv]![k]!)) piv = i;
    [M[k], M[piv]] = [M[piv]!, M[k]!];
    const d = M[k]![k]!;
    for (let j = 0; j < 2 * n; j++) M[k]![j] = M[k]![j]! / d;
    for (let i = 0; i < n; i++) if (i !== k) { const f = M[i]![k]!; if (f) for (let j = 0; j < 2 * n; j++) M[i]![j] = M[i]![j]! - f * M[k]![j]!; }
  }
  const Qinv = (v: ArrayLike<number>) => Array.from({ length: n }, (_, i) => { let s = 0; for (let j = 0; j < n; j++) s += M[i]![n + j]! * v[j]!; return s; });
  const dot = (a: ArrayLike<number>, y: ArrayLike<number>) => { let s = 0; for (let i = 0; i < n; i++) s += a[i]! * y[i]!; return s; };
  const QiA = A.map((a) => Qinv(a));
  const Qic = Qinv(c);
  const S = A.map((a) => QiA.map((q) => dot(a, q)));
  const rhs = A.map((a, k) => -(b[k]! + dot(a, Qic)));
  // 3 x 3 by Cramer's rule
  const det3 = (m: number[][]) => m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) - m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) + m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const D = det3(S);
  const nu = [0, 1, 2].map((k) => det3(S.map((row, i) => row.map((v, j) => (j === k ? rhs[i]! : v)))) / D);
  const x = Array.from({ length: n }, (_, i) => -Qic[i]! - nu.reduce((s, v, k) => s + v * QiA[k]![i]!, 0));
  const p: QPProblem = { n, Q, c, eq: { A, b } };
  const sol = solveQP(p);
  for (let i = 0; i < n; i++) expect(Math.abs(sol.x[i]! - x[i]!)).toBeLessThan(1e-11 * Math.max(1, Math.abs(x[i]!)));
  for (let k = 0; k < 3; k++) expect(Math.abs(sol.nu[k]! - nu[k]!)).toBeLessThan(1e-10 * Math.max(1, Math.abs(nu[k]!)));
  expectKKT(p, sol);
});
