/**
 * Clustering: partitions equal scipy's (fcluster on Ward of the averaged-correlation distance) on real Binance
 * closes, fixtures from test/stages/fixtures/funnel/make_clusters.py; the stage's context, artifact and audit; and
 * no row after the as-of date is read.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dayFromIso } from '../../src/util/dates.js';
import { ClusteringStage, clusterReturns, type ClusteringParams } from '../../stages/clustering/clustering.stage.js';
import { context, cryptoReturns, FIXTURE_DIR, matrix, recordingEnv, rng } from './fixtures/funnel/helpers.js';

interface Case {
  name: string; first: string; last: string; lookbacks: (number | 'all')[]; threshold: number; max_clusters: number;
  symbols: string[]; rule: 'distance' | 'maxclust'; clusters_at_threshold: number; labels: number[]; heights: number[];
}
const fixture = JSON.parse(readFileSync(join(FIXTURE_DIR, 'clusters.json'), 'utf8')) as { cases: Case[] };

const defaults: ClusteringParams = { threshold: 0.7, max_clusters: 25, lookbacks: [20, 60, 120], linkage: 'ward', cut: 'threshold' };

describe('partitions equal scipy on ../shared/data/crypto', () => {
  test('the fixtures cover both cut rules', () => {
    expect(new Set(fixture.cases.map((c) => c.rule))).toEqual(new Set(['distance', 'maxclust']));
  });

  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const returns = cryptoReturns(c.symbols, c.first, c.last);
    const r = clusterReturns(returns.values, c.symbols.length, returns.dates.length, { lookbacks: c.lookbacks, threshold: c.threshold, maxClusters: c.max_clusters });
    expect(Array.from(r.labels)).toEqual(c.labels);
    expect(r.rule).toBe(c.rule);
    expect(r.distanceClusterCount).toBe(c.clusters_at_threshold);
    const heights = Array.from({ length: c.symbols.length - 1 }, (_, k) => r.linkage[k * 4 + 2]);
    heights.forEach((h, k) => expect(h).toBeCloseTo(c.heights[k]!, 10));

    // The same through the stage: ctx.clusters, clusters.json, the audit.
    const { env, events, artifacts } = recordingEnv();
    const ctx = context({ returns, as_of: returns.dates[returns.dates.length - 1] });
    const lookbacks = c.lookbacks.length === 1 ? c.lookbacks[0] : c.lookbacks;
    await new ClusteringStage().execute(ctx, { ...defaults, threshold: c.threshold, max_clusters: c.max_clusters, lookbacks }, env);
    expect(Array.from(ctx.clusters!.labels)).toEqual(c.labels);
    expect(ctx.clusters!.symbols).toEqual(c.symbols);
    const art = artifacts['clusters.json'];
    expect(art.rule).toBe(c.rule);
    expect(art.linkage).toHaveLength(c.symbols.length - 1);
    expect(art.clusters.flatMap((k: { members: string[] }) => k.members).sort()).toEqual([...c.symbols].sort());
    for (const k of art.clusters) for (const m of k.members) expect(c.labels[c.symbols.indexOf(m)]).toBe(k.id);
    const formed = events.find((e) => e.event === 'clusters_formed')!;
    expect(formed.data).toMatchObject({ rule: c.rule, clusters: Math.max(...c.labels), symbols: c.symbols.length });
    expect(events.some((e) => e.event === 'max_clusters_cut')).toBe(c.rule === 'maxclust');
  });
});

describe('constructed data', () => {
  /** Three blocks of five symbols driven by three independent factors, 200 days. */
  function blocks(days = 200) {
    const g = rng(11);
    const cols: Record<string, number[]> = {};
    const factors = [0, 1, 2].map(() => Array.from({ length: days }, () => g.normal() * 0.02));
    for (let b = 0; b < 3; b++) for (let k = 0; k < 5; k++) cols[`B${b}S${k}`] = factors[b]!.map((f) => f + g.normal() * 0.004);
    return cols;
  }

  test('three factor blocks give three clusters; max_clusters 2 switches to the maxclust cut', async () => {
    const returns = matrix(blocks());
    const { env } = recordingEnv();
    const ctx = context({ returns });
    await new ClusteringStage().execute(ctx, defaults, env);
    const labels = Array.from(ctx.clusters!.labels);
    expect(new Set(labels).size).toBe(3);
    for (let b = 0; b < 3; b++) expect(new Set(labels.slice(b * 5, b * 5 + 5)).size).toBe(1);
    const capped = recordingEnv();
    const ctx2 = context({ returns });
    await new ClusteringStage().execute(ctx2, { ...defaults, max_clusters: 2 }, capped.env);
    expect(new Set(ctx2.clusters!.labels).size).toBe(2);
    expect(capped.artifacts['clusters.json']).toMatchObject({ rule: 'maxclust', clusters_at_threshold: 3, cluster_count: 2 });
  });

  test('rows after the as-of date are never read: poisoning them changes nothing', async () => {
    const clean = matrix(blocks(200));
    const asOf = clean.dates[149]!;
    // Keep 150 days, then 50 poisoned days that, if read, would merge the blocks into one and flip every sign.
    const cut = matrix(Object.fromEntries(clean.symbols.map((s, j) => [s, Array.from(clean.values.subarray(j * 200, j * 200 + 150))])));
    const poisoned = matrix(Object.fromEntries(clean.symbols.map((s, j) => [s, [...clean.values.subarray(j * 200, j * 200 + 150), ...Array.from({ length: 50 }, (_, t) => (t % 2 ? 1e6 : -0.99) * (j % 2 ? 1 : -1))]])));
    expect(dayFromIso('2024-01-01') + 149).toBe(asOf);
    const a = context({ returns: cut, as_of: asOf });
    const b = context({ returns: poisoned, as_of: asOf });
    const ra = recordingEnv();
    const rb = recordingEnv();
    await new ClusteringStage().execute(a, { ...defaults, lookbacks: [20, 60, 'all'] }, ra.env);
    await new ClusteringStage().execute(b, { ...defaults, lookbacks: [20, 60, 'all'] }, rb.env);
    expect(Array.from(b.clusters!.labels)).toEqual(Array.from(a.clusters!.labels));
    expect(Array.from(b.clusters!.linkage!)).toEqual(Array.from(a.clusters!.linkage!));
    // Without the as-of date the poisoned rows are read, and the answer changes (the test can fail).
    const c = context({ returns: poisoned });
    await new ClusteringStage().execute(c, { ...defaults, lookbacks: [20, 60, 'all'] }, recordingEnv().env);
    expect(Array.from(c.clusters!.linkage!)).not.toEqual(Array.from(a.clusters!.linkage!));
  });

  test('one symbol is one cluster', async () => {
    const ctx = context({ returns: matrix({ BTC: [0.01, -0.02, 0.03] }) });
    await new ClusteringStage().execute(ctx, defaults, recordingEnv().env);
    expect(Array.from(ctx.clusters!.labels)).toEqual([1]);
  });
});
