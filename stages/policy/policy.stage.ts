/**
 * Policy: a chain of veto filters, then top_n per cluster by champion conviction, a sector cap, and the HTR
 * relaxation loop (strict → relaxed → representative forcing → balanced fallback) until min_winners.
 *
 * The loop (seed 002 §6, CR-490, CR-540; docs/funnel.md):
 * 0. Entropy-aware hardening: when the pool's mean `entropy` feature exceeds `hardening_trigger` (0.95), every
 *    filter's `entropy_max` is multiplied by `hardening_factor` (0.9, "tighten by 10%").
 * 1. Strict: every filter at its thresholds; the top_n per cluster of the survivors by conviction; sector cap.
 * 2. Relaxed: soft filters at `relax(params, relaxation_amount)` (ceilings +20%, floors -20%, entropy ceilings keep
 *    20% of their distance to 1: 0.995 → 0.999); hard filters (darwinian, tail_risk) unchanged; same selection.
 * 3. Representative forcing: each cluster still without a winner adds its best-conviction member that no hard filter
 *    vetoes (soft vetoes overridden, and recorded); sector cap.
 * 4. Balanced fallback: round robin over clusters (best cluster first), each cluster's next best member that no
 *    hard filter vetoes (soft-clean members first), a sector quota of max(1, floor(sector_cap * min_winners)),
 *    until min_winners or no member is left; sector cap.
 * The loop stops at the first stage that gives min_winners; `relaxation: false` stops after stage 1.
 * Sector cap: while a sector holds more than max(1, floor(sector_cap * winners)) winners, its lowest-conviction
 * winner is dropped (symbols without a sector are not capped).
 */
import type { Candidate, FeatureTable, SelectionContext, Veto } from '../../src/core/context.js';
import { dict } from '../../src/util/keyed.js';
import { runError } from '../../src/core/errors.js';
import { bool, fraction, int, params, pluginRefList, type Static } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { verdictsOf, type Filter, type FilterCheck } from './filter.js';
import { byCodeUnit } from '../../src/util/order.js';

export const HTR_STAGE_NAMES = { 1: 'strict', 2: 'relaxed', 3: 'representative_forcing', 4: 'balanced_fallback' } as const;
export type HtrStage = keyof typeof HTR_STAGE_NAMES;

interface Member {
  symbol: string;
  cluster: number;
  conviction: number;
  sector: string | null;
}

export interface Winner extends Member {
  /** How it got in: top_n (stages 1-2), representative (stage 3), fallback (stage 4). */
  reason: 'top_n' | 'representative' | 'fallback';
  /** Soft vetoes it carries (overridden by stages 3-4). */
  overridden: Veto[];
}

interface Evaluation {
  params: Record<string, unknown>[];
  vetoes: Record<string, Veto[]>;
  hard: Set<string>;
  soft: Set<string>;
}

/** The sector cap: drops the lowest-conviction winners of any sector above max(1, floor(cap * total)). */
export function capSectors<T extends Member>(winners: T[], cap: number): { kept: T[]; pruned: T[] } {
  let kept = [...winners];
  const pruned: T[] = [];
  for (;;) {
    const allowed = Math.max(1, Math.floor(cap * kept.length + 1e-9));
    const counts = new Map<string, number>();
    for (const w of kept) if (w.sector !== null) counts.set(w.sector, (counts.get(w.sector) ?? 0) + 1);
    // The most over-represented sector first (ties by name) so the outcome does not depend on input order.
    const over = [...counts.entries()].filter(([, c]) => c > allowed).sort((a, b) => b[1] - a[1] || byCodeUnit(a[0], b[0]));
    if (!over.length) return { kept, pruned };
    const sector = over[0]![0];
    const worst = kept.filter((w) => w.sector === sector).sort(byConviction).at(-1)!;
    kept = kept.filter((w) => w !== worst);
    pruned.push(worst);
  }
}

/** Higher conviction first; ties by symbol. */
const byConviction = (a: Member, b: Member): number => b.conviction - a.conviction || byCodeUnit(a.symbol, b.symbol);

export function topNPerCluster(members: Member[], n: number): Member[] {
  const byCluster = groupByCluster(members);
  const out: Member[] = [];
  for (const list of byCluster.values()) out.push(...list.slice(0, n));
  return out.sort(byConviction);
}

