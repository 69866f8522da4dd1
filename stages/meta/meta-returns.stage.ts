/**
 * meta_returns: runs every sleeve (a selection pipeline with a backtest, or a meta pipeline), or takes its
 * unchanged result from the cache, and aligns their out-of-sample daily returns on one calendar (align.ts: sleeves
 * on different calendars, a crypto sleeve's weekends compounded into the next shared day or an equity sleeve's
 * closed days 0, and the annualisation of the joined calendar). A sleeve whose run fails (or
 * yields no out-of-sample returns) fails the meta (SLEEVE_FAILED), naming every such sleeve: leaving it out would
 * drop it from every day of the record, the days before whatever made it fail too, so data appended after a day
 * could change that day (look-ahead). `on_sleeve_failure: leave_out` leaves such sleeves out and records it (the
 * report flags it). Nothing else here looks at the whole history to judge a sleeve: `health_threshold` is applied
 * by meta_optimize at each meta rebalance, on the days up to it, and a sleeve whose record went to zero stays in
 * until that day (leaving it out altogether would be survivorship bias).
 */
import type { MetaContext, SleeveResult } from '../../src/core/context.js';
import { runError } from '../../src/core/errors.js';
import { dict } from '../../src/util/keyed.js';
import { fraction, int, oneOfStr, params, type Static } from '../../src/core/params.js';
import { inject } from 'inversify';
import { type ChildRuns, SERVICE, type Stage, type StageEnv, type StageMeta } from '../../src/core/plugin.js';
import { readCached, resultKey, writeCached } from '../../src/runs/result-cache.js';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { alignSleeves, tradesEveryDay } from './align.js';

const PARAMS = params({
  join: oneOfStr(['inner', 'outer'] as const, "Calendar of the sleeves' returns: 'inner' the days all have, each sleeve's returns on the days between two of them compounded into the later (annualised at the fewest of the sleeves' periods per year); 'outer' every day any has (every day of their span when one trades every day), a day a sleeve's own calendar does not trade (an equity sleeve's weekend) a 0 return, a day it trades but its record lacks missing (flat; annualised at the most of the sleeves' periods per year).", 'inner'),
  health_threshold: fraction("Least fraction of the days of a meta rebalance's train window that a sleeve's own calendar trades on which it must have returns to be allocated then (bites with join: outer).", 0.75),
  workers: int('Sleeves run at once on worker threads; one per core when omitted, 1 runs them in turn.', undefined, { min: 1 }),
  on_sleeve_failure: oneOfStr(['fail', 'leave_out'] as const, "A sleeve whose run fails or yields no out-of-sample returns: 'fail' fails the meta, naming it (the record never changes its past because later data broke a sleeve); 'leave_out' leaves it out of every day of the record and goes on (a judgement on the whole history, flagged in the report).", 'fail'),
});
export type MetaReturnsParams = Static<typeof PARAMS>;

