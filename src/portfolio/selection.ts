/**
 * The policy's decision as a function over plain data: the pool (symbol, cluster, conviction, sector), the filter
 * results (strict, and relaxed when asked for) → the winners, the vetoes that stand and the record of the HTR
 * relaxation loop (seed 002 §6, CR-490, CR-540; docs/funnel.md). The policy stage evaluates the filters (plugins) and
 * writes what this returns; this module knows no filter, context or artifact.
 *
 * 1. Strict: the top_n per cluster of the members no filter vetoes, by conviction; sector cap.
 * 2. Relaxed: the same on the relaxed filter results.
 * 3. Representative forcing: each cluster still without a winner adds its best-conviction member that no hard filter
 *    vetoes (soft vetoes overridden, and recorded); sector cap.
 * 4. Balanced fallback: round robin over clusters (best cluster first), each cluster's next best member that no
 *    hard filter vetoes (soft-clean members first), a sector quota of max(1, floor(sector_cap * min_winners)),
 *    until min_winners or no member is left; sector cap.
 * The loop stops at the first stage that gives min_winners; `relaxation: false` stops after stage 1.
 * Sector cap: while a sector holds more than max(1, floor(sector_cap * winners)) winners, its lowest-conviction
 * winner is dropped (symbols without a sector are not capped).
 */
import type { Veto } from '../core/context.js';
import { byCodeUnit } from '../util/order.js';
import type { AuditNote } from './allocate.js';

export const HTR_STAGE_NAMES = { 1: 'strict', 2: 'relaxed', 3: 'representative_forcing', 4: 'balanced_fallback' } as const;
export type HtrStage = keyof typeof HTR_STAGE_NAMES;

