/**
 * meta_optimize: any allocation engine, with its params, on the sleeves' out-of-sample returns (the sleeves are
 * the assets). When the optimisation fails, the equal-weight proxy stands in (recorded) unless `on_failure:
 * fail`: a child meta that cannot optimise degrades instead of failing its parent.
 */
import type { MetaContext, SelectionContext } from '../../src/core/context.js';
import { oneOfStr, params } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { AllocationStage } from '../allocation/allocation.stage.js';

const allocationParams = AllocationStage.meta.params.properties as Record<string, Record<string, unknown>>;

export class MetaOptimizeStage implements Stage<MetaContext> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'meta_optimize',
    description: "Allocates across the sleeves with any allocation engine on their out-of-sample returns; an equal-weight proxy stands in when it fails.",
    documents: ['meta'],
    requires: ['sleeve_returns'],
    provides: ['meta_weights', 'meta_returns'],
    params: params({
      ...Object.fromEntries(Object.entries(allocationParams).filter(([k]) => !['cluster_cap', 'symbol_bounds', 'market_neutral'].includes(k))),
      on_failure: oneOfStr(['equal_weight', 'fail'] as const, 'When the optimisation fails: the equal-weight proxy (recorded), or fail the run.', 'equal_weight'),
    }),
  };

  async execute(ctx: MetaContext, p: Record<string, unknown>, env: StageEnv): Promise<MetaContext> {
    const R = ctx.sleeve_returns!;
    const names = R.symbols;
    let weights: Record<string, number>;
    let engine: string;
    try {
      // The sleeves are the assets: the allocation stage runs on their returns, its files under meta_ names.
      const { on_failure: _f, ...allocation } = p;
      const sel: SelectionContext = {
        kind: 'selection', run_id: ctx.run_id, params: {}, returns: R, extra: {},
        raw_pool: names.map((n) => ({ symbol: n, asset_type: ctx.periods_per_year === 365 ? 'spot' : 'equity' })),
      };
      const proxy: StageEnv = {
        ...env,
        artifacts: {
          writeText: (n, t) => env.artifacts.writeText(`meta_${n}`, t),
          writeJson: (n, v) => env.artifacts.writeJson(n === 'weights.json' ? 'meta_weights.json' : `meta_${n}`, v),
          writeJsonSection: (n, sec, v) => env.artifacts.writeJsonSection(n, sec === 'allocation' ? 'meta_allocation' : sec, v),
          writeBytes: (n, b) => env.artifacts.writeBytes(`meta_${n}`, b),
        },
        audit: { event: (stage, event, data) => env.audit.event(stage === 'allocation' ? 'meta_optimize' : stage, event, data) },
      };
      await new AllocationStage().execute(sel, { ...allocation, periods_per_year: p.periods_per_year ?? ctx.periods_per_year }, proxy);
      weights = Object.fromEntries(names.map((n) => [n, sel.weights!.find((w) => w.symbol === n)?.weight ?? 0]));
      engine = String(sel.extra.allocation_engine);
    } catch (err) {
      if (p.on_failure === 'fail') throw err;
      weights = Object.fromEntries(names.map((n) => [n, 1 / names.length]));
      engine = 'equal_weight_proxy';
      env.audit.event('meta_optimize', 'equal_weight_proxy', { reason: (err as Error).message, sleeves: names });
      env.log(`meta_optimize: ${(err as Error).message}; the equal-weight proxy stands in`);
      await env.artifacts.writeJson('meta_weights.json', names.map((n) => ({ symbol: n, weight: weights[n], direction: 'LONG' })));
    }
    // The meta portfolio's daily return: Σ meta weight × sleeve return (a sleeve's missing day is flat).
    const T = R.dates.length;
    const combined = new Float64Array(T);
    names.forEach((n, j) => {
      for (let t = 0; t < T; t++) {
        const x = R.values[j * T + t];
        if (Number.isFinite(x)) combined[t] += weights[n] * x;
      }
    });
    ctx.meta_weights = weights;
    ctx.meta_returns = { dates: R.dates, returns: combined };
    ctx.extra.meta_engine = engine;
    env.audit.event('meta_optimize', 'meta_weights', { engine, weights });
    return ctx;
  }
}
