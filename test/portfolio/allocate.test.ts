/**
 * allocate (src/portfolio/allocate.ts) on small windows whose answers are worked out by hand: the minimum-variance
 * weights of two uncorrelated assets (w ∝ 1/σ²), the fallback chain and its record, the beta band relaxed
 * tolerance by tolerance, the cluster-cap rule.
 */
import { runError, inputError } from '../../src/core/errors.js';
import { allocate, clusterCaps, columnsWithReturns, type AllocationConstraints, type EngineChoice, type Estimation } from '../../src/portfolio/allocate.js';
import type { AllocationEngine, AllocationProblem } from '../../src/portfolio/engine.js';
import { MinVarianceEngine } from '../../stages/allocation/engines/min-variance.engine.js';

const ESTIMATION: Estimation = { estimator: 'sample', missing: 'pairwise', periods: 252, expectedReturns: 'mean', riskFreeRate: 0 };
/** A = ±a alternating, B = ±b in pairs: both mean 0, their cross products cancel (covariance 0), variances 8a²/7 and 8b²/7. */
function uncorrelated(a: number, b: number) {
  const A = [a, -a, a, -a, a, -a, a, -a];
  const B = [b, b, -b, -b, b, b, -b, -b];
  return { values: Float64Array.from([...A, ...B]), days: 8, symbols: ['A', 'B'] };
}
const longOnly = (n: number, budget = 1): AllocationConstraints => ({ budget, lb: new Float64Array(n), ub: new Float64Array(n).fill(1), groups: [], linear: [] });
const choice = (name: string, engine: AllocationEngine, needs: EngineChoice['needs'] = 'nothing', k = 0): EngineChoice => ({ name, engine, params: {}, needs, param: k === 0 ? ['engine', 'params'] : ['fallback', k - 1, 'params'] });
const fixed = (w: number[]): AllocationEngine => ({ run: () => ({ weights: Float64Array.from(w) }) });
const failing = (err: unknown): AllocationEngine => ({ run: () => { throw err; } });

test('min_variance on two uncorrelated assets: w_A = σB² / (σA² + σB²) = b² / (a² + b²)', () => {
  const a = allocate(uncorrelated(0.01, 0.02), longOnly(2), [choice('min_variance', new MinVarianceEngine(), 'covariance')], ESTIMATION);
  expect(a.engine).toBe('min_variance');
  expect(a.attempts).toEqual([]);
  expect(a.weights[0]).toBeCloseTo(0.0004 / 0.0005, 6);
  expect(a.weights[1]).toBeCloseTo(0.0001 / 0.0005, 6);
  // The annualised sample covariance the engines saw: diag(8a²/7, 8b²/7) × 252, off-diagonal 0.
  expect(a.estimates.cov[0]).toBeCloseTo((8 * 0.0001 / 7) * 252, 12);
  expect(a.estimates.cov[1]).toBeCloseTo(0, 12);
  expect(a.estimates.cov[3]).toBeCloseTo((8 * 0.0004 / 7) * 252, 12);
});

test('the fallback chain: a failing engine and one breaking a constraint are recorded, the next answers', () => {
  const notes: string[] = [];
  const a = allocate(uncorrelated(0.01, 0.02), longOnly(2), [
    choice('broken', failing(new Error('no solution')), 'nothing', 0),
    choice('over_budget', fixed([0.9, 0.9]), 'nothing', 1),
    choice('half', fixed([0.5, 0.5]), 'nothing', 2),
  ], ESTIMATION, (event) => notes.push(event));
  expect(a.engine).toBe('half');
  expect(a.index).toBe(2);
  expect(Array.from(a.weights)).toEqual([0.5, 0.5]);
  expect(a.attempts).toEqual([
    { engine: 'broken', error: 'no solution' },
    { engine: 'over_budget', error: expect.stringMatching(/^over_budget returned weights that break a constraint by 8\.00e-1/), code: 'ENGINE_INFEASIBLE_RESULT' },
  ]);
  expect(notes).toEqual(['engine_failed', 'engine_failed']);
});

test('a covariance engine is not run on no more days than assets; every engine failing is an answer with no engine', () => {
  let ran = false;
  const spy: AllocationEngine = { run: (p: AllocationProblem) => { ran = true; return { weights: new Float64Array(p.n) }; } };
  const two = { values: Float64Array.from([0.01, -0.01, 0.02, 0.01]), days: 2, symbols: ['A', 'B'] };
  const a = allocate(two, longOnly(2), [choice('cov', spy, 'covariance'), choice('bad', failing(runError('ENGINE_NEEDS_LONG_ONLY', 'nope')), 'nothing', 1)], ESTIMATION, undefined, 'sleeves');
  expect(ran).toBe(false);
  expect(a.engine).toBeNull();
  expect(a.weights).toHaveLength(0);
  expect(a.attempts).toEqual([
    { engine: 'cov', error: 'cov needs a covariance matrix, and 2 day(s) of returns for 2 sleeves do not determine one (it needs more days than assets)', code: 'TOO_FEW_OBSERVATIONS' },
    { engine: 'bad', error: 'nope', code: 'ENGINE_NEEDS_LONG_ONLY' },
  ]);
});

