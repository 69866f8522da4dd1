/**
 * Clustering: Ward linkage on the correlation distance sqrt(0.5(1-rho)), correlations averaged over several
 * lookbacks, cut at `threshold`, or at exactly `max_clusters` when the threshold gives more (`cut: maxclust`: at
 * `max_clusters` only, as scipy's fcluster criterion 'maxclust').
 *
 * Steps (docs/funnel.md): the returns up to the as-of date (never a later row); for each lookback L the pandas
 * pairwise correlation over the last L rows ('all' = every row), undefined entries set to 0 (1 on the diagonal);
 * their mean; d = sqrt(0.5 (1 - rho)); scipy-equal Ward linkage (src/math/ward.ts); scipy fcluster 'distance' at
 * `threshold`, or 'maxclust' at `max_clusters` when the distance cut has more clusters (CR-650).
 */
import { asOfEnd, type SelectionContext } from '../../src/core/context.js';
import { inputError, runError } from '../../src/core/errors.js';
import { int, num, oneOfStr, params, typed, type Static } from '../../src/core/params.js';
import { inject } from 'inversify';
import { type RunCache, SERVICE, type Stage, type StageEnv, type StageMeta } from '../../src/core/plugin.js';
import { averageCorrelation, type WindowMoments } from '../../src/math/correlation.js';
import { BlockMoments } from '../../src/math/block-moments.js';
import { cutWithCap, fclusterMaxclust, linkageRows, wardLinkageWritten } from '../../src/math/ward.js';

export type Lookback = number | 'all';

/** The run cache's key of the clustering's n × n working matrix (only when Ward runs in JavaScript). */
const SCRATCH = 'clustering.scratch';
/** The run cache's key of the block moments reused across a backtest's windows (src/math/block-moments.ts). */
const MOMENTS = 'clustering.moments';

/** 'threshold': the distance cut, capped at max_clusters (the seed's rule); 'maxclust': the count cut alone. */
export const CUTS = ['threshold', 'maxclust'] as const;
export type Cut = (typeof CUTS)[number];

export function normaliseLookbacks(value: Lookback | Lookback[] | undefined): Lookback[] {
  return Array.isArray(value) ? value : [value ?? 'all'];
}

export interface ClusteringResult {
  labels: Int32Array;
  linkage: Float64Array;
  rule: 'distance' | 'maxclust' | 'single';
  clusterCount: number;
  distanceClusterCount: number;
  days: number;
}

/**
 * Partition the symbols of a column-major returns block (`nDays` rows, the last one the as-of date).
 * Exported for tests and for callers that cluster outside a pipeline.
 */
export function clusterReturns(values: Float64Array, nSymbols: number, nDays: number, opts: { lookbacks: Lookback[]; threshold: number; maxClusters: number; cut?: Cut; scratch?: () => Float64Array; moments?: WindowMoments; end?: number }): ClusteringResult {
  const end = opts.end ?? nDays;
  if (nSymbols === 1) return { labels: Int32Array.of(1), linkage: new Float64Array(0), rule: 'single', clusterCount: 1, distanceClusterCount: 1, days: end };
  const { scratch, moments } = opts;
  // The averaged correlation (symmetric, finite) becomes the distance matrix in Ward's working matrix itself (the
  // SIMD engine's memory; `scratch` only for the JavaScript loop): one n x n matrix for the three, written once,
  // its upper triangle only (Ward mirrors it).
  const write = (square: Float64Array) => {
    averageCorrelation({ values, nSymbols, nDays }, opts.lookbacks, { end, distance: true, out: square, upperOnly: true, ...(moments ? { moments } : {}) });
  };
  const linkage = wardLinkageWritten(nSymbols, write, scratch ? { square: scratch } : {});
  const cut = opts.cut === 'maxclust' ? maxclustCut(linkage, opts.maxClusters) : cutWithCap(linkage, opts.threshold, opts.maxClusters);
  let distanceClusterCount = cut.clusterCount;
  if (cut.rule === 'maxclust') {
    // How many the threshold alone would have given (for the record): the merges above it, plus one.
    let above = 0;
    for (let r = 0; r < nSymbols - 1; r++) if (linkage[r * 4 + 2]! > opts.threshold) above++;
    distanceClusterCount = above + 1;
  }
  return { labels: cut.labels, linkage, rule: cut.rule, clusterCount: cut.clusterCount, distanceClusterCount, days: end };
}

function maxclustCut(linkage: Float64Array, maxClusters: number): { labels: Int32Array; clusterCount: number; rule: 'maxclust' } {
  const labels = fclusterMaxclust(linkage, maxClusters);
  let count = 0;
  for (const label of labels) if (label > count) count = label;
  return { labels, clusterCount: count, rule: 'maxclust' };
}

const PARAMS = params({
  threshold: num('Distance at which the dendrogram is cut.', 0.7, { exclusiveMin: 0 }),
  max_clusters: int('At most this many clusters (the cut that gives exactly this many when the threshold gives more).', 25, { min: 1 }),
  lookbacks: typed<Lookback | Lookback[]>({
    description: "Trailing windows (days) whose correlations are averaged: a list, one value, or 'all'.",
    default: [20, 60, 120],
    anyOf: [
      { type: 'integer', minimum: 2 },
      { const: 'all' },
      { type: 'array', minItems: 1, items: { anyOf: [{ type: 'integer', minimum: 2 }, { const: 'all' }] } },
    ],
  }),
  linkage: typed<'ward'>({ type: 'string', enum: ['ward'], default: 'ward', description: 'Linkage method (Ward, equal to scipy).' }),
  cut: oneOfStr(CUTS, "How the dendrogram is cut: 'threshold' at `threshold`, or at `max_clusters` when the threshold gives more clusters; 'maxclust' at `max_clusters` alone (scipy fcluster criterion 'maxclust': the lowest merge height that leaves at most that many clusters), `threshold` unused.", 'threshold'),
});
export type ClusteringParams = Static<typeof PARAMS>;

