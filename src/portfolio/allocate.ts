/**
 * The allocation decision as a function over typed arrays: one window of returns, the constraints as arrays and the
 * engines to try in order → the weights and the record of how they were reached (estimates, attempts, the engine
 * that answered, the beta tolerance that held). No context, no artifacts: the allocation stage (the selection
 * funnel) and meta_optimize (across sleeves) turn their inputs into these arrays, call `allocate`, and write what
 * it returns. `audit`, when given, is told each step as it happens (what the stage's audit ledger records); nothing
 * `allocate` returns depends on it.
 */
import { FractalError, runError, type ParamPath } from '../core/errors.js';
import type { EngineMeta, Params, PluginRef, PluginResolver } from '../core/plugin.js';
import { estimateRisk, expectedReturns, regulariseCovariance } from '../math/covariance-estimators.js';
import { QPInfeasibleError } from '../math/qp.js';
import { messageOf } from '../util/thrown.js';
import { FEASIBILITY_TOLERANCE, violation, type AllocationEngine, type AllocationProblem } from './engine.js';

/** Reports a step as it happens (an audit event name and its data). */
export type AuditNote = (event: string, data: Record<string, unknown>) => void;

/** One window of returns of the assets to allocate: column-major `values[j * days + t]`, NaN where missing. */
export interface AssetReturns {
  values: Float64Array;
  days: number;
  /** Asset ids (atom ids when synthesis ran, sleeve names in a meta, else symbols). */
  symbols: string[];
  /** The physical symbol of each asset, when they differ (atoms). */
  physical?: string[];
  /** Conviction per asset (higher is better) when a ranker ran. */
  conviction?: Float64Array;
}

/** Everything the weights must satisfy, per asset where it is per asset. */
export interface AllocationConstraints {
  budget: number;
  lb: Float64Array;
  ub: Float64Array;
  /** Caps on the total weight of groups of assets (clusters), as fractions of the budget. */
  groups: AllocationProblem['groups'];
  /** Linear rows a'w <= b that always hold (direction caps). */
  linear: AllocationProblem['linear'];
  /** Largest gross exposure Σ|w|. */
  gross?: number;
  /** A market-neutral band |Σ beta_i w_i| <= tolerance, tried at each tolerance in order until an engine meets it. */
  beta?: { beta: Float64Array; tolerances: number[] };
}

/** How risk and return are estimated from the window. */
export interface Estimation {
  estimator: 'sample' | 'ledoit_wolf' | 'ewma';
  missing: 'complete' | 'pairwise';
  halflife?: number;
  periods: number;
  expectedReturns: 'mean' | 'cagr';
  riskFreeRate: number;
}

/** An engine to try: the instance, its params, and where its params sit in the caller's params (for input errors). */
export interface EngineChoice {
  name: string;
  engine: AllocationEngine;
  params: Params;
  /** The engine's declared need (EngineMeta.needs): a covariance engine is not run on fewer days than assets. */
  needs: 'covariance' | 'variances' | 'nothing';
  param: ParamPath;
}

/** An engine (at a beta tolerance) that did not answer, and why. */
export interface AllocationAttempt {
  engine: string;
  beta_tolerance?: number;
  error: string;
  code?: string;
}

/** The estimates the engines saw. */
export interface AllocationEstimates {
  /** Annualised, regularised covariance (row-major n × n) and expected returns. */
  cov: Float64Array;
  mu: Float64Array;
  /** The estimator's Ledoit-Wolf shrinkage, when it shrank. */
  shrinkage?: number;
  /** The ridge added to make the covariance positive definite, and why. */
  regularisation: number;
  regularisationReason?: string;
}

export interface Allocation {
  /** The engine that answered (`engines[index]`), or null when every one failed (`attempts` says why). */
  engine: string | null;
  index: number;
  /** Weight per asset (empty when every engine failed). */
  weights: Float64Array;
  diagnostics: Record<string, unknown>;
  /** Inputs the engine changed by a declared rule (EngineResult.adjustments). */
  adjustments: ({ kind: string } & Record<string, unknown>)[];
  /** The beta tolerance the weights meet, when a beta band was asked for. */
  betaTolerance?: number;
  /** Every engine (and tolerance) tried before the answer, in order. */
  attempts: AllocationAttempt[];
  estimates: AllocationEstimates;
}