test("an engine's input error is the input's: thrown under its params, no fallback tried", () => {
  const err = inputError('UNKNOWN_SYMBOL', 'risk budget for a symbol not in the universe', undefined, { param: ['budgets', 'ZZZ'] });
  let tried = false;
  const next: AllocationEngine = { run: () => { tried = true; return { weights: Float64Array.from([0.5, 0.5]) }; } };
  expect(() => allocate(uncorrelated(0.01, 0.02), longOnly(2), [choice('first', failing(err)), choice('second', next, 'nothing', 1)], ESTIMATION))
    .toThrow(expect.objectContaining({ code: 'UNKNOWN_SYMBOL', param: ['engine', 'params', 'budgets', 'ZZZ'] }));
  expect(tried).toBe(false);
});

test('the beta band: weights of beta 0.2 break 0.05 and 0.15 and meet 0.25, each failed tolerance recorded', () => {
  const notes: [string, Record<string, unknown>][] = [];
  const constraints: AllocationConstraints = { ...longOnly(2), beta: { beta: Float64Array.from([0.1, 0.3]), tolerances: [0.05, 0.15, 0.25] } };
  // 0.5 × 0.1 + 0.5 × 0.3 = 0.2
  const a = allocate(uncorrelated(0.01, 0.02), constraints, [choice('half', fixed([0.5, 0.5]))], ESTIMATION, (e, d) => notes.push([e, d]));
  expect(a.engine).toBe('half');
  expect(a.betaTolerance).toBe(0.25);
  expect(a.attempts.map((x) => x.beta_tolerance)).toEqual([0.05, 0.15]);
  expect(notes.map(([e, d]) => [e, d.tolerance])).toEqual([['beta_relaxation', 0.05], ['beta_relaxation', 0.15]]);
});

test('columnsWithReturns keeps the columns with at least two returns', () => {
  const v = Float64Array.from([0.1, NaN, NaN, /* one */ 0.1, 0.2, NaN, /* two */ NaN, NaN, NaN]);
  expect(columnsWithReturns(v, 3, 3)).toEqual([1]);
});

describe('clusterCaps', () => {
  const ub = new Float64Array(5).fill(1);
  test('three clusters at 0.4 hold 1.2: the cap stands', () => {
    const c = clusterCaps([1, 1, 2, 3, 3], ub, 1, 0.4, undefined, undefined, 'relax');
    expect('refused' in c).toBe(false);
    if ('refused' in c) return;
    expect(c.groups).toEqual([{ name: 'cluster_1', members: [0, 1], cap: 0.4 }, { name: 'cluster_2', members: [2], cap: 0.4 }, { name: 'cluster_3', members: [3, 4], cap: 0.4 }]);
    expect(c.capacity).toBeCloseTo(1.2, 12);
    expect(c.record).toEqual({ requested: 0.4, regime: null, regime_cap: null, applied: 0.4, relaxed: false });
    expect(c.relaxed).toBeUndefined();
  });
  test('the regime cap is the lower one; two clusters at 0.25 cannot hold 1: relaxed to 1/2, or refused', () => {
    const labels = [1, 1, 2, 2, 2];
    const c = clusterCaps(labels, ub, 1, 0.3, 'TURBULENT', 0.25, 'relax');
    if ('refused' in c) throw new Error('relax refused');
    expect(c.record).toEqual({ requested: 0.3, regime: 'TURBULENT', regime_cap: 0.25, applied: 0.5, relaxed: true, rule: 'equal_share' });
    expect(c.relaxed).toEqual({ from: 0.25, to: 0.5, clusters: 2, reason: '2 cluster(s) capped at 0.25 cannot hold the budget 1' });
    expect(c.capacity).toBe(1);
    expect(clusterCaps(labels, ub, 1, 0.3, 'TURBULENT', 0.25, 'refuse')).toEqual({ refused: '2 cluster(s) capped at 0.25 cannot hold the budget 1' });
  });
  test('an asset without a cluster is held up to its own bound', () => {
    // One cluster at 0.25 (0.25) and an unclustered asset capped at 0.75: exactly the budget, no relaxation.
    const c = clusterCaps([1, 1, undefined], Float64Array.from([1, 1, 0.75]), 1, 0.25, undefined, undefined, 'refuse');
    if ('refused' in c) throw new Error(c.refused);
    expect(c.capacity).toBe(1);
    expect(c.groups).toEqual([{ name: 'cluster_1', members: [0, 1], cap: 0.25 }]);
  });
});
