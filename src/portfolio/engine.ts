/**
 * What an allocation engine receives and returns, and the constraint helpers the engines share. The stage builds one
 * AllocationProblem (annualised covariance and expected returns, bounds, group caps, extra linear constraints) and
 * every engine must return weights that satisfy all of it; the stage checks that before accepting them.
 */
import { inputError, runError, type FractalError } from '../core/errors.js';
import type { Params, Universe } from '../core/plugin.js';
import { solveQP, type QPProblem } from '../math/qp.js';

export interface AllocationProblem {
  /** Asset ids: atom ids when synthesis ran, else symbols. */
  symbols: string[];
  /** The physical symbol of each asset (an atom's symbol; the symbol itself otherwise). */
  physical?: string[];
  n: number;
  /** Annualised, regularised (positive definite) covariance, row-major n x n. */
  cov: Float64Array;
  /** Annualised expected returns. */
  mu: Float64Array;
  /** Pairwise (or complete) Pearson correlation, pandas semantics; NaN where undefined. */
  corr: Float64Array;
  riskFreeRate: number;
  budget: number;
  lb: Float64Array;
  ub: Float64Array;
  /** Caps on the total weight of groups of assets (clusters, regime caps), as fractions of the budget. */
  groups: { name: string; members: number[]; cap: number }[];
  /** Extra linear constraints a'w <= b (market-neutral beta band). */
  linear: { name: string; a: Float64Array; b: number }[];
  /** Conviction per asset (higher is better) when a ranker ran. */
  conviction?: Float64Array;
  /** The daily returns the estimates came from: column-major, `values[j * days + t]`, NaN where missing. */
  returns?: { values: Float64Array; days: number };
  /** Largest gross exposure Σ|w| (checked on every engine's result). */
  gross?: number;
}

export interface EngineResult {
  weights: Float64Array;
  diagnostics?: Record<string, unknown>;
  /** Inputs the engine changed by a declared rule instead of failing ({kind, ...details}); audited and kept per backtest window. */
  adjustments?: ({ kind: string } & Record<string, unknown>)[];
}

/** An allocation engine; `P` is its params type (derived from its params schema: src/core/params.ts). */
export interface AllocationEngine<P = Params> {
  run(problem: AllocationProblem, params: P): EngineResult;
  /** Params checked against the venue's symbols before the run (see Stage.preflight); `param` relative to the engine's params. */
  preflight?(params: P, universe: Universe): FractalError[];
}

/** The problem's constraints in QP form: sum w = budget, groups and linear rows as a'w <= b, bounds. */
export function qpConstraints(p: AllocationProblem): Pick<QPProblem, 'eq' | 'ineq' | 'lb' | 'ub'> {
  const A: Float64Array[] = [];
  const b: number[] = [];
  for (const g of p.groups) {
    const row = new Float64Array(p.n);
    for (const i of g.members) row[i] = 1;
    A.push(row);
    b.push(g.cap * p.budget);
  }
  for (const l of p.linear) {
    A.push(l.a);
    b.push(l.b);
  }
  return { eq: { A: [new Float64Array(p.n).fill(1)], b: [p.budget] }, ineq: { A, b }, lb: p.lb, ub: p.ub };
}

/** Largest violation of the problem's constraints by w (0 when feasible). */
export function violation(p: AllocationProblem, w: Float64Array): number {
  let worst = 0;
  let sum = 0;
  for (let i = 0; i < p.n; i++) {
    const x = w[i]!;
    if (!Number.isFinite(x)) return Infinity;
    sum += x;
    worst = Math.max(worst, p.lb[i]! - x, x - p.ub[i]!);
  }
  worst = Math.max(worst, Math.abs(sum - p.budget));
  for (const g of p.groups) worst = Math.max(worst, g.members.reduce((s, i) => s + w[i]!, 0) - g.cap * p.budget);
  for (const l of p.linear) {
    let s = 0;
    for (let i = 0; i < p.n; i++) s += l.a[i]! * w[i]!;
    worst = Math.max(worst, s - l.b);
  }
  if (p.gross !== undefined) worst = Math.max(worst, w.reduce((a, x) => a + Math.abs(x), 0) - p.gross);
  return worst;
}

export const FEASIBILITY_TOLERANCE = 1e-9;

/**
 * The feasible portfolio closest to `target` in the Euclidean norm (a QP with Q = I). Heuristic engines use it when
 * their natural weights break a bound or a cap; the result is recorded as `projected` in their diagnostics.
 */
export function projectOntoConstraints(p: AllocationProblem, target: Float64Array): Float64Array {
  const Q = new Float64Array(p.n * p.n);
  for (let i = 0; i < p.n; i++) Q[i * p.n + i] = 1;
  const c = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) c[i] = -target[i]!;
  return solveQP({ n: p.n, Q, c, ...qpConstraints(p) }).x;
}

/** Returns target when it is feasible, else its projection; says which. */
export function feasibleOrProjected(p: AllocationProblem, target: Float64Array): EngineResult {
  if (violation(p, target) <= FEASIBILITY_TOLERANCE) return { weights: target, diagnostics: { projected: false } };
  return { weights: projectOntoConstraints(p, target), diagnostics: { projected: true } };
}

/**
 * A budget of 0 where every asset's bounds allow a weight of 0: all-zero weights satisfy every constraint, and the
 * engines return them (equal weight is budget / N, the least risk is none), an allocation of nothing: refused at
 * `budget`. A zero budget stands when bounds force positions (a long leg at [1, 1], a short at [-1, -1]).
 */
export function emptyBookProblem(budget: number, bounds: [number, number][]): FractalError | undefined {
  if (budget !== 0 || bounds.some(([lo, hi]) => lo > 0 || hi < 0)) return undefined;
  return inputError('ZERO_BUDGET', 'allocation: a budget of 0 where every bound allows 0 allocates nothing (every weight would be 0)', undefined, { param: ['budget'] });
}

export function requireLongOnly(p: AllocationProblem, engine: string): void {
  for (let i = 0; i < p.n; i++) {
    if (p.lb[i]! < 0) throw runError('ENGINE_NEEDS_LONG_ONLY', `${engine} allocates long-only weights, but ${p.symbols[i]} has a negative lower bound ${p.lb[i]}`);
  }
  if (!(p.budget > 0)) throw runError('ENGINE_NEEDS_LONG_ONLY', `${engine} needs a positive budget, got ${p.budget}`);
}

export function portfolioVariance(cov: Float64Array, n: number, w: ArrayLike<number>): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += cov[i * n + j]! * w[j]!;
    v += w[i]! * s;
  }
  return v;
}
