/**
 * Warm starts and the sensitivity output of the QP solver: a warm start (from the active set of a related problem,
 * with or without its factor) gives the cold start's solution, and dx is the derivative of x along c + s dc.
 */
import { solveQP, type QPActiveSet, type QPProblem } from '../../src/math/qp.js';

function rng(seed: number) {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return { u, normal: () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) };
}

/** A factor-model covariance (correlated, positive definite). */
function factorCov(n: number, normal: () => number): Float64Array {
  const k = 4;
  const B = Float64Array.from({ length: n * k }, normal);
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let f = 0; f < k; f++) s += B[i * k + f]! * B[j * k + f]!;
    Q[i * n + j] = Q[j * n + i] = 0.01 * s + (i === j ? 0.02 + 0.01 * Math.abs(normal()) : 0);
  }
  return Q;
}

function problem(n: number, seed: number, caps: boolean): { base: QPProblem; mu: Float64Array } {
  const { u, normal } = rng(seed);
  const Q = factorCov(n, normal);
  const mu = Float64Array.from({ length: n }, () => 0.05 + 0.1 * normal());
  const groups = caps ? Array.from({ length: 5 }, (_, l) => Float64Array.from({ length: n }, (_, i) => (i % 5 === l ? 1 : 0))) : [];
  const base: QPProblem = {
    n, Q, eq: { A: [new Float64Array(n).fill(1)], b: [1] }, ineq: { A: groups, b: groups.map(() => 0.3) },
    lb: Float64Array.from({ length: n }, () => (u() < 0.2 ? -0.05 : 0)), ub: new Float64Array(n).fill(caps ? 1 : Math.max(0.08, 3 / n)),
  };
  return { base, mu };
}

const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const withC = (p: QPProblem, mu: Float64Array, t: number): QPProblem => ({ ...p, c: Float64Array.from(mu, (m) => -t * m) });

test.each([[40, false], [40, true], [150, false], [150, true]])('a warm-started frontier equals the cold one (n = %i, caps %s)', (n, caps) => {
  const { base, mu } = problem(n as number, 7 + (n as number), caps as boolean);
  let warm: QPActiveSet | undefined;
  let used = 0;
  // up and down the frontier, with jumps
  for (const t of [0, 0.01, 0.02, 0.05, 0.04, 0.2, 1, 0.3, 0.031, 5, 0]) {
    const p = withC(base, mu, t);
    const cold = solveQP(p);
    const hot = solveQP(p, { warmStart: warm });
    if (hot.warm) used++;
    expect(maxDiff(hot.x, cold.x)).toBeLessThan(1e-12);
    expect(Math.abs(hot.objective - cold.objective)).toBeLessThan(1e-12 * (1 + Math.abs(cold.objective)));
    expect(maxDiff(hot.muLower, cold.muLower)).toBeLessThan(1e-10);
    expect(maxDiff(hot.muUpper, cold.muUpper)).toBeLessThan(1e-10);
    expect(hot.activeSet.state).toEqual(cold.activeSet.state);
    warm = hot.activeSet;
  }
  expect(used).toBeGreaterThanOrEqual(9);
});

test('a warm start without the factor, from a foreign active set, or of the wrong size still gives the cold answer', () => {
  const { base, mu } = problem(60, 3, true);
  const p = withC(base, mu, 0.05);
  const cold = solveQP(p);
  const prev = solveQP(withC(base, mu, 0.5)).activeSet;
  const noFactor = solveQP(p, { warmStart: { state: prev.state, rows: prev.rows } });
  expect(noFactor.warm).toBe(true);
  expect(maxDiff(noFactor.x, cold.x)).toBeLessThan(1e-12);
  // everything at the upper bound and every row active: infeasible as a start, repaired
  const silly = solveQP(p, { warmStart: { state: new Uint8Array(60).fill(2), rows: [0, 1, 2, 3, 4, 5] } });
  expect(maxDiff(silly.x, cold.x)).toBeLessThan(1e-12);
  const wrong = solveQP(p, { warmStart: { state: new Uint8Array(10), rows: [] } });
  expect(wrong.warm).toBe(false);
  expect(maxDiff(wrong.x, cold.x)).toBeLessThan(1e-15);
  // a factor of another Q is not reused (a copy of Q, then a modified one)
  const Q2 = Float64Array.from(base.Q);
  for (let i = 0; i < 60; i++) Q2[i * 60 + i] = Q2[i * 60 + i]! * 1.5;
  const p2 = { ...p, Q: Q2 };
  expect(maxDiff(solveQP(p2, { warmStart: cold.activeSet }).x, solveQP(p2).x)).toBeLessThan(1e-12);
});

test('dx is the derivative of x along c + s dc while the active set holds', () => {
  const { base, mu } = problem(80, 11, true);
  const dc = Float64Array.from(mu, (m) => -m);
  for (const t of [0, 0.03, 0.3]) {
    const a = solveQP(withC(base, mu, t), { direction: dc });
    const h = 1e-7;
    const b = solveQP(withC(base, mu, t + h), { warmStart: a.activeSet });
    if (b.activeSet.state.join() !== a.activeSet.state.join() || b.activeSet.rows.join() !== a.activeSet.rows.join()) continue;
    for (let i = 0; i < 80; i++) expect(Math.abs(a.x[i]! + h * a.dx![i]! - b.x[i]!)).toBeLessThan(1e-13);
    // fixed variables do not move
    for (let i = 0; i < 80; i++) if (a.activeSet.state[i] !== 0) expect(a.dx![i]).toBe(0);
  }
});