export class ClusteringStage implements Stage<SelectionContext, ClusteringParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'clustering',
    description: 'Partitions symbols by Ward linkage on correlation distance, averaged over several lookbacks; cut at a distance threshold capped at max_clusters, or (cut: maxclust) at max_clusters alone.',
    documents: ['selection'],
    requires: ['returns'],
    provides: ['clusters'],
    params: PARAMS,
  };

  constructor(@inject(SERVICE.RunCache) private readonly cache?: RunCache) {}

  async execute(ctx: SelectionContext, p: ClusteringParams, env: StageEnv): Promise<SelectionContext> {
    const returns = ctx.returns;
    if (!returns) throw runError('NO_RETURNS', 'clustering needs returns; the ingestion stage provides them');
    const n = returns.symbols.length;
    if (n === 0) throw runError('EMPTY_UNIVERSE', 'clustering got no symbols');
    const T = returns.dates.length;
    // Never read a row after the as-of date.
    const end = asOfEnd(returns, ctx.as_of);
    if (end < 2) throw inputError('NOT_ENOUGH_HISTORY', `clustering needs at least 2 days of returns up to the as-of date, got ${end}`);

    const lookbacks = normaliseLookbacks(p.lookbacks);
    const threshold = p.threshold;
    const maxClusters = p.max_clusters;
    const cut = p.cut ?? 'threshold';
    // Without WebAssembly SIMD (Ward in JavaScript), one n × n working matrix per run (per worker thread) for the
    // correlation, distance and Ward, not one per backtest window: nothing of it outlives clusterReturns.
    const cache = this.cache; // a stage made without the container (a test's) has none: a matrix per call then
    const scratch = cache
      ? () => {
          const kept = cache.get<Float64Array>(SCRATCH);
          return kept && kept.length === n * n ? kept : cache.set(SCRATCH, new Float64Array(n * n));
        }
      : undefined;
    // In a backtest's replay, block moments reused across its windows (kept per run and thread, like the scratch).
    const grid = env.replay?.grid;
    let moments: WindowMoments | undefined;
    if (grid && cache) {
      let blocks = cache.get<BlockMoments>(MOMENTS);
      if (!blocks || blocks.grid !== grid) {
        blocks?.release();
        // The lookbacks in days are the windows' lengths in rows: they share the memory budget, in their order.
        const made = new BlockMoments(grid, lookbacks.filter((l): l is number => typeof l === 'number'));
        blocks = cache.set(MOMENTS, made, () => made.release());
      }
      moments = { cache: blocks, dates: returns.dates, columns: returns.symbols };
    }
    // The rows after the as-of date are never read: every window ends at `end`.
    const result = clusterReturns(returns.values, n, T, { lookbacks, threshold, maxClusters, cut, end, ...(scratch ? { scratch } : {}), ...(moments ? { moments } : {}) });

    ctx.clusters = { labels: result.labels, symbols: returns.symbols, linkage: result.linkage };
    // The rest is the record (clusters.json, the audit, the log): a replayed decision's is discarded.
    if (env.replay) return ctx;
    const members = new Map<number, string[]>();
    result.labels.forEach((label, j) => {
      const list = members.get(label) ?? [];
      list.push(returns.symbols[j]!);
      members.set(label, list);
    });
    const clusters = [...members.entries()].sort(([a], [b]) => a - b).map(([id, symbols]) => ({ id, size: symbols.length, members: symbols }));
    const rule = result.rule === 'maxclust' ? 'maxclust' : 'distance';
    await env.artifacts.writeJson('clusters.json', {
      method: 'ward',
      distance: 'sqrt(0.5 * (1 - rho))',
      lookbacks,
      days: end,
      threshold,
      max_clusters: maxClusters,
      ...(cut !== 'threshold' ? { cut } : {}),
      rule,
      clusters_at_threshold: result.distanceClusterCount,
      cluster_count: result.clusterCount,
      symbols: returns.symbols,
      labels: result.labels,
      clusters,
      linkage: linkageRows(result.linkage),
    });
    env.audit.event('clustering', 'clusters_formed', {
      symbols: n,
      days: end,
      lookbacks,
      threshold,
      max_clusters: maxClusters,
      ...(cut !== 'threshold' ? { cut } : {}),
      rule,
      clusters_at_threshold: result.distanceClusterCount,
      clusters: result.clusterCount,
      largest: Math.max(...clusters.map((c) => c.size)),
      singletons: clusters.filter((c) => c.size === 1).length,
      artifact: 'clusters.json',
    });
    if (rule === 'maxclust' && cut === 'threshold')
      env.audit.event('clustering', 'max_clusters_cut', { clusters_at_threshold: result.distanceClusterCount, max_clusters: maxClusters, reason: `the cut at ${threshold} gives more than ${maxClusters} clusters (CR-650)` });
    env.log(`clustering: ${n} symbols → ${result.clusterCount} clusters (${rule} cut)`);
    return ctx;
  }
}
