/**
 * meta_flatten: physical weight = Σ over sleeves of meta weight × the sleeve's physical weight as of the same day
 * (recursively: a child meta's are already flat), LONG and SHORT netting out; the sum is checked against the target
 * exposure to 1e-9 (the seeds' Stable Sum Gate) and the tree of meta weights at every level is written for audit,
 * for the final decision and for every meta rebalance. Also the meta's out-of-sample record: returns, equity,
 * metrics.
 */
import type { MetaContext, MetaRebalance } from '../../src/core/context.js';
import { runError } from '../../src/core/errors.js';
import { num, params, type Static } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { isoFromDay } from '../../src/util/dates.js';
import { computeMetrics, drawdownSeries, equityCurve, verifyMetrics } from '../../src/math/metrics.js';
import { encodeColumns } from '../../src/runs/arrow.js';
import { flatten, sleeveAsOf, targetExposure, tree, weightsFromTree, type SleeveAsOf } from './flatten.js';
import { rebalanceView } from './walk-forward.js';

const PARAMS = params({ tolerance: num('Largest |Σ flattened weights − target exposure| accepted.', 1e-9, { exclusiveMin: 0 }) });
export type MetaFlattenParams = Static<typeof PARAMS>;

export class MetaFlattenStage implements Stage<MetaContext, MetaFlattenParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'meta_flatten',
    description: 'Flattens the meta weights to physical weights (netting LONG and SHORT), checks the sum against the target exposure, and writes the tree of every meta decision.',
    documents: ['meta'],
    requires: ['meta_weights', 'sleeve_weights'],
    provides: ['flattened_weights', 'cluster_tree'],
    params: PARAMS,
  };

  async execute(ctx: MetaContext, p: MetaFlattenParams, env: StageEnv): Promise<MetaContext> {
    const sleeves = ctx.sleeve_results!;
    const tolerance = p.tolerance;
    const name = env.pipeline.name;
    const vetoed = ctx.vetoed_sleeves ?? {};
    const at = (day: number): Record<string, SleeveAsOf> => Object.fromEntries(Object.keys(sleeves).map((s) => [s, sleeveAsOf(sleeves[s], day)]));
    /** One decision flattened, its gate and its tree (which must imply the same weights by an independent walk). */
    const decision = (weights: Record<string, number>, day: number, notes: Record<string, string> = {}) => {
      const held = at(day);
      const flat = flatten(weights, held);
      const target = targetExposure(weights, held);
      const sum = flat.reduce((a, f) => a + f.weight, 0);
      const gate = { target, sum, difference: Math.abs(sum - target), tolerance, passed: Math.abs(sum - target) <= tolerance };
      if (!gate.passed) throw runError('STABLE_SUM_GATE', `as of ${isoFromDay(day)} the flattened weights sum to ${sum}, not the target exposure ${target} (difference ${gate.difference})`);
      const t = tree(name, weights, held, vetoed, notes);
      const fromTree = weightsFromTree(t);
      for (const f of flat) if (Math.abs((fromTree.get(f.symbol) ?? 0) - f.weight) > tolerance) throw runError('TREE_MISMATCH', `as of ${isoFromDay(day)} the tree implies ${fromTree.get(f.symbol)} of ${f.symbol}, the flattening ${f.weight}`);
      return { flat, gate, tree: t };
    };

    // The final decision, as of the meta's last day.
    const asOf = ctx.as_of!;
    const rebalances = ctx.meta_rebalances ?? [];
    const final = decision(ctx.meta_weights!, asOf, rebalances[rebalances.length - 1]?.excluded);
    env.audit.event('meta_flatten', 'stable_sum_gate', { as_of: isoFromDay(asOf), ...final.gate });
    ctx.flattened_weights = final.flat;
    ctx.cluster_tree = final.tree;
    await env.artifacts.writeJson('weights.json', final.flat);
    await env.artifacts.writeJson('cluster_tree.json', final.tree);

    // Every meta rebalance: its tree, and its physical targets (weights.arrow, as a selection backtest writes).
    const rows: { date: number; symbol: string; weight: number }[] = [];
    const perRebalance = rebalances.map((r) => {
      const d = decision(r.weights, r.as_of, r.excluded);
      for (const f of d.flat) rows.push({ date: r.as_of, symbol: f.symbol, weight: f.weight });
      return { ...rebalanceView(r), target_exposure: d.gate.target, tree: d.tree };
    });
    await env.artifacts.writeJson('meta_rebalances.json', perRebalance);
    await env.artifacts.writeBytes('weights.arrow', await encodeColumns({
      date: { kind: 'date', values: Int32Array.from(rows, (w) => w.date) },
      symbol: { kind: 'string', values: rows.map((w) => w.symbol) },
      weight: { kind: 'float', values: Float64Array.from(rows, (w) => w.weight) },
    }));

    // The tree and physical weights through time, for a parent meta: at every day this meta or any sleeve below it
    // changes its decision, from the first meta rebalance to the as-of date.
    const own = metaWeightHistory(rebalances);
    const days = new Set<number>(own.map((h) => h.date));
    for (const r of Object.values(sleeves)) for (const h of r.holdings) days.add(h.date);
    const first = rebalances.length ? rebalances[0].as_of : asOf;
    ctx.tree_history = [...days].filter((d) => d >= first && d <= asOf).sort((a, b) => a - b).map((day) => {
      const k = lastOnOrBefore(own, day);
      const d = decision(own[k].weights, day, own[k].notes);
      return { date: day, tree: d.tree, weights: d.flat.map((f) => ({ symbol: f.symbol, weight: f.weight })) };
    });

    const ppy = ctx.periods_per_year ?? 252;
    const { dates, returns } = ctx.meta_returns!;
    const held = rebalances.filter((r) => r.start !== undefined);
    const metrics = {
      periods_per_year: ppy,
      first: dates.length ? isoFromDay(dates[0]) : null,
      last: dates.length ? isoFromDay(dates[dates.length - 1]) : null,
      ...computeMetrics(returns, ppy),
      verification: verifyMetrics(returns, ppy),
      engine: ctx.meta_engine,
      meta_weights: ctx.meta_weights,
      weights_as_of: isoFromDay(asOf),
      rebalances: held.length,
      turnover: held.reduce((a, r) => a + r.turnover, 0) / Math.max(1, held.length),
      physical_turnover: held.reduce((a, r) => a + r.physical_turnover + (r.exit_turnover ?? 0), 0) / Math.max(1, held.length),
      costs: held.reduce((a, r) => a + r.cost, 0),
      proxies: held.filter((r) => r.proxy_reason).length,
      liquidated: ctx.meta_liquidated ?? false,
      vetoed_sleeves: vetoed,
      stable_sum_gate: final.gate,
    };
    await env.artifacts.writeJsonSection('metrics.json', 'meta', metrics);
    await env.artifacts.writeBytes('returns.arrow', await encodeColumns({ date: { kind: 'date', values: dates }, return: { kind: 'float', values: returns } }));
    await env.artifacts.writeBytes('equity.arrow', await encodeColumns({ date: { kind: 'date', values: dates }, equity: { kind: 'float', values: equityCurve(returns) }, drawdown: { kind: 'float', values: drawdownSeries(returns) } }));
    ctx.meta_metrics = metrics;
    env.log(`meta: ${Object.keys(ctx.meta_weights!).length} sleeves, ${final.flat.length} physical holdings as of ${isoFromDay(asOf)}, Σ ${final.gate.sum.toFixed(6)}; out of sample ${metrics.first} to ${metrics.last}: CAGR ${(metrics.cagr * 100).toFixed(1)}%, Sharpe ${metrics.sharpe.toFixed(2)}`);
    return ctx;
  }
}

/** The meta's own target weights through time: each decision from its day, and an empty book from a sale. */
function metaWeightHistory(rebalances: MetaRebalance[]): { date: number; weights: Record<string, number>; notes: Record<string, string> }[] {
  const out: { date: number; weights: Record<string, number>; notes: Record<string, string> }[] = [];
  for (const r of rebalances) {
    out.push({ date: r.as_of, weights: r.weights, notes: r.excluded });
    if (r.exit_turnover !== undefined && r.end !== undefined) out.push({ date: r.end, weights: Object.fromEntries(Object.keys(r.weights).map((s) => [s, 0])), notes: {} });
  }
  return out;
}

function lastOnOrBefore(history: { date: number }[], day: number): number {
  let k = history.length - 1;
  while (k > 0 && history[k].date > day) k--;
  return k;
}
