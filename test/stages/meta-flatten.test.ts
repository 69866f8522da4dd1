/**
 * The flattening identity on random trees of depth ≥ 3: flattening level by level (each meta flattens its
 * sleeves, as meta runs do) gives, for every symbol, the sum over every root-to-leaf path of the product of
 * weights along it; the total equals the target exposure to 1e-9.
 */
import type { SleeveResult, TreeNode } from '../../src/core/context.js';
import { flatten, targetExposure, tree, weightsFromTree } from '../../stages/meta/flatten.js';

let seed = 11;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const SYMBOLS = Array.from({ length: 12 }, (_, i) => `S${i}`);

/** A random meta: 2-4 sleeves, each a selection (random long/short holdings) or, above the leaves, a meta. */
function randomMeta(depth: number, name: string): SleeveResult {
  const k = 2 + Math.floor(rand() * 3);
  const sleeves: Record<string, SleeveResult> = {};
  for (let i = 0; i < k; i++) {
    const sname = `${name}.${i}`;
    if (depth > 1 && (i === 0 || rand() < 0.5)) sleeves[sname] = randomMeta(depth - 1, sname);
    else {
      const n = 1 + Math.floor(rand() * 5);
      const picks = [...SYMBOLS].sort(() => rand() - 0.5).slice(0, n);
      const sign = rand() < 0.3 ? -1 : 1;
      const raw = picks.map(() => rand() + 0.05);
      const total = raw.reduce((a, b) => a + b, 0);
      sleeves[sname] = { name: sname, kind: 'selection', dates: new Int32Array(0), returns: new Float64Array(0), periods_per_year: 365, run: '', cached: false, holdings: [], weights: picks.map((symbol, j) => ({ symbol, weight: (sign * raw[j]) / total, direction: sign > 0 ? 'LONG' : 'SHORT' })) };
    }
  }
  const rw = Object.keys(sleeves).map(() => rand());
  const tw = rw.reduce((a, b) => a + b, 0);
  const metaWeights = Object.fromEntries(Object.keys(sleeves).map((s, i) => [s, rw[i] / tw]));
  const flat = flatten(metaWeights, sleeves);
  return { name, kind: 'meta', dates: new Int32Array(0), returns: new Float64Array(0), periods_per_year: 365, run: '', cached: false, holdings: [], tree: tree(name, metaWeights, sleeves), weights: flat.map((f) => ({ symbol: f.symbol, weight: f.weight, direction: f.direction })), ...{ _metaWeights: metaWeights, _sleeves: sleeves } } as SleeveResult;
}

function depthOf(t: TreeNode): number {
  return 1 + Math.max(0, ...(t.children ?? []).map(depthOf));
}

test.each(Array.from({ length: 40 }, (_, i) => i))('random tree %i: flattening = the sum over every path, and Σ = the target exposure', () => {
  const root = randomMeta(3 + Math.floor(rand() * 2), 'root') as SleeveResult & { _metaWeights: Record<string, number>; _sleeves: Record<string, SleeveResult> };
  expect(depthOf(root.tree!)).toBeGreaterThanOrEqual(4); // root, metas of depth >= 3 below, holdings at leaves
  const byPath = weightsFromTree(root.tree!);
  const flat = new Map(root.weights.map((w) => [w.symbol, w.weight]));
  for (const s of new Set([...byPath.keys(), ...flat.keys()])) expect(Math.abs((flat.get(s) ?? 0) - (byPath.get(s) ?? 0))).toBeLessThan(1e-12);
  const sum = root.weights.reduce((a, w) => a + w.weight, 0);
  expect(Math.abs(sum - targetExposure(root._metaWeights, root._sleeves))).toBeLessThan(1e-9);
});

test('LONG and SHORT of one symbol across sleeves net out, with each sleeve contribution kept', () => {
  const sleeves = {
    long: { weights: [{ symbol: 'BTC', weight: 0.6, direction: 'LONG' as const }, { symbol: 'ETH', weight: 0.4, direction: 'LONG' as const }] },
    short: { weights: [{ symbol: 'BTC', weight: -1, direction: 'SHORT' as const }] },
  };
  const f = flatten({ long: 0.5, short: 0.5 }, sleeves);
  expect(f).toEqual([
    { symbol: 'BTC', weight: -0.2, direction: 'SHORT', sleeves: { long: 0.3, short: -0.5 } },
    { symbol: 'ETH', weight: 0.2, direction: 'LONG', sleeves: { long: 0.2 } },
  ]);
  expect(targetExposure({ long: 0.5, short: 0.5 }, sleeves)).toBeCloseTo(0, 15);
});
