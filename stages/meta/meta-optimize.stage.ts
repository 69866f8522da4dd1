/**
 * meta_optimize: the meta walk-forward. At each meta rebalance (the first once `train_window` days of the sleeves'
 * out-of-sample returns exist, then every `step_size` days) any allocation engine, with its fallbacks, allocates
 * across the sleeves on their out-of-sample returns of the last `train_window` days up to that day only; the
 * weights are held with drift for `test_window` days, the meta's trades charged on the physical notional they
 * flatten to (walk-forward.ts). The meta's returns are those chained held results, out of sample at every day;
 * its final weights are one more decision at the last day. When an optimisation fails, the equal-weight proxy
 * stands in for that rebalance (recorded) unless `on_failure: fail`: a child meta that cannot optimise degrades
 * instead of failing its parent.
 */
import type { MetaContext } from '../../src/core/context.js';
import { FractalError, inputError } from '../../src/core/errors.js';
import { int, num, oneOfStr, params, pluginRef, type Static } from '../../src/core/params.js';
import type { PreflightEnv, Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { isoFromDay } from '../../src/util/dates.js';
import { ALLOCATION_PARAMS, CAP_PARAMS } from '../../src/portfolio/allocation-params.js';
import type { Simulator } from '../../src/portfolio/simulator.js';
import { allocateSleeves } from './allocate-sleeves.js';
import { holdingsAt, metaWalkForward, rebalanceView, type MetaDecision } from './walk-forward.js';
import { messageOf } from '../../src/util/thrown.js';

const PARAMS = params({
  ...ALLOCATION_PARAMS,
  ...CAP_PARAMS,
  on_failure: oneOfStr(['equal_weight', 'fail'] as const, 'When an optimisation fails: the equal-weight proxy for that rebalance (recorded), or fail the run.', 'equal_weight'),
  train_window: int("Days of the sleeves' out-of-sample returns each meta decision sees (the meta's record starts after the first of them).", 90, { min: 2 }),
  test_window: int('Days each meta decision is held (when shorter than step_size the book is sold and the rest is cash).', 30, { min: 1 }),
  step_size: int('Days between meta rebalances.', 30, { min: 1 }),
  slippage_bps: num("Slippage on the meta's physical traded notional, basis points.", 5, { min: 0 }),
  commission_bps: num("Commission on the meta's physical traded notional, basis points.", 1, { min: 0 }),
  simulator: pluginRef('simulator', 'How the sleeves are held between meta rebalances.', 'vectorized'),
});
export type MetaOptimizeParams = Static<typeof PARAMS>;

export class MetaOptimizeStage implements Stage<MetaContext, MetaOptimizeParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'meta_optimize',
    description: "Walk-forward allocation across the sleeves: any allocation engine on their out-of-sample returns up to each meta rebalance, held with drift and costs; an equal-weight proxy stands in when it fails.",
    documents: ['meta'],
    requires: ['sleeve_returns'],
    provides: ['meta_weights', 'meta_returns'],
    params: PARAMS,
  };

  /** Sleeves are return streams without bars: an order-level simulator has nothing to fill at. Refused before the sleeves run. */
  preflight(p: MetaOptimizeParams, env: PreflightEnv): FractalError[] {
    const name = p.simulator.name;
    return env.plugins.get<Simulator>('simulator', name).hold ? [] : [needsBars(name)];
  }

  async execute(ctx: MetaContext, p: MetaOptimizeParams, env: StageEnv): Promise<MetaContext> {
    const R = ctx.sleeve_returns!;
    const results = ctx.sleeve_results!;
    const names = R.symbols;
    const T = R.dates.length;
    const train = p.train_window;
    if (T < train + 2)
      throw inputError('META_TOO_SHORT', `the sleeves share ${T} days of out-of-sample returns (${isoFromDay(R.dates[0])} to ${isoFromDay(R.dates[T - 1])}); meta_optimize.train_window ${train} leaves nothing to hold`, "Lower meta_optimize's train_window, or give the sleeves longer out-of-sample records (more history, shorter train windows).", { param: ['train_window'] });
    const ppy = p.periods_per_year ?? ctx.periods_per_year ?? 252;
    const budget = p.budget ?? 1;
    const simName = p.simulator.name;
    const simulator = env.plugins.get<Simulator>('simulator', simName);
    if (!simulator.hold) throw needsBars(simName);
    const holder = simulator as Required<Pick<Simulator, 'hold'>>;

    const decide = (from: number, to: number, eligible: boolean[]): MetaDecision => {
      const cols = names.map((_, j) => j).filter((j) => eligible[j]);
      const weights = new Float64Array(names.length);
      if (!cols.length) return { weights, engine: 'cash', cash_reason: 'no sleeve is eligible' };
      const L = to - from + 1;
      const values = new Float64Array(cols.length * L);
      cols.forEach((j, k) => values.set(R.values.subarray(j * T + from, j * T + to + 1), k * L));
      try {
        const a = allocateSleeves({ values, nSymbols: cols.length, nDays: L }, cols.map((j) => names[j]), { ...p, periods_per_year: ppy }, env.plugins, ppy);
        cols.forEach((j, k) => (weights[j] = a.weights[k]));
        return { weights, engine: a.engine, attempts: a.attempts };
      } catch (err) {
        // A param the run cannot meet (a budget for an unknown sleeve) is the input's fault: no proxy hides it.
        if (p.on_failure === 'fail' || (err instanceof FractalError && err.exitCode === 2)) throw err;
        cols.forEach((j) => (weights[j] = budget / cols.length));
        return { weights, engine: 'equal_weight_proxy', proxy_reason: messageOf(err) };
      }
    };
    const wf = metaWalkForward({
      dates: R.dates, names, values: R.values, train, test: p.test_window, step: p.step_size,
      costRate: (p.slippage_bps + p.commission_bps) / 10_000,
      healthThreshold: ctx.health_threshold ?? 0,
      calendar: ctx.sleeve_calendar,
      physicalAt: (s, day) => holdingsAt(results[s].holdings, day),
      decide, simulator: holder,
    });

    for (const r of wf.rebalances) {
      const view = rebalanceView(r);
      if (r.proxy_reason) {
        env.audit.event('meta_optimize', 'equal_weight_proxy', { as_of: view.as_of, reason: r.proxy_reason, sleeves: names.filter((s) => r.weights[s] !== 0) });
        env.log(`meta_optimize: as of ${view.as_of}, ${r.proxy_reason}; the equal-weight proxy stands in`);
      }
      env.audit.event('meta_optimize', r.start === undefined ? 'meta_decision' : 'meta_rebalance', view);
    }
    const final = wf.rebalances[wf.rebalances.length - 1];
    const held = wf.rebalances.slice(0, -1);
    ctx.meta_weights = final.weights;
    ctx.as_of = R.dates[T - 1];
    ctx.meta_returns = { dates: wf.dates, returns: wf.returns };
    ctx.meta_rebalances = wf.rebalances;
    ctx.meta_liquidated = wf.liquidated;
    ctx.meta_engine = final.engine;
    await env.artifacts.writeJson('meta_weights.json', names.map((n) => ({ symbol: n, weight: final.weights[n], direction: final.weights[n] < 0 ? 'SHORT' : 'LONG' })));
    const allocation = {
      as_of: isoFromDay(ctx.as_of),
      engine: final.engine,
      requested_engine: p.engine.name,
      attempts: final.attempts ?? [],
      ...(final.proxy_reason ? { proxy_reason: final.proxy_reason } : {}),
      train_window: train,
      test_window: p.test_window,
      step_size: p.step_size,
      periods_per_year: ppy,
      rebalances: held.length,
      cost_bps: p.slippage_bps + p.commission_bps,
      engines: held.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.engine]: (acc[r.engine] ?? 0) + 1 }), {}),
    };
    ctx.meta_allocation = allocation;
    // The meta's record is annualised as it was decided: meta_flatten's metrics take this value (an override too).
    ctx.periods_per_year = ppy;
    await env.artifacts.writeJsonSection('metrics.json', 'meta_allocation', allocation);
    env.log(`meta_optimize: ${held.length} meta rebalances, ${isoFromDay(wf.dates[0])} to ${isoFromDay(wf.dates[wf.dates.length - 1])}; weights as of ${isoFromDay(ctx.as_of)} by ${final.engine}`);
    return ctx;
  }
}

const needsBars = (simulator: string) =>
  inputError('SIMULATOR_NEEDS_BARS', `meta_optimize's simulator '${simulator}' works on orders and bars; a meta pipeline holds its sleeves' return streams`, undefined, { param: ['simulator'] });
