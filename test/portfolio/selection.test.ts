/**
 * selectWinners and its rules (src/portfolio/selection.ts) on pools of four or five members whose winners are
 * worked out by hand: the sector cap's cascade, each HTR stage reached in turn, the relaxed filters asked for only
 * when stage 1 leaves too few, and entropy hardening.
 */
import type { Veto } from '../../src/core/context.js';
import { capSectors, hardenEntropy, selectWinners, type Evaluation, type Member, type SelectionRules } from '../../src/portfolio/selection.js';

const m = (symbol: string, cluster: number, conviction: number, sector: string | null = null): Member => ({ symbol, cluster, conviction, sector });
const veto = (filter: string): Veto => ({ filter, metric: 'x', value: 1, threshold: 0 });
/** `soft` and `hard` name the symbols vetoed by a soft and a hard filter. */
function evaluation(soft: string[], hard: string[] = []): Evaluation {
  const vetoes: Record<string, Veto[]> = {};
  for (const s of soft) (vetoes[s] ??= []).push(veto('spectral'));
  for (const s of hard) (vetoes[s] ??= []).push(veto('tail_risk'));
  return { vetoes, soft: new Set(soft), hard: new Set(hard) };
}
const RULES: SelectionRules = { topN: 1, sectorCap: 1, minWinners: 2, relaxation: true, relaxationAmount: 0.2 };
// Cluster 1: a (10), b (9); cluster 2: c (8), d (7).
const POOL = [m('a', 1, 10), m('b', 1, 9), m('c', 2, 8), m('d', 2, 7)];
const never = (): Evaluation => { throw new Error('the relaxed filters were asked for'); };

test('capSectors: 3 of 5 in X at cap 0.4 (2 allowed) drops c, then 2 of 4 (1 allowed) drops b', () => {
  const w = [m('a', 1, 10, 'X'), m('b', 1, 9, 'X'), m('c', 1, 8, 'X'), m('d', 1, 7, 'Y'), m('e', 1, 6)];
  const { kept, pruned } = capSectors(w, 0.4);
  expect(kept.map((x) => x.symbol)).toEqual(['a', 'd', 'e']);
  expect(pruned.map((x) => x.symbol)).toEqual(['c', 'b']);
});

test('stage 1: the best of each cluster; the relaxed filters are never evaluated', () => {
  const s = selectWinners(POOL, evaluation([]), never, RULES);
  expect(s.stage).toBe(1);
  expect(s.winners.map((w) => [w.symbol, w.reason])).toEqual([['a', 'top_n'], ['c', 'top_n']]);
  expect(s.strictVetoes).toBeUndefined();
});

test('stage 2: c and d vetoed strictly, only d when relaxed: a and c', () => {
  const strict = evaluation(['c', 'd']);
  const relaxed = evaluation(['d']);
  const notes: string[] = [];
  const s = selectWinners(POOL, strict, () => relaxed, RULES, (e) => notes.push(e));
  expect(s.stage).toBe(2);
  expect(s.winners.map((w) => w.symbol)).toEqual(['a', 'c']);
  expect(s.vetoes).toBe(relaxed.vetoes);
  expect(s.strictVetoes).toBe(strict.vetoes);
  expect(notes).toEqual(['htr_stage', 'htr_stage']);
});

test('stage 3: cluster 2 has no clean member; c (soft veto, overridden) represents it, d (hard) never', () => {
  const relaxed = evaluation(['c'], ['d']);
  const s = selectWinners(POOL, relaxed, () => relaxed, RULES);
  expect(s.stage).toBe(3);
  expect(s.winners.map((w) => [w.symbol, w.reason])).toEqual([['a', 'top_n'], ['c', 'representative']]);
  expect(s.winners[1]!.overridden).toEqual([veto('spectral')]);
});

test('stage 4: min_winners 3 fills round robin with b (cluster 2 has only the hard-vetoed d left)', () => {
  const relaxed = evaluation(['c'], ['d']);
  const s = selectWinners(POOL, relaxed, () => relaxed, { ...RULES, minWinners: 3 });
  expect(s.stage).toBe(4);
  expect(s.winners.map((w) => [w.symbol, w.reason])).toEqual([['a', 'top_n'], ['b', 'fallback'], ['c', 'representative']]);
  // No member is left: 3 winners, never d.
  const more = selectWinners(POOL, relaxed, () => relaxed, { ...RULES, minWinners: 4 });
  expect(more.winners.map((w) => w.symbol)).toEqual(['a', 'b', 'c']);
});

test('relaxation off: stage 1 stands with too few winners', () => {
  const s = selectWinners(POOL, evaluation(['c', 'd']), never, { ...RULES, relaxation: false });
  expect(s.stage).toBe(1);
  expect(s.winners.map((w) => w.symbol)).toEqual(['a']);
});

test('entropy hardening: mean of the finite entropies above the trigger tightens every entropy_max by the factor', () => {
  const on = hardenEntropy(Float64Array.from([0.96, 0.98, NaN]), [{ entropy_max: 0.99 }, { kurtosis_max: 10 }], { enabled: true, trigger: 0.95, factor: 0.9 });
  expect(on.meanEntropy).toBeCloseTo(0.97, 12);
  expect(on.hardened).toBe(true);
  expect(on.strict[0]!.entropy_max).toBeCloseTo(0.891, 12);
  expect(on.strict[1]).toEqual({ kurtosis_max: 10 });
  const below = hardenEntropy(Float64Array.from([0.9, 0.95]), [{ entropy_max: 0.99 }], { enabled: true, trigger: 0.95, factor: 0.9 });
  expect(below.hardened).toBe(false);
  expect(below.strict).toEqual([{ entropy_max: 0.99 }]);
  expect(hardenEntropy(Float64Array.from([0.99]), [{ entropy_max: 0.99 }], { enabled: false, trigger: 0.95, factor: 0.9 }).hardened).toBe(false);
});
