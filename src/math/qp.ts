/**
 * Dense convex QP:  minimise 1/2 x'Qx + c'x  subject to  E x = e,  G x <= g,  lb <= x <= ub.
 *
 * Solved by the Goldfarb-Idnani dual active-set method (the `quadprog` package, a port of Turlach's Fortran used by
 * R's quadprog): exact up to rounding (it terminates at a vertex of the active-set lattice, no tolerances on the
 * objective), and it reports infeasibility as such. Q must be symmetric positive definite (callers regularise the
 * covariance first, see regulariseCovariance). Infinite bounds are dropped. Multipliers are returned with the
 * convention  Qx + c + E'nu + G'lambda - mu_lb + mu_ub = 0,  lambda, mu >= 0.
 */
import quadprog from 'quadprog';

export interface QPProblem {
  n: number;
  /** Row-major n x n, symmetric positive definite. */
  Q: Float64Array;
  c?: Float64Array;
  /** Equality rows (each length n) and right-hand sides. */
  eq?: { A: Float64Array[]; b: number[] };
  /** Inequality rows a'x <= b. */
  ineq?: { A: Float64Array[]; b: number[] };
  lb?: Float64Array;
  ub?: Float64Array;
}

export interface QPSolution {
  x: Float64Array;
  objective: number;
  nu: Float64Array;
  lambda: Float64Array;
  muLower: Float64Array;
  muUpper: Float64Array;
  iterations: number;
}

export class QPInfeasibleError extends Error {
  constructor(message = 'the constraints are inconsistent (no feasible point)') {
    super(message);
    this.name = 'QPInfeasibleError';
  }
}

export function solveQP(p: QPProblem): QPSolution {
  const { n, Q } = p;
  if (Q.length !== n * n) throw new Error(`Q has ${Q.length} entries, expected ${n}^2`);
  const eqA = p.eq?.A ?? [];
  const eqB = p.eq?.b ?? [];
  const inA = p.ineq?.A ?? [];
  const inB = p.ineq?.b ?? [];
  // Columns of quadprog's Amat: constraint k is a_k'x >= b_k; equalities first.
  type Col = { kind: 'eq' | 'in' | 'lb' | 'ub'; index: number; a?: Float64Array; b: number; sign: 1 | -1 };
  const cols: Col[] = [];
  eqA.forEach((a, i) => cols.push({ kind: 'eq', index: i, a, b: eqB[i]!, sign: 1 }));
  inA.forEach((a, i) => cols.push({ kind: 'in', index: i, a, b: -inB[i]!, sign: -1 }));
  if (p.lb) for (let i = 0; i < n; i++) if (Number.isFinite(p.lb[i]!)) cols.push({ kind: 'lb', index: i, b: p.lb[i]!, sign: 1 });
  if (p.ub) for (let i = 0; i < n; i++) if (Number.isFinite(p.ub[i]!)) cols.push({ kind: 'ub', index: i, b: -p.ub[i]!, sign: -1 });
  const q = cols.length;
  const D: number[][] = [[]];
  for (let i = 0; i < n; i++) {
    const row: number[] = [0];
    for (let j = 0; j < n; j++) row.push(Q[i * n + j]!);
    D.push(row);
  }
  const d: number[] = [0];
  for (let i = 0; i < n; i++) d.push(-(p.c?.[i] ?? 0));
  const A: number[][] = [[]];
  for (let i = 0; i < n; i++) A.push(new Array<number>(q + 1).fill(0));
  const bvec: number[] = [0];
  cols.forEach((col, k) => {
    if (col.a) for (let i = 0; i < n; i++) A[i + 1]![k + 1] = col.sign * col.a[i]!;
    else A[col.index + 1]![k + 1] = col.sign;
    bvec.push(col.b);
  });
  if (q === 0) {
    // quadprog needs at least one column: add a vacuous one.
    for (let i = 0; i < n; i++) A[i + 1]!.push(0);
    bvec.push(-1);
  }
  const out = quadprog.solveQP(D, d, A, bvec, eqA.length);
  if (out.message) {
    if (/inconsistent/.test(out.message)) throw new QPInfeasibleError();
    throw new Error(`QP solver: ${out.message}`);
  }
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = out.solution[i + 1]!;
  const nu = new Float64Array(eqA.length);
  const lambda = new Float64Array(inA.length);
  const muLower = new Float64Array(n);
  const muUpper = new Float64Array(n);
  cols.forEach((col, k) => {
    const l = out.Lagrangian[k + 1] ?? 0;
    if (col.kind === 'eq') nu[col.index] = -l;
    else if (col.kind === 'in') lambda[col.index] = l;
    else if (col.kind === 'lb') muLower[col.index] = l;
    else muUpper[col.index] = l;
  });
  // quadprog flips an equality's column internally when it is approached from the other side, so the sign of its
  // reported multiplier is unreliable: recover nu from stationarity instead, (E E') nu = -E r with
  // r = Qx + c + G'lambda - mu_lb + mu_ub (exact at the solution, so least squares is exact too).
  if (eqA.length) {
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = p.c?.[i] ?? 0;
      for (let j = 0; j < n; j++) s += Q[i * n + j]! * x[j]!;
      r[i] = s - muLower[i]! + muUpper[i]!;
    }
    inA.forEach((a, k) => { for (let i = 0; i < n; i++) r[i] = r[i]! + lambda[k]! * a[i]!; });
    const m = eqA.length;
    const M = new Float64Array(m * m);
    const rhs = new Float64Array(m);
    for (let a = 0; a < m; a++) {
      for (let b = 0; b < m; b++) { let s = 0; for (let i = 0; i < n; i++) s += eqA[a]![i]! * eqA[b]![i]!; M[a * m + b] = s; }
      let s = 0;
      for (let i = 0; i < n; i++) s -= eqA[a]![i]! * r[i]!;
      rhs[a] = s;
    }
    // Gaussian elimination with partial pivoting (m is tiny).
    for (let k = 0; k < m; k++) {
      let piv = k;
      for (let a = k + 1; a < m; a++) if (Math.abs(M[a * m + k]!) > Math.abs(M[piv * m + k]!)) piv = a;
      if (piv !== k) { for (let b = 0; b < m; b++) { const t = M[k * m + b]!; M[k * m + b] = M[piv * m + b]!; M[piv * m + b] = t; } const t = rhs[k]!; rhs[k] = rhs[piv]!; rhs[piv] = t; }
      const d = M[k * m + k]!;
      if (d === 0) continue;
      for (let a = k + 1; a < m; a++) { const f = M[a * m + k]! / d; for (let b = k; b < m; b++) M[a * m + b] = M[a * m + b]! - f * M[k * m + b]!; rhs[a] = rhs[a]! - f * rhs[k]!; }
    }
    for (let k = m - 1; k >= 0; k--) { let s = rhs[k]!; for (let b = k + 1; b < m; b++) s -= M[k * m + b]! * nu[b]!; nu[k] = M[k * m + k] === 0 ? 0 : s / M[k * m + k]!; }
  }
  let objective = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += Q[i * n + j]! * x[j]!;
    objective += 0.5 * x[i]! * s + (p.c?.[i] ?? 0) * x[i]!;
  }
  return { x, objective, nu, lambda, muLower, muUpper, iterations: out.iterations[1] ?? 0 };
}