export class MetaReturnsStage implements Stage<MetaContext, MetaReturnsParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'meta_returns',
    description: "Runs the sleeves (or takes unchanged ones from the cache) and aligns their out-of-sample returns; unhealthy or failed sleeves are vetoed.",
    documents: ['meta'],
    requires: ['sleeves'],
    provides: ['sleeve_returns', 'sleeve_weights'],
    params: PARAMS,
  };

  constructor(@inject(SERVICE.ChildRuns) private readonly childRuns: ChildRuns) {}

  async execute(ctx: MetaContext, p: MetaReturnsParams, env: StageEnv): Promise<MetaContext> {
    // Keyed by sleeve names users choose: objects without a prototype (a sleeve may be called `constructor`).
    const results = dict<SleeveResult>();
    const vetoed = dict<string>();
    /** Each sleeve whose run failed or gave no returns, in words (on_sleeve_failure). */
    const failures: string[] = [];
    const children = env.pipeline.config.sleeves ?? ctx.sleeves;
    const keys = dict<{ key: string; data_hash: string }>();
    const toRun: string[] = [];
    const cached = dict<SleeveResult>();
    const memo = new Map<string, Promise<string | undefined>>();
    for (const s of children) {
      const child = this.childRuns.sleeveConfig(s.name);
      // Selection and meta sleeves alike: a meta's key covers its own sleeves' configs, data and inputs.
      if (this.childRuns.useCache && child) {
        const k = await resultKey(child, env, memo);
        if (k) keys[s.name] = k;
      }
      const hit = keys[s.name] ? readCached(this.childRuns.runsRoot, keys[s.name].key) : undefined;
      if (hit) {
        // Where the result was made, from this run's folder (as a sleeve run here is named): the runs root can move whole.
        cached[s.name] = { ...hit, name: s.name, data_hash: keys[s.name].data_hash, run: relative(env.finalRunDir, hit.run) };
        env.audit.event('meta_returns', 'sleeve_cache_hit', { sleeve: s.name, config_hash: s.config_hash, data_hash: keys[s.name].data_hash, from: hit.run });
        env.log(`sleeve ${s.name}: unchanged, from the cache (${hit.run})`);
      } else toRun.push(s.name);
    }
    // The sleeves are independent: they run in parallel, one worker thread per core (workers: 1 runs them in turn).
    const threads = p.workers ?? Math.min(availableParallelism(), toRun.length);
    env.progress('sleeves', 0, toRun.length);
    const runs = toRun.length ? await this.childRuns.runSleeves(toRun, { threads, onDone: (d) => env.progress('sleeves', d, toRun.length) }) : [];
    // In the pipeline's order, however each sleeve was obtained: the order reaches sums and solvers.
    for (const s of children) {
      if (cached[s.name]) {
        results[s.name] = cached[s.name];
        continue;
      }
      const run = runs.find((r) => r.name === s.name);
      if (!run) continue;
      const rel = run.folder.startsWith(env.runDir) ? run.folder.slice(env.runDir.length + 1) : run.folder;
      if (run.outcome !== 'succeeded') {
        failures.push(`${s.name}: its run failed in stage '${run.error?.stage}' [${run.error?.code}] ${run.error?.message} (${rel})`);
        vetoed[s.name] = `run failed in stage '${run.error?.stage}': ${run.error?.message}`;
        env.audit.event('meta_returns', 'sleeve_failed', { sleeve: s.name, run: rel, error: run.error });
        env.log(`sleeve ${s.name}: failed (${run.error?.message})${p.on_sleeve_failure === 'leave_out' ? '; left out' : ''}`);
        continue;
      }
      if (!run.result) {
        failures.push(`${s.name}: its run produced no out-of-sample returns (${rel})`);
        vetoed[s.name] = 'the run produced no out-of-sample returns';
        env.audit.event('meta_returns', 'sleeve_failed', { sleeve: s.name, run: rel, error: vetoed[s.name] });
        continue;
      }
      const r = { ...run.result, run: rel };
      results[s.name] = r;
      env.audit.event('meta_returns', 'sleeve_ran', { sleeve: s.name, kind: s.kind, run: rel, config_hash: run.config_hash, data_hash: run.data_hash, ...(keys[s.name] ? { cache_key_data_hash: keys[s.name].data_hash } : {}), days: r.dates.length });
      // Cache only what was computed from the very config and data the key names.
      if (keys[s.name] && run.config_hash === s.config_hash && run.data_hash === keys[s.name].data_hash) writeCached(this.childRuns.runsRoot, keys[s.name].key, { ...r, run: `${env.finalRunDir}/${rel}` });
    }
    env.progress('sleeves', children.length, children.length);
    if (failures.length && p.on_sleeve_failure === 'fail') throw runError('SLEEVE_FAILED', `${failures.length === 1 ? 'a sleeve' : `${failures.length} sleeves`} of the meta failed: ${failures.join('; ')}`);

    const names = Object.keys(results);
    if (!names.length) throw runError('NO_HEALTHY_SLEEVES', `no sleeve is left to allocate across (${Object.entries(vetoed).map(([n, w]) => `${n}: ${w}`).join('; ')})`);
    for (const n of names) if (results[n].data_hash) env.recordData({ data_hash: results[n].data_hash!, entries: results[n].data_inputs ?? 0 });

    // The join (align.ts): the days all sleeves have, each sleeve's days between two of them compounded into the
    // later (inner), or every day any has, a day a sleeve's calendar does not trade a 0 return (outer). Health
    // (reported; the gate itself is per meta rebalance, in meta_optimize): the share of the days of the sleeves'
    // union its own calendar counts that each sleeve has a return on.
    const threshold = p.health_threshold;
    const aligned = alignSleeves(names.map((n) => results[n]), p.join);
    const health = dict<number>(names.map((n, j) => [n, aligned.health[j]] as const));
    const axis = aligned.dates;
    if (axis.length < 2) throw runError('NO_COMMON_HISTORY', `the sleeves ${names.join(', ')} share ${axis.length} day(s) of out-of-sample returns`, "Use join: outer, or give the sleeves' backtests overlapping periods.");
    const T = axis.length;
    ctx.sleeve_results = dict(Object.entries(results));
    ctx.sleeve_returns = { dates: axis, symbols: names, values: aligned.values };
    ctx.sleeve_calendar = aligned.calendar;
    ctx.sleeve_weights = dict(names.map((n) => [n, results[n].weights] as const));
    ctx.vetoed_sleeves = vetoed;
    ctx.health_threshold = threshold;
    ctx.periods_per_year = aligned.periodsPerYear;
    await env.artifacts.writeJson('sleeves.json', {
      join: p.join,
      health_threshold: threshold,
      days: T,
      // The joined calendar's annualisation (the fewest of the sleeves' for inner, the most for outer) and each
      // sleeve's own, with the calendar it implies (what the outer join and the health gate take as its trading days).
      periods_per_year: aligned.periodsPerYear,
      sleeves: ctx.sleeves.map((s) => {
        const r = results[s.name];
        const own = r ? { periods_per_year: r.periods_per_year, calendar: tradesEveryDay(r.periods_per_year) ? 'every day' : 'weekdays' } : { periods_per_year: null, calendar: null };
        return { name: s.name, kind: s.kind, config_hash: s.config_hash, run: r?.run ?? null, cached: r?.cached ?? false, health: health[s.name] ?? null, vetoed: vetoed[s.name] ?? null, data_hash: r?.data_hash ?? null, ...own };
      }),
    });
    env.audit.event('meta_returns', 'sleeves_aligned', { sleeves: names, vetoed, days: T, join: p.join, periods_per_year: aligned.periodsPerYear });
    return ctx;
  }
}
