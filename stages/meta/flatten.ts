/**
 * Flattening a meta allocation to physical weights (seeds: WeightFlattener). A sleeve's weights are already
 * physical (a child meta flattened its own); the physical weight of a symbol is Σ over sleeves of meta weight ×
 * the sleeve's weight of it, so LONG and SHORT holdings of one symbol across sleeves net out. The tree keeps
 * every level uncollapsed for audit. Everything is taken as of one day: a sleeve's weights and tree then.
 */
import type { FlatWeight, SleeveResult, TreeNode } from '../../src/core/context.js';
import { byCodeUnit } from '../../src/util/order.js';
import { holdingsAt } from './walk-forward.js';
import { dict, ownGet } from '../../src/util/keyed.js';

/** What flattening reads of a sleeve: its physical weights (and a meta's tree) as of one day. */
export type SleeveAsOf = { kind: SleeveResult['kind']; weights: { symbol: string; weight: number }[]; tree?: TreeNode };

/** A sleeve as of `day`: its last decision on or before it (none yet: nothing held). */
export function sleeveAsOf(r: SleeveResult, day: number): SleeveAsOf {
  const weights = holdingsAt(r.holdings, day);
  if (r.kind !== 'meta') return { kind: r.kind, weights };
  const trees = r.trees ?? [];
  let k = trees.length;
  while (k > 0 && trees[k - 1].date > day) k--;
  return { kind: 'meta', weights, tree: k ? trees[k - 1].tree : { name: r.name, kind: 'meta', weight: 1, children: [], note: 'no decision yet' } };
}

export function flatten(metaWeights: Record<string, number>, sleeves: Record<string, Pick<SleeveAsOf, 'weights'>>): FlatWeight[] {
  const by = new Map<string, FlatWeight>();
  for (const [sleeve, w] of Object.entries(metaWeights)) {
    if (w === 0) continue; // no contribution to attribute
    for (const h of ownGet(sleeves, sleeve)?.weights ?? []) {
      const c = w * h.weight;
      const f = by.get(h.symbol) ?? { symbol: h.symbol, weight: 0, direction: 'LONG' as const, sleeves: dict<number>() };
      f.weight += c;
      f.sleeves[sleeve] = (f.sleeves[sleeve] ?? 0) + c;
      by.set(h.symbol, f);
    }
  }
  return [...by.values()]
    .map((f) => ({ ...f, direction: f.weight < 0 ? ('SHORT' as const) : ('LONG' as const) }))
    .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight) || byCodeUnit(a.symbol, b.symbol));
}

/** Σ flattened weight must equal Σ_s meta weight × the sleeve's net exposure (the seeds' Stable Sum Gate). */
export function targetExposure(metaWeights: Record<string, number>, sleeves: Record<string, Pick<SleeveAsOf, 'weights'>>): number {
  let t = 0;
  for (const [s, w] of Object.entries(metaWeights)) t += w * (ownGet(sleeves, s)?.weights ?? []).reduce((a, h) => a + h.weight, 0);
  return t;
}

/** The tree of a meta decision; `notes` say why a sleeve holds nothing (left out of that decision, say). */
export function tree(name: string, metaWeights: Record<string, number>, sleeves: Record<string, SleeveAsOf>, vetoed: Record<string, string> = {}, notes: Record<string, string> = {}): TreeNode {
  const children: TreeNode[] = Object.entries(metaWeights).map(([s, w]) => {
    const r = ownGet(sleeves, s)!;
    const note = ownGet(notes, s) ? { note: ownGet(notes, s) } : {};
    if (r.kind === 'meta' && r.tree) return { ...r.tree, name: s, weight: w, ...note };
    return { name: s, kind: 'selection', weight: w, holdings: r.weights.map((h) => ({ symbol: h.symbol, weight: h.weight })), ...note };
  });
  for (const [s, why] of Object.entries(vetoed)) children.push({ name: s, kind: ownGet(sleeves, s)?.kind ?? 'selection', weight: 0, note: why });
  return { name, kind: 'meta', weight: 1, children };
}

/** The physical weights a tree implies, by walking every root-to-leaf path (the audit's independent route). */
export function weightsFromTree(node: TreeNode, scale = 1): Map<string, number> {
  const out = new Map<string, number>();
  const w = scale * node.weight;
  for (const h of node.holdings ?? []) out.set(h.symbol, (out.get(h.symbol) ?? 0) + w * h.weight);
  for (const c of node.children ?? []) for (const [s, x] of weightsFromTree(c, w)) out.set(s, (out.get(s) ?? 0) + x);
  return out;
}