/** A symbol of the pool: scored by the champion and placed in a cluster. */
export interface Member {
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

/** What the filters said at one set of thresholds: each vetoed symbol's vetoes, and who a hard or a soft filter vetoed. */
export interface Evaluation {
  vetoes: Record<string, Veto[]>;
  hard: Set<string>;
  soft: Set<string>;
}

export interface SelectionRules {
  topN: number;
  sectorCap: number;
  minWinners: number;
  /** Run stages 2-4 when stage 1 gives fewer than minWinners. */
  relaxation: boolean;
  /** For the record only: the fraction the relaxed thresholds moved by. */
  relaxationAmount: number;
}

export interface Selection {
  winners: Winner[];
  /** The last HTR stage run. */
  stage: HtrStage;
  /** The vetoes that stand: the relaxed ones once stage 2 ran, else the strict ones. */
  vetoes: Record<string, Veto[]>;
  /** The strict vetoes, when a relaxation stage replaced them. */
  strictVetoes?: Record<string, Veto[]>;
  /** Winners dropped by the sector cap at any stage (some may have come back in later). */
  pruned: Member[];
}

/** Higher conviction first; ties by symbol. */
export const byConviction = (a: Member, b: Member): number => b.conviction - a.conviction || byCodeUnit(a.symbol, b.symbol);

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

/**
 * The n best members of each cluster (byConviction), best first. One pass keeping each cluster's best n in order,
 * not a sort of the whole pool: byConviction is a total order on distinct symbols, so the same members either way.
 */
export function topNPerCluster(members: Member[], n: number): Member[] {
  const best = new Map<number, Member[]>();
  for (const m of members) {
    let list = best.get(m.cluster);
    if (!list) best.set(m.cluster, (list = []));
    if (list.length === n && byConviction(m, list[n - 1]!) >= 0) continue;
    // Insertion after its equals, as a stable sort would place it.
    let at = list.length === n ? n - 1 : list.length;
    while (at > 0 && byConviction(m, list[at - 1]!) < 0) {
      list[at] = list[at - 1]!;
      at--;
    }
    list[at] = m;
  }
  const out: Member[] = [];
  for (const list of best.values()) out.push(...list);
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

/**
 * Entropy-aware hardening (CR-490): when the pool's mean entropy (finite values only) exceeds `trigger`, every
 * filter's `entropy_max` is multiplied by `factor`. Returns the strict params of each filter and what was decided.
 */
export function hardenEntropy(entropy: Float64Array | undefined, filterParams: Record<string, unknown>[], rule: { enabled: boolean; trigger: number; factor: number }): { meanEntropy: number; hardened: boolean; strict: Record<string, unknown>[] } {
  let sum = 0;
  let count = 0;
  if (entropy) for (const v of entropy) if (Number.isFinite(v)) {
    sum += v;
    count++;
  }
  const meanEntropy = count ? sum / count : NaN;
  const hardened = rule.enabled && Number.isFinite(meanEntropy) && meanEntropy > rule.trigger;
  const strict = filterParams.map((p) => (hardened && typeof p.entropy_max === 'number' ? { ...p, entropy_max: p.entropy_max * rule.factor } : { ...p }));
  return { meanEntropy, hardened, strict };
}

/**
 * The HTR loop on the pool. `strict` is the filters' verdict at their thresholds; `relaxed` is asked for only when
 * stage 1 leaves fewer than minWinners and relaxation is on. `audit`, when given, is told each stage as it ends.
 */
export function selectWinners(members: Member[], strict: Evaluation, relaxed: () => Evaluation, rules: SelectionRules, audit: AuditNote = () => {}): Selection {
  const { topN, sectorCap, minWinners } = rules;
  const record = (stage: HtrStage, winners: Winner[], extra: Record<string, unknown> = {}) =>
    audit('htr_stage', { stage, name: HTR_STAGE_NAMES[stage], winners: winners.length, min_winners: minWinners, satisfied: winners.length >= minWinners, symbols: winners.map((w) => w.symbol), ...extra });
  // Each evaluation's vetoed symbols as a Set: a hashed lookup per member, where a lookup in the keyed record by a
  // symbol string the engine has not interned is slow (and a symbol without vetoes is most of the pool).
  const vetoedIn = new Map<Evaluation, Set<string>>();
  const vetoed = (ev: Evaluation): Set<string> => {
    let set = vetoedIn.get(ev);
    if (!set) vetoedIn.set(ev, (set = new Set(Object.keys(ev.vetoes))));
    return set;
  };
  const asWinner = (m: Member, reason: Winner['reason'], ev: Evaluation): Winner => ({ ...m, reason, overridden: vetoed(ev).has(m.symbol) ? ev.vetoes[m.symbol]! : [] });
  const select = (ev: Evaluation): { winners: Winner[]; pruned: Member[]; eligible: number } => {
    const excluded = vetoed(ev);
    const eligible = excluded.size ? members.filter((m) => !excluded.has(m.symbol)) : members;
    const picked = topNPerCluster(eligible, topN).map((m) => asWinner(m, 'top_n', ev));
    const { kept, pruned } = capSectors(picked, sectorCap);
    return { winners: kept, pruned, eligible: eligible.length };
  };
  const sectorEvent = (stage: HtrStage, pruned: Member[]) => {
    if (pruned.length) audit('sector_cap', { htr_stage: stage, sector_cap: sectorCap, pruned: pruned.map((m) => ({ symbol: m.symbol, sector: m.sector, conviction: m.conviction })) });
  };

  // 1. Strict.
  let { winners, pruned, eligible } = select(strict);
  const allPruned: Member[] = [...pruned];
  sectorEvent(1, pruned);
  record(1, winners, { eligible });
  if (winners.length >= minWinners || !rules.relaxation) return { winners, stage: 1, vetoes: strict.vetoes, pruned: allPruned };

  // 2. Relaxed thresholds (soft filters only).
  const ev2 = relaxed();
  const done = (stage: HtrStage): Selection => ({ winners, stage, vetoes: ev2.vetoes, strictVetoes: strict.vetoes, pruned: allPruned });
  ({ winners, pruned, eligible } = select(ev2));
  allPruned.push(...pruned);
  sectorEvent(2, pruned);
  record(2, winners, { eligible, relaxation_amount: rules.relaxationAmount });
  if (winners.length >= minWinners) return done(2);

  // 3. Representative forcing: the best member (no hard veto) of every cluster without a winner.
  const represented = new Set(winners.map((w) => w.cluster));
  const forced: Winner[] = [];
  for (const [cluster, list] of groupByCluster(members)) {
    if (represented.has(cluster)) continue;
    const best = list.find((m) => !ev2.hard.has(m.symbol));
    if (best) forced.push(asWinner(best, 'representative', ev2));
  }
  ({ kept: winners, pruned } = capSectors([...winners, ...forced].sort(byConviction), sectorCap));
  allPruned.push(...pruned);
  sectorEvent(3, pruned);
  audit('representatives_forced', { forced: forced.map((w) => ({ symbol: w.symbol, cluster: w.cluster, conviction: w.conviction, overridden: w.overridden })) });
  record(3, winners);
  if (winners.length >= minWinners) return done(3);

  // 4. Balanced fallback: round robin over clusters until min_winners.
  const chosen = new Set(winners.map((w) => w.symbol));
  const quota = Math.max(1, Math.floor(sectorCap * Math.max(minWinners, winners.length) + 1e-9));
  const sectorCount = new Map<string, number>();
  for (const w of winners) if (w.sector !== null) sectorCount.set(w.sector, (sectorCount.get(w.sector) ?? 0) + 1);
  const queues = [...groupByCluster(members).values()]
    .map((list) => list.filter((m) => !chosen.has(m.symbol) && !ev2.hard.has(m.symbol)).sort((a, b) => Number(ev2.soft.has(a.symbol)) - Number(ev2.soft.has(b.symbol)) || byConviction(a, b)))
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
        filled.push(asWinner(m, 'fallback', ev2));
        progress = true;
        break;
      }
    }
  }
  ({ kept: winners, pruned } = capSectors([...winners, ...filled].sort(byConviction), sectorCap));
  allPruned.push(...pruned);
  sectorEvent(4, pruned);
  audit('balanced_fallback', { sector_quota: quota, filled: filled.map((w) => ({ symbol: w.symbol, cluster: w.cluster, conviction: w.conviction, overridden: w.overridden })) });
  record(4, winners);
  return done(4);
}
