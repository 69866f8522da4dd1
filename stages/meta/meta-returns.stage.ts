/**
 * meta_returns: runs every sleeve (a selection pipeline with a backtest, or a meta pipeline), or takes its
 * unchanged result from the cache, and aligns their out-of-sample daily returns. A sleeve whose valid history
 * covers less than `health_threshold` of the sleeves' common calendar is vetoed, and a sleeve whose run fails is
 * left out; both are recorded, and the rest go on.
 */
import type { MetaContext, SleeveResult } from '../../src/core/context.js';
import { runError } from '../../src/core/errors.js';
import { fraction, oneOfStr, params } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { cacheKey, dataFingerprint, readCached, writeCached } from './sleeve-cache.js';

export class MetaReturnsStage implements Stage<MetaContext> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'meta_returns',
    description: "Runs the sleeves (or takes unchanged ones from the cache) and aligns their out-of-sample returns; unhealthy or failed sleeves are vetoed.",
    documents: ['meta'],
    requires: ['sleeves'],
    provides: ['sleeve_returns', 'sleeve_weights'],
    params: params({
      join: oneOfStr(['inner', 'outer'] as const, "Calendar of the sleeves' returns: 'inner' the days all have, 'outer' every day any has (missing days are flat).", 'inner'),
      health_threshold: fraction("Least fraction of the sleeves' common calendar a sleeve must cover to be kept.", 0.75),
    }),
  };

  async execute(ctx: MetaContext, p: Record<string, unknown>, env: StageEnv): Promise<MetaContext> {
    const results: Record<string, SleeveResult> = {};
    const vetoed: Record<string, string> = {};
    const children = (env.pipeline.config as { sleeves?: MetaContext['sleeves'] }).sleeves ?? ctx.sleeves;
    let done = 0;
    for (const s of children) {
      env.progress('sleeves', done++, children.length);
      const child = env.sleeveConfig(s.name);
      let key: string | undefined;
      if (s.kind === 'selection' && env.useCache && child) key = cacheKey(s.config_hash, dataFingerprint(child.config, child.baseDir, env.lakehousePath));
      const hit = key ? readCached(env.runsRoot, key) : undefined;
      if (hit) {
        results[s.name] = { ...hit, name: s.name };
        env.audit.event('meta_returns', 'sleeve_cache_hit', { sleeve: s.name, config_hash: s.config_hash, from: hit.run });
        env.log(`sleeve ${s.name}: unchanged, from the cache (${hit.run})`);
        continue;
      }
      const run = await env.runSleeve(s.name);
      const rel = run.folder.startsWith(env.runDir) ? run.folder.slice(env.runDir.length + 1) : run.folder;
      if (run.outcome !== 'succeeded') {
        vetoed[s.name] = `run failed in stage '${run.error?.stage}': ${run.error?.message}`;
        env.audit.event('meta_returns', 'sleeve_failed', { sleeve: s.name, run: rel, error: run.error });
        env.log(`sleeve ${s.name}: failed (${run.error?.message}); left out`);
        continue;
      }
      const r = resultOf(s.name, s.kind, run.context, rel);
      if (!r) {
        vetoed[s.name] = 'the run produced no out-of-sample returns';
        env.audit.event('meta_returns', 'sleeve_failed', { sleeve: s.name, run: rel, error: vetoed[s.name] });
        continue;
      }
      results[s.name] = r;
      env.audit.event('meta_returns', 'sleeve_ran', { sleeve: s.name, kind: s.kind, run: rel, config_hash: run.config_hash, data_hash: run.data_hash, days: r.dates.length });
      if (key) writeCached(env.runsRoot, key, { ...r, run: `${env.finalRunDir}/${rel}` });
    }
    env.progress('sleeves', children.length, children.length);

    // Health: the share of the sleeves' common calendar (every day any sleeve has) each sleeve covers.
    const union = [...new Set(Object.values(results).flatMap((r) => Array.from(r.dates)))].sort((a, b) => a - b);
    const threshold = p.health_threshold as number;
    const health: Record<string, number> = {};
    for (const [name, r] of Object.entries(results)) {
      let valid = 0;
      for (const x of r.returns) if (Number.isFinite(x)) valid++;
      health[name] = union.length ? valid / union.length : 0;
      if (health[name] < threshold) {
        vetoed[name] = `health ${health[name].toFixed(3)} below ${threshold}`;
        env.audit.event('meta_returns', 'sleeve_vetoed', { sleeve: name, health: health[name], threshold });
        delete results[name];
      }
    }
    const names = Object.keys(results);
    if (!names.length) throw runError('NO_HEALTHY_SLEEVES', `no sleeve is left to allocate across (${Object.entries(vetoed).map(([n, w]) => `${n}: ${w}`).join('; ')})`);

    // The join: the days all healthy sleeves have (inner), or every day any has (outer; a missing day is NaN).
    const sets = names.map((n) => new Set(results[n].dates));
    const axis = p.join === 'inner' ? union.filter((d) => sets.every((st) => st.has(d))) : union.filter((d) => sets.some((st) => st.has(d)));
    if (axis.length < 2) throw runError('NO_COMMON_HISTORY', `the sleeves ${names.join(', ')} share ${axis.length} day(s) of out-of-sample returns`, "Use join: outer, or give the sleeves' backtests overlapping periods.");
    const T = axis.length;
    const values = new Float64Array(T * names.length).fill(NaN);
    names.forEach((n, j) => {
      const r = results[n];
      const row = new Map<number, number>();
      r.dates.forEach((d, i) => row.set(d, r.returns[i]));
      axis.forEach((d, t) => {
        const x = row.get(d);
        if (x !== undefined) values[j * T + t] = x;
      });
    });
    ctx.sleeve_results = { ...results };
    ctx.sleeve_returns = { dates: Int32Array.from(axis), symbols: names, values };
    ctx.sleeve_weights = Object.fromEntries(names.map((n) => [n, results[n].weights]));
    ctx.vetoed_sleeves = vetoed;
    ctx.periods_per_year = Math.max(...names.map((n) => results[n].periods_per_year));
    await env.artifacts.writeJson('sleeves.json', {
      join: p.join,
      health_threshold: threshold,
      days: T,
      sleeves: ctx.sleeves.map((s) => ({ name: s.name, kind: s.kind, config_hash: s.config_hash, run: results[s.name]?.run ?? null, cached: results[s.name]?.cached ?? false, health: health[s.name] ?? null, vetoed: vetoed[s.name] ?? null })),
    });
    env.audit.event('meta_returns', 'sleeves_aligned', { sleeves: names, vetoed, days: T, join: p.join });
    return ctx;
  }
}

/** What a finished child run contributes: its out-of-sample returns and its physical weights. */
function resultOf(name: string, kind: 'selection' | 'meta', context: unknown, run: string): SleeveResult | undefined {
  if (kind === 'meta') {
    const c = context as MetaContext;
    if (!c.meta_returns || !c.flattened_weights) return undefined;
    return {
      name, kind, run, cached: false, dates: c.meta_returns.dates, returns: c.meta_returns.returns, tree: c.cluster_tree,
      weights: c.flattened_weights.map((w) => ({ symbol: w.symbol, weight: w.weight, direction: w.direction })), periods_per_year: c.periods_per_year ?? 252,
    };
  }
  const c = context as { backtest?: { dates: Int32Array; returns: Float64Array; metrics: { periods_per_year: number } }; weights?: SleeveResult['weights'] };
  if (!c.backtest) return undefined;
  return { name, kind, run, cached: false, dates: c.backtest.dates, returns: c.backtest.returns, weights: (c.weights ?? []).filter((w) => w.weight !== 0), periods_per_year: c.backtest.metrics.periods_per_year };
}
