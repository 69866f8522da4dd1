/**
 * The clustering stage's `cut` param: 'threshold' (the default, the seed's rule: the distance cut, capped at
 * max_clusters) and 'maxclust' (scipy fcluster criterion 'maxclust' alone, the threshold unused). scipy's labels
 * for the maxclust cases come from test/stages/fixtures/funnel/clusters.json (make_clusters.py).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusteringStage, type ClusteringParams } from '../../stages/clustering/clustering.stage.js';
import { context, cryptoReturns, FIXTURE_DIR, matrix, recordingEnv, rng } from './fixtures/funnel/helpers.js';

const defaults: ClusteringParams = { threshold: 0.7, max_clusters: 25, lookbacks: [20, 60, 120], linkage: 'ward', cut: 'threshold' };

/** Three blocks of five symbols driven by three independent factors. */
function blocks(days = 200) {
  const g = rng(11);
  const cols: Record<string, number[]> = {};
  const factors = [0, 1, 2].map(() => Array.from({ length: days }, () => g.normal() * 0.02));
  for (let b = 0; b < 3; b++) for (let k = 0; k < 5; k++) cols[`B${b}S${k}`] = factors[b]!.map((f) => f + g.normal() * 0.004);
  return cols;
}

/** The partition left by the first n − k merges of a linkage [a, b, height, count] (independent union-find). */
function firstMerges(linkage: number[][], n: number, k: number): number[][] {
  const parent = Array.from({ length: 2 * n - 1 }, (_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  for (let s = 0; s < n - k; s++) {
    parent[find(linkage[s]![0]!)] = n + s;
    parent[find(linkage[s]![1]!)] = n + s;
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) groups.set(find(i), [...(groups.get(find(i)) ?? []), i]);
  return [...groups.values()].sort((a, b) => a[0]! - b[0]!);
}

const partition = (labels: ArrayLike<number>): number[][] => {
  const groups = new Map<number, number[]>();
  Array.from(labels).forEach((l, i) => groups.set(l, [...(groups.get(l) ?? []), i]));
  return [...groups.values()].sort((a, b) => a[0]! - b[0]!);
};

test("cut: maxclust gives max_clusters clusters where the threshold gives fewer; the default artifacts do not change", async () => {
  const returns = matrix(blocks());
  const byThreshold = recordingEnv();
  const a = context({ returns });
  await new ClusteringStage().execute(a, { ...defaults, max_clusters: 5 }, byThreshold.env);
  expect(new Set(a.clusters!.labels).size).toBe(3);
  const art = byThreshold.artifacts['clusters.json'];
  expect(art).toMatchObject({ rule: 'distance', cluster_count: 3 });
  expect('cut' in art).toBe(false);
  expect('cut' in byThreshold.events.find((e) => e.event === 'clusters_formed')!.data).toBe(false);

  const byCount = recordingEnv();
  const b = context({ returns });
  await new ClusteringStage().execute(b, { ...defaults, max_clusters: 5, cut: 'maxclust' }, byCount.env);
  const labels = Array.from(b.clusters!.labels);
  expect(new Set(labels).size).toBe(5);
  // The count cut of the same dendrogram: the first n − 5 merges, and a refinement of the three blocks.
  const n = returns.symbols.length;
  const got = partition(labels);
  expect(got).toEqual(firstMerges(byCount.artifacts['clusters.json'].linkage, n, 5));
  for (const g of got) expect(new Set(g.map((i) => Math.floor(i / 5))).size).toBe(1);
  expect(byCount.artifacts['clusters.json']).toMatchObject({ cut: 'maxclust', rule: 'maxclust', cluster_count: 5, clusters_at_threshold: 3 });
  expect(byCount.events.find((e) => e.event === 'clusters_formed')!.data).toMatchObject({ cut: 'maxclust', rule: 'maxclust', clusters: 5 });
  // The seed's CR-650 fallback did not happen: nothing to report.
  expect(byCount.events.some((e) => e.event === 'max_clusters_cut')).toBe(false);
});

interface Case {
  name: string; first: string; last: string; lookbacks: (number | 'all')[]; threshold: number; max_clusters: number;
  symbols: string[]; rule: 'distance' | 'maxclust'; labels: number[];
}
const fixture = JSON.parse(readFileSync(join(FIXTURE_DIR, 'clusters.json'), 'utf8')) as { cases: Case[] };
const maxclustCases = fixture.cases.filter((c) => c.rule === 'maxclust');

test.each(maxclustCases.map((c) => [c.name, c] as const))("cut: maxclust equals scipy's fcluster maxclust, whatever the threshold (%s)", async (_name, c) => {
  const returns = cryptoReturns(c.symbols, c.first, c.last);
  const lookbacks = c.lookbacks.length === 1 ? c.lookbacks[0] : c.lookbacks;
  // A threshold that alone would give one cluster: unused by the maxclust cut.
  for (const threshold of [c.threshold, 100]) {
    const ctx = context({ returns, as_of: returns.dates[returns.dates.length - 1] });
    await new ClusteringStage().execute(ctx, { ...defaults, threshold, max_clusters: c.max_clusters, lookbacks, cut: 'maxclust' }, recordingEnv().env);
    expect(Array.from(ctx.clusters!.labels)).toEqual(c.labels);
  }
});

test('the fixtures hold maxclust cases', () => {
  expect(maxclustCases.length).toBeGreaterThan(0);
});
