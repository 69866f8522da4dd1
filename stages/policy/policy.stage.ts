/**
 * Policy: a chain of veto filters, then top_n per cluster by champion conviction, a sector cap, and the HTR
 * relaxation loop (strict → relaxed → representative forcing → balanced fallback) until min_winners.
 *
 * The stage evaluates the filters (plugins) on the features and writes the record; the decision itself is
 * `selectWinners` (src/portfolio/selection.ts, which has the loop's rules), over the pool and the filter results.
 * 0. Entropy-aware hardening (`hardenEntropy`): when the pool's mean `entropy` feature exceeds `hardening_trigger`
 *    (0.95), every filter's `entropy_max` is multiplied by `hardening_factor` (0.9, "tighten by 10%").
 * 2. Relaxed thresholds are `relax(params, relaxation_amount)` of each soft filter (ceilings +20%, floors -20%,
 *    entropy ceilings keep 20% of their distance to 1: 0.995 → 0.999); hard filters (darwinian, tail_risk) unchanged.
 */
import type { Candidate, FeatureTable, SelectionContext, Veto } from '../../src/core/context.js';
import { bySymbol, dict, positions } from '../../src/util/keyed.js';
import { runError } from '../../src/core/errors.js';
import { bool, fraction, int, params, pluginRefList, type Static } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { verdictsOf, type Filter, type FilterCheck, type FilterVerdicts } from './filter.js';
import { hardenEntropy, HTR_STAGE_NAMES, selectWinners, type Evaluation, type HtrStage, type Member } from '../../src/portfolio/selection.js';

const PARAMS = params({
  filters: pluginRefList('filter', 'Veto filters, applied in order.', ['darwinian', 'spectral', 'friction', 'tail_risk', 'roc']),
  top_n: int('Winners per cluster, by champion conviction.', 2, { min: 1 }),
  sector_cap: fraction('Largest share of winners from one sector.', 0.4),
  min_winners: int('The HTR loop relaxes until at least this many winners.', 15, { min: 0 }),
  relaxation: bool('Run the HTR relaxation loop (stages 2-4) when stage 1 gives too few winners.', true),
  entropy_hardening: bool('Tighten entropy_max by 10% when the mean entropy of the pool exceeds 0.95.', true),
  relaxation_amount: fraction('HTR stage 2: soft ceilings rise and floors fall by this fraction (entropy ceilings keep this fraction of their distance to 1).', 0.2),
  hardening_trigger: fraction('Entropy-aware hardening fires when the mean `entropy` feature of the pool exceeds this.', 0.95),
  hardening_factor: fraction('Entropy-aware hardening multiplies every filter\'s entropy_max by this (0.9 = tighten by 10%).', 0.9),
});
export type PolicyParams = Static<typeof PARAMS>;