function groupByCluster(members: Member[]): Map<number, Member[]> {
  const map = new Map<number, Member[]>();
  for (const m of [...members].sort(byConviction)) {
    const list = map.get(m.cluster) ?? [];
    list.push(m);
    map.set(m.cluster, list);
  }
  return map;
}

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
    const clusterCount = new Set(members.map((m) => m.cluster)).size;

    // 0. Entropy-aware hardening (CR-490).
    const entropy = features.values.entropy;
    let sum = 0;
    let count = 0;
    if (entropy) for (const v of entropy) if (Number.isFinite(v)) {
      sum += v;
      count++;
    }
    const meanEntropy = count ? sum / count : NaN;
    const hardened = p.entropy_hardening && Number.isFinite(meanEntropy) && meanEntropy > p.hardening_trigger;
    const strict = refs.map((r) => (hardened && typeof r.params.entropy_max === 'number' ? { ...r.params, entropy_max: r.params.entropy_max * p.hardening_factor } : { ...r.params }));
    env.audit.event('policy', 'entropy_hardening', {
      mean_entropy: meanEntropy,
      trigger: p.hardening_trigger,
      applied: hardened,
      enabled: p.entropy_hardening,
      ...(hardened ? { entropy_max: Object.fromEntries(refs.filter((r) => typeof r.params.entropy_max === 'number').map((r) => [r.name, { from: r.params.entropy_max, to: strict[refs.indexOf(r)]!.entropy_max }])) } : {}),
    });

    const evaluate = (stage: HtrStage, list: Record<string, unknown>[]): Evaluation => {
      // Keyed by symbol: no prototype, so a symbol named `constructor` or `__proto__` is a symbol like any other.
      const vetoes = dict<Veto[]>();
      const hard = new Set<string>();
      const soft = new Set<string>();
      filters.forEach((f, i) => {
        const verdicts = f.evaluate(features, list[i]!, ctx);
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
      return { params: list, vetoes, hard, soft };
    };

    const record = (stage: HtrStage, winners: Winner[], extra: Record<string, unknown> = {}) =>
      env.audit.event('policy', 'htr_stage', { stage, name: HTR_STAGE_NAMES[stage], winners: winners.length, min_winners: minWinners, satisfied: winners.length >= minWinners, symbols: winners.map((w) => w.symbol), ...extra });

    const asWinner = (m: Member, reason: Winner['reason'], ev: Evaluation): Winner => ({ ...m, reason, overridden: ev.vetoes[m.symbol] ?? [] });
    const select = (ev: Evaluation): { winners: Winner[]; pruned: Member[] } => {
      const eligible = members.filter((m) => !ev.vetoes[m.symbol]);
      const picked = topNPerCluster(eligible, topN).map((m) => asWinner(m, 'top_n', ev));
      const { kept, pruned } = capSectors(picked, sectorCap);
      return { winners: kept, pruned };
    };
    const sectorEvent = (stage: HtrStage, pruned: Member[]) => {
      if (pruned.length) env.audit.event('policy', 'sector_cap', { htr_stage: stage, sector_cap: sectorCap, pruned: pruned.map((m) => ({ symbol: m.symbol, sector: m.sector, conviction: m.conviction })) });
    };

    // 1. Strict.
    const ev1 = evaluate(1, strict);
    let ev = ev1;
    let stage: HtrStage = 1;
    let { winners, pruned } = select(ev1);
    const allPruned: Member[] = [...pruned];
    sectorEvent(1, pruned);
    record(1, winners, { eligible: members.filter((m) => !ev1.vetoes[m.symbol]).length });

    let ev2: Evaluation | undefined;
    let relaxed: Record<string, unknown>[] | undefined;
    if (winners.length < minWinners && p.relaxation) {
      // 2. Relaxed thresholds (soft filters only).
      relaxed = strict.map((sp, i) => (filters[i]!.hard ? { ...sp } : filters[i]!.relax(sp, amount)));
      ev2 = evaluate(2, relaxed);
      ev = ev2;
      stage = 2;
      ({ winners, pruned } = select(ev2));
      allPruned.push(...pruned);
      sectorEvent(2, pruned);
      record(2, winners, { eligible: members.filter((m) => !ev2!.vetoes[m.symbol]).length, relaxation_amount: amount });

      if (winners.length < minWinners) {
        // 3. Representative forcing: the best member (no hard veto) of every cluster without a winner.
        stage = 3;
        const represented = new Set(winners.map((w) => w.cluster));
        const forced: Winner[] = [];
        for (const [cluster, list] of groupByCluster(members)) {
          if (represented.has(cluster)) continue;
          const best = list.find((m) => !ev2!.hard.has(m.symbol));
          if (best) forced.push(asWinner(best, 'representative', ev2));
        }
        ({ kept: winners, pruned } = capSectors([...winners, ...forced].sort(byConviction), sectorCap));
        allPruned.push(...pruned);
        sectorEvent(3, pruned);
        env.audit.event('policy', 'representatives_forced', { forced: forced.map((w) => ({ symbol: w.symbol, cluster: w.cluster, conviction: w.conviction, overridden: w.overridden })) });
        record(3, winners);

        if (winners.length < minWinners) {
          // 4. Balanced fallback: round robin over clusters until min_winners.
          stage = 4;
          const chosen = new Set(winners.map((w) => w.symbol));
          const quota = Math.max(1, Math.floor(sectorCap * Math.max(minWinners, winners.length) + 1e-9));
          const sectorCount = new Map<string, number>();
          for (const w of winners) if (w.sector !== null) sectorCount.set(w.sector, (sectorCount.get(w.sector) ?? 0) + 1);
          const queues = [...groupByCluster(members).values()]
            .map((list) => list.filter((m) => !chosen.has(m.symbol) && !ev2!.hard.has(m.symbol)).sort((a, b) => Number(ev2!.soft.has(a.symbol)) - Number(ev2!.soft.has(b.symbol)) || byConviction(a, b)))
            .filter((q) => q.length)
            .sort((a, b) => byConviction(a[0]!, b[0]!));
          const filled: Winner[] = [];
          let progress = true;
          while (winners.length + filled.length < minWinners && progress) {
            progress = false;
            for (const q of queues) {
              if (winners.length + filled.length >= minWinners) break;
              while (q.length) {
                const m = q.shift()!;
                if (m.sector !== null && (sectorCount.get(m.sector) ?? 0) >= quota) continue;
                if (m.sector !== null) sectorCount.set(m.sector, (sectorCount.get(m.sector) ?? 0) + 1);
                filled.push(asWinner(m, 'fallback', ev2!));
                progress = true;
                break;
              }
            }
          }
          ({ kept: winners, pruned } = capSectors([...winners, ...filled].sort(byConviction), sectorCap));
          allPruned.push(...pruned);
          sectorEvent(4, pruned);
          env.audit.event('policy', 'balanced_fallback', { sector_quota: quota, filled: filled.map((w) => ({ symbol: w.symbol, cluster: w.cluster, conviction: w.conviction, overridden: w.overridden })) });
          record(4, winners);
        }
      }
    }

    ctx.winners = winners.map((w) => w.symbol);
    ctx.vetoes = ev.vetoes;
    // For the report: how each winner got in, and the vetoes a relaxation stage overrode for it.
    ctx.htr = { stage, stage_name: HTR_STAGE_NAMES[stage], winners: winners.map((w) => ({ symbol: w.symbol, reason: w.reason, overridden: w.overridden.map((v) => v.filter) })), strict_vetoes: ev2 ? ev1.vetoes : undefined };
    const filterRecords = refs.map((r, i) => ({ name: r.name, hard: filters[i]!.hard, strict: strict[i], ...(relaxed ? { relaxed: relaxed[i] } : {}) }));
    await env.artifacts.writeJson('vetoes.json', {
      htr_stage: stage,
      thresholds: stage === 1 ? 'strict' : 'relaxed',
      hardening: { mean_entropy: meanEntropy, trigger: p.hardening_trigger, applied: hardened },
      filters: filterRecords,
      vetoes: ev.vetoes,
      ...(ev2 ? { strict_vetoes: ev1.vetoes } : {}),
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
      pruned_by_sector_cap: allPruned.filter((m) => !ctx.winners!.includes(m.symbol)).map((m) => ({ symbol: m.symbol, sector: m.sector, conviction: m.conviction })),
    });
    env.audit.event('policy', 'winners_selected', { htr_stage: stage, winners: winners.length, min_winners: minWinners, satisfied: winners.length >= minWinners, symbols: ctx.winners, vetoed: Object.keys(ev.vetoes).length, artifacts: ['vetoes.json', 'winners.json'] });
    if (winners.length < minWinners) env.log(`policy: ${winners.length} winners after HTR stage ${stage}, fewer than min_winners ${minWinners}`);
    return ctx;
  }

  /** The pool: feature-table symbols with a finite champion conviction, their cluster and sector. */
  private members(features: FeatureTable, scores: { symbols: string[]; conviction: Float64Array }, ctx: SelectionContext, env: StageEnv): Member[] {
    const conviction = new Map(scores.symbols.map((s, i) => [s, scores.conviction[i]!]));
    const clusterOf = new Map<string, number>();
    if (ctx.clusters) ctx.clusters.symbols.forEach((s, i) => clusterOf.set(s, ctx.clusters!.labels[i]!));
    else env.audit.event('policy', 'no_clusters', { reason: 'no clustering stage ran: the pool is one cluster, so top_n applies to the whole pool' });
    const pool = new Map<string, Candidate>((ctx.raw_pool ?? []).map((c) => [c.symbol, c]));
    const out: Member[] = [];
    const unscored: string[] = [];
    const unclustered: string[] = [];
    for (const s of features.symbols) {
      const c = conviction.get(s);
      if (c === undefined || !Number.isFinite(c)) {
        unscored.push(s);
        continue;
      }
      const cluster = ctx.clusters ? clusterOf.get(s) : 1;
      if (cluster === undefined) {
        unclustered.push(s);
        continue;
      }
      out.push({ symbol: s, cluster, conviction: c, sector: pool.get(s)?.sector ?? null });
    }
    if (unscored.length || unclustered.length) env.audit.event('policy', 'ineligible', { no_conviction: unscored, no_cluster: unclustered });
    return out;
  }
}
