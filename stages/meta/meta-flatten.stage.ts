/**
 * meta_flatten: physical weight = Σ over sleeves of meta weight × the sleeve's physical weight (recursively: a
 * child meta's are already flat), LONG and SHORT netting out; the sum is checked against the target exposure
 * to 1e-9 (the seeds' Stable Sum Gate) and the tree of meta weights at every level is written for audit.
 * Also the combined out-of-sample record: returns, equity, metrics.
 */
import type { MetaContext } from '../../src/core/context.js';
import { runError } from '../../src/core/errors.js';
import { num, params } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { computeMetrics, drawdownSeries, equityCurve, verifyMetrics } from '../../src/math/metrics.js';
import { encodeColumns } from '../../src/runs/arrow.js';
import { flatten, targetExposure, tree, weightsFromTree } from './flatten.js';

export class MetaFlattenStage implements Stage<MetaContext> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'meta_flatten',
    description: 'Flattens the meta weights to physical weights (netting LONG and SHORT), checks the sum against the target exposure, and writes the tree.',
    documents: ['meta'],
    requires: ['meta_weights', 'sleeve_weights'],
    provides: ['flattened_weights', 'cluster_tree'],
    params: params({ tolerance: num('Largest |Σ flattened weights − target exposure| accepted.', 1e-9, { exclusiveMin: 0 }) }),
  };

  async execute(ctx: MetaContext, p: Record<string, unknown>, env: StageEnv): Promise<MetaContext> {
    const sleeves = ctx.sleeve_results!;
    const w = ctx.meta_weights!;
    const flat = flatten(w, sleeves);
    const target = targetExposure(w, sleeves);
    const sum = flat.reduce((a, f) => a + f.weight, 0);
    const gate = { target, sum, difference: Math.abs(sum - target), tolerance: p.tolerance as number, passed: Math.abs(sum - target) <= (p.tolerance as number) };
    env.audit.event('meta_flatten', 'stable_sum_gate', gate);
    if (!gate.passed) throw runError('STABLE_SUM_GATE', `flattened weights sum to ${sum}, not the target exposure ${target} (difference ${gate.difference})`);
    const t = tree(env.pipeline.name, w, sleeves, ctx.vetoed_sleeves);
    // The tree must imply the same weights (an independent walk over every root-to-leaf path).
    const fromTree = weightsFromTree(t);
    for (const f of flat) if (Math.abs((fromTree.get(f.symbol) ?? 0) - f.weight) > (p.tolerance as number)) throw runError('TREE_MISMATCH', `the tree implies ${fromTree.get(f.symbol)} of ${f.symbol}, the flattening ${f.weight}`);
    ctx.flattened_weights = flat;
    ctx.cluster_tree = t;
    await env.artifacts.writeJson('weights.json', flat);
    await env.artifacts.writeJson('cluster_tree.json', t);

    const ppy = ctx.periods_per_year ?? 252;
    const { dates, returns } = ctx.meta_returns!;
    const metrics = { periods_per_year: ppy, first: dates.length ? new Date(dates[0] * 86_400_000).toISOString().slice(0, 10) : null, last: dates.length ? new Date(dates[dates.length - 1] * 86_400_000).toISOString().slice(0, 10) : null, ...computeMetrics(returns, ppy), verification: verifyMetrics(returns, ppy), engine: ctx.extra.meta_engine, meta_weights: w, vetoed_sleeves: ctx.vetoed_sleeves, stable_sum_gate: gate };
    await env.artifacts.writeJsonSection('metrics.json', 'meta', metrics);
    await env.artifacts.writeBytes('returns.arrow', await encodeColumns({ date: { kind: 'date', values: dates }, return: { kind: 'float', values: returns } }));
    await env.artifacts.writeBytes('equity.arrow', await encodeColumns({ date: { kind: 'date', values: dates }, equity: { kind: 'float', values: equityCurve(returns) }, drawdown: { kind: 'float', values: drawdownSeries(returns) } }));
    ctx.extra.meta_metrics = metrics;
    env.log(`meta: ${Object.keys(w).length} sleeves, ${flat.length} physical holdings, Σ ${sum.toFixed(6)}; CAGR ${(metrics.cagr * 100).toFixed(1)}%, Sharpe ${metrics.sharpe.toFixed(2)}`);
    return ctx;
  }
}