export class PolicyStage implements Stage<SelectionContext, PolicyParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'policy',
    description: 'Vetoes by a filter chain, picks top_n per cluster by conviction, caps sectors, relaxes (HTR) until min_winners.',
    documents: ['selection'],
    requires: ['features', 'scores'],
    provides: ['winners', 'vetoes'],
    params: PARAMS,
  };

  async execute(ctx: SelectionContext, p: PolicyParams, env: StageEnv): Promise<SelectionContext> {
    const features = ctx.features;
    if (!features) throw runError('NO_FEATURES', 'policy needs features; the feature_engineering stage provides them');
    const champion = ctx.champion ?? Object.keys(ctx.scores ?? {})[0];
    const scores = champion ? ctx.scores?.[champion] : undefined;
    if (!scores) throw runError('NO_SCORES', 'policy needs the champion ranker\'s scores; the inference stage provides them');

    const topN = p.top_n;
    const sectorCap = p.sector_cap;
    const minWinners = p.min_winners;
    const amount = p.relaxation_amount;
    const refs = p.filters;
    const filters = refs.map((r) => env.plugins.get<Filter>('filter', r.name));

    const members = this.members(features, scores, ctx, env);

    // 0. Entropy-aware hardening (CR-490).
    const { meanEntropy, hardened, strict } = hardenEntropy(features.values.entropy, refs.map((r) => r.params), { enabled: p.entropy_hardening, trigger: p.hardening_trigger, factor: p.hardening_factor });
    env.audit.event('policy', 'entropy_hardening', {
      mean_entropy: meanEntropy,
      trigger: p.hardening_trigger,
      applied: hardened,
      enabled: p.entropy_hardening,
      ...(hardened ? { entropy_max: Object.fromEntries(refs.filter((r) => typeof r.params.entropy_max === 'number').map((r) => [r.name, { from: r.params.entropy_max, to: strict[refs.indexOf(r)]!.entropy_max }])) } : {}),
    });

    // Each filter's strict verdicts: a filter whose relaxed params are its strict params (the same object: a hard
    // filter keeps its thresholds) has these verdicts in the relaxed stage too (a filter's verdicts depend on the
    // features, its params and the context only).
    const strictVerdicts: FilterVerdicts[] = [];
    const evaluate = (stage: HtrStage, list: Record<string, unknown>[]): Evaluation => {
      // Keyed by symbol: no prototype, so a symbol named `constructor` or `__proto__` is a symbol like any other.
      const vetoes = dict<Veto[]>();
      const hard = new Set<string>();
      const soft = new Set<string>();
      filters.forEach((f, i) => {
        const verdicts = stage === 1 ? (strictVerdicts[i] = f.evaluate(features, list[i]!, ctx)) : list[i] === strict[i] ? strictVerdicts[i]! : f.evaluate(features, list[i]!, ctx);
        const vetoedHere: { symbol: string; metric: string; value: FilterCheck['value']; threshold: FilterCheck['threshold'] }[] = [];
        for (const s of features.symbols) {
          for (const c of verdictsOf(verdicts, s)) {
            if (!c.vetoed) continue;
            (vetoes[s] ??= []).push({ filter: refs[i]!.name, metric: c.metric, value: c.value, threshold: c.threshold });
            vetoedHere.push({ symbol: s, metric: c.metric, value: c.value, threshold: c.threshold });
            (f.hard ? hard : soft).add(s);
          }
        }
        env.audit.event('policy', 'filter_applied', { htr_stage: stage, filter: refs[i]!.name, hard: f.hard, params: list[i], vetoed: new Set(vetoedHere.map((v) => v.symbol)).size, vetoes: vetoedHere });
      });
      return { vetoes, hard, soft };
    };

    // The relaxed thresholds (soft filters only), evaluated only when stage 1 leaves too few winners.
    let relaxed: Record<string, unknown>[] | undefined;
    const relax = (): Evaluation => {
      relaxed = strict.map((sp, i) => (filters[i]!.hard ? sp : filters[i]!.relax(sp, amount)));
      return evaluate(2, relaxed);
    };
    const selection = selectWinners(members, evaluate(1, strict), relax, { topN, sectorCap, minWinners, relaxation: p.relaxation, relaxationAmount: amount }, (event, data) => env.audit.event('policy', event, data));
    const { winners, stage } = selection;

    ctx.winners = winners.map((w) => w.symbol);
    ctx.vetoes = selection.vetoes;
    // For the report: how each winner got in, and the vetoes a relaxation stage overrode for it.
    ctx.htr = { stage, stage_name: HTR_STAGE_NAMES[stage], winners: winners.map((w) => ({ symbol: w.symbol, reason: w.reason, overridden: w.overridden.map((v) => v.filter) })), strict_vetoes: selection.strictVetoes };
    // The rest is the record (vetoes.json, winners.json, the audit, the log): a replayed decision's is discarded.
    if (env.replay) return ctx;
    const clusterCount = new Set(members.map((m) => m.cluster)).size;
    const filterRecords = refs.map((r, i) => ({ name: r.name, hard: filters[i]!.hard, strict: strict[i], ...(relaxed ? { relaxed: relaxed[i] } : {}) }));
    await env.artifacts.writeJson('vetoes.json', {
      htr_stage: stage,
      thresholds: stage === 1 ? 'strict' : 'relaxed',
      hardening: { mean_entropy: meanEntropy, trigger: p.hardening_trigger, applied: hardened },
      filters: filterRecords,
      vetoes: selection.vetoes,
      ...(selection.strictVetoes ? { strict_vetoes: selection.strictVetoes } : {}),
    });
    await env.artifacts.writeJson('winners.json', {
      champion,
      htr_stage: stage,
      htr_stage_name: HTR_STAGE_NAMES[stage],
      min_winners: minWinners,
      satisfied: winners.length >= minWinners,
      top_n: topN,
      sector_cap: sectorCap,
      pool: members.length,
      clusters: clusterCount,
      winners: winners.map((w) => ({ symbol: w.symbol, cluster: w.cluster, conviction: w.conviction, sector: w.sector, reason: w.reason, overridden_vetoes: w.overridden })),
      pruned_by_sector_cap: selection.pruned.filter((m) => !ctx.winners!.includes(m.symbol)).map((m) => ({ symbol: m.symbol, sector: m.sector, conviction: m.conviction })),
    });
    env.audit.event('policy', 'winners_selected', { htr_stage: stage, winners: winners.length, min_winners: minWinners, satisfied: winners.length >= minWinners, symbols: ctx.winners, vetoed: Object.keys(selection.vetoes).length, artifacts: ['vetoes.json', 'winners.json'] });
    if (winners.length < minWinners) env.log(`policy: ${winners.length} winners after HTR stage ${stage}, fewer than min_winners ${minWinners}`);
    return ctx;
  }

  /** The pool: feature-table symbols with a finite champion conviction, their cluster and sector. */
  private members(features: FeatureTable, scores: { symbols: string[]; conviction: Float64Array }, ctx: SelectionContext, env: StageEnv): Member[] {
    const clusters = ctx.clusters;
    if (!clusters) env.audit.event('policy', 'no_clusters', { reason: 'no clustering stage ran: the pool is one cluster, so top_n applies to the whole pool' });
    // Usually one array of symbols behind the features, the scores and the clusters: read by position then.
    const scoreAt = scores.symbols === features.symbols ? undefined : positions(scores.symbols);
    const clusterAt = !clusters || clusters.symbols === features.symbols ? undefined : positions(clusters.symbols);
    const pool = bySymbol<Candidate>(ctx.raw_pool ?? []);
    const out: Member[] = [];
    const unscored: string[] = [];
    const unclustered: string[] = [];
    features.symbols.forEach((s, j) => {
      const si = scoreAt ? scoreAt.get(s) : j;
      const c = si === undefined ? undefined : scores.conviction[si];
      if (c === undefined || !Number.isFinite(c)) {
        unscored.push(s);
        return;
      }
      const ci = clusterAt ? clusterAt.get(s) : j;
      const cluster = clusters ? (ci === undefined ? undefined : clusters.labels[ci]) : 1;
      if (cluster === undefined) {
        unclustered.push(s);
        return;
      }
      out.push({ symbol: s, cluster, conviction: c, sector: pool.get(s)?.sector ?? null });
    });
    if (unscored.length || unclustered.length) env.audit.event('policy', 'ineligible', { no_conviction: unscored, no_cluster: unclustered });
    return out;
  }
}