/** The engine and its declared fallbacks as `allocate` tries them, their params placed as the params name them. */
export function engineChoices(refs: PluginRef[], plugins: PluginResolver): EngineChoice[] {
  return refs.map((ref, k) => ({
    name: ref.name,
    engine: plugins.get<AllocationEngine>('engine', ref.name),
    params: ref.params ?? {},
    needs: plugins.meta<EngineMeta>('engine', ref.name).needs,
    param: k === 0 ? ['engine', 'params'] : ['fallback', k - 1, 'params'],
  }));
}

/** The columns with at least two returns (the assets an allocation can estimate anything for). */
export function columnsWithReturns(values: Float64Array, columns: number, days: number): number[] {
  const keep: number[] = [];
  for (let j = 0; j < columns; j++) {
    let c = 0;
    for (let t = 0; t < days && c < 2; t++) if (values[j * days + t] === values[j * days + t]) c++;
    if (c >= 2) keep.push(j);
  }
  return keep;
}

/**
 * Estimates risk and return on the window, then tries each engine in order (at each beta tolerance in order) until
 * one returns weights that satisfy every constraint. A covariance engine is not run on no more days than assets.
 * An input error an engine raises (a param it refuses) is thrown, placed under its params; any other failure is an
 * attempt and the next engine is tried. `assets` names the assets in the attempts' words ("assets", "sleeves").
 */
export function allocate(returns: AssetReturns, constraints: AllocationConstraints, engines: EngineChoice[], estimation: Estimation, audit: AuditNote = () => {}, assets = 'assets'): Allocation {
  const { values, days: T, symbols } = returns;
  const n = symbols.length;
  const { budget } = constraints;
  const matrix = { values, nSymbols: n, nDays: T };
  // The covariance and the correlation from one pass over the window where the estimator is the sample's.
  const est = estimateRisk(matrix, { estimator: estimation.estimator, missing: estimation.missing, halflife: estimation.halflife, periods: estimation.periods });
  const reg = regulariseCovariance(est.cov, n);
  if (reg.shrinkage > 0 || reg.reason) audit('covariance_regularised', { shrinkage: reg.shrinkage, reason: reg.reason ?? null });
  const mu = expectedReturns(matrix, estimation.expectedReturns, estimation.periods);
  for (let i = 0; i < n; i++) if (mu[i] !== mu[i]) mu[i] = 0;
  const corr = est.corr;
  const estimates: AllocationEstimates = { cov: reg.cov, mu, regularisation: reg.shrinkage, ...(est.shrinkage !== undefined ? { shrinkage: est.shrinkage } : {}), ...(reg.reason ? { regularisationReason: reg.reason } : {}) };

  const beta = constraints.beta;
  const tolerances: (number | undefined)[] = beta ? beta.tolerances : [undefined];
  const attempts: AllocationAttempt[] = [];
  for (const [index, choice] of engines.entries()) {
    const name = choice.name;
    // A sample covariance from no more days than assets is singular: engines built on it are not run on it.
    if (choice.needs === 'covariance' && T <= n) {
      attempts.push({ engine: name, error: `${name} needs a covariance matrix, and ${T} day(s) of returns for ${n} ${assets} do not determine one (it needs more days than assets)`, code: 'TOO_FEW_OBSERVATIONS' });
      audit('engine_failed', { engine: name, attempts: attempts.filter((a) => a.engine === name), days: T, assets: n });
      continue;
    }
    for (const tol of tolerances) {
      const linear: AllocationProblem['linear'] = [...constraints.linear];
      if (beta && tol !== undefined) linear.push({ name: 'beta_max', a: beta.beta, b: tol }, { name: 'beta_min', a: beta.beta.map((x) => -x), b: tol });
      const problem: AllocationProblem = {
        symbols, ...(returns.physical ? { physical: returns.physical } : {}), n, cov: reg.cov, mu, corr, riskFreeRate: estimation.riskFreeRate, budget,
        lb: constraints.lb, ub: constraints.ub, groups: constraints.groups, linear, ...(returns.conviction ? { conviction: returns.conviction } : {}),
        returns: { values, days: T }, ...(constraints.gross !== undefined ? { gross: constraints.gross } : {}),
      };
      try {
        const r = choice.engine.run(problem, choice.params);
        const v = violation(problem, r.weights);
        if (!(v <= FEASIBILITY_TOLERANCE * Math.max(1, Math.abs(budget)) * 10)) throw runError('ENGINE_INFEASIBLE_RESULT', `${name} returned weights that break a constraint by ${v.toExponential(2)}`);
        return { engine: name, index, weights: r.weights, diagnostics: r.diagnostics ?? {}, adjustments: r.adjustments ?? [], ...(tol !== undefined ? { betaTolerance: tol } : {}), attempts, estimates };
      } catch (e) {
        // A param the engine refuses (a budget for a symbol not in the universe) is the input's fault: no fallback hides it.
        if (e instanceof FractalError && e.exitCode === 2) throw e.underParam(choice.param);
        const error = e instanceof QPInfeasibleError ? 'infeasible: the constraints have no common portfolio' : messageOf(e);
        attempts.push({ engine: name, ...(tol !== undefined ? { beta_tolerance: tol } : {}), error, ...(e instanceof FractalError ? { code: e.code } : {}) });
        if (tol !== undefined) audit('beta_relaxation', { engine: name, tolerance: tol, error });
      }
    }
    audit('engine_failed', { engine: name, attempts: attempts.filter((a) => a.engine === name) });
  }
  return { engine: null, index: -1, weights: new Float64Array(0), diagnostics: {}, adjustments: [], attempts, estimates };
}

/** The cluster caps an allocation runs under, and what was asked and applied (metrics.json's `cluster_cap`). */
export interface ClusterCaps {
  groups: AllocationProblem['groups'];
  record: { requested: number; regime: string | null; regime_cap: number | null; applied: number; relaxed: boolean; rule?: 'equal_share' };
  /** Set when the cap was raised by the equal-share rule: the adjustment to record. */
  relaxed?: { from: number; to: number; clusters: number; reason: string };
  /** The most the capped clusters (and the unclustered assets) can hold. */
  capacity: number;
}

/**
 * Cluster caps: the lower of the requested cap and the regime's, on every cluster label present (`labels[i]`,
 * undefined for an asset without a cluster). When the clusters capped there cannot hold the budget (fewer than
 * 1/cap clusters), 'relax' raises the cap to an equal share per cluster (1/k), 'refuse' returns `refused` with why:
 * never silently.
 */
export function clusterCaps(labels: (number | undefined)[], ub: Float64Array, budget: number, requested: number, regime: string | undefined, regimeCap: number | undefined, onInfeasible: 'relax' | 'refuse'): ClusterCaps | { refused: string } {
  let cap = regimeCap === undefined ? requested : Math.min(requested, regimeCap);
  const byLabel = new Map<number, number[]>();
  labels.forEach((l, i) => {
    if (l !== undefined) byLabel.set(l, [...(byLabel.get(l) ?? []), i]);
  });
  const capacityAt = (c: number) =>
    [...byLabel.values()].reduce((acc, members) => acc + Math.min(c * budget, members.reduce((a, i) => a + ub[i]!, 0)), 0)
    + labels.reduce((acc: number, l, i) => acc + (l !== undefined ? 0 : ub[i]!), 0);
  let record: ClusterCaps['record'] = { requested, regime: regime ?? null, regime_cap: regimeCap ?? null, applied: cap, relaxed: false };
  let relaxed: ClusterCaps['relaxed'];
  if (capacityAt(cap) < budget - 1e-12 && byLabel.size > 0) {
    const to = Math.max(cap, 1 / byLabel.size);
    const reason = `${byLabel.size} cluster(s) capped at ${cap} cannot hold the budget ${budget}`;
    if (onInfeasible === 'refuse') return { refused: reason };
    relaxed = { from: cap, to, clusters: byLabel.size, reason };
    cap = to;
    record = { ...record, applied: cap, relaxed: true, rule: 'equal_share' };
  }
  const groups: AllocationProblem['groups'] = [];
  for (const [l, members] of byLabel) groups.push({ name: `cluster_${l}`, members, cap });
  return { groups, record, ...(relaxed ? { relaxed } : {}), capacity: capacityAt(cap) };
}
