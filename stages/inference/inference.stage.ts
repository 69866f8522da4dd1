/**
 * Inference: the champion ranker scores every symbol; challengers are scored and recorded beside it.
 * `weights` is the seed's shorthand for the champion's `weights` param.
 *
 * Every ranker's conviction lands in `ctx.scores` (keyed by ranker name; a ranker named twice is keyed
 * `name#2`, `name#3`, ...), `ctx.champion` names the champion's key, and a regime-aware champion sets `ctx.regime`
 * (a challenger's reading is recorded, never used). Artifact: scores.json. Audit: one `ranker_scored`
 * event per ranker, `regime_detected` when a regime was read, and `champion_challenger` comparing the champion
 * with each challenger (Spearman rank correlation, top-N overlap).
 */
import type { FeatureTable, SelectionContext } from '../../src/core/context.js';
import { runError } from '../../src/core/errors.js';
import { int, params, pluginRef, pluginRefList, type Static } from '../../src/core/params.js';
import type { PluginRef, Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { isoFromDay } from '../../src/util/dates.js';
import type { Ranker, RankerResult, Regime } from './ranker.js';
import { descendingOrder, spearman, summarize } from './stats.js';

export interface ScoredRanker {
  key: string;
  ref: PluginRef;
  role: 'champion' | 'challenger';
  result: RankerResult;
  rankOf: Int32Array;
  order: number[];
}

export interface Comparison {
  challenger: string;
  spearman: number | null;
  top_n: number;
  overlap: number;
  overlap_fraction: number;
  champion_only: string[];
  challenger_only: string[];
}

/** Keys for a list of refs: the name, then name#2, name#3 for repeats. */
export function rankerKeys(refs: PluginRef[]): string[] {
  const seen = new Map<string, number>();
  return refs.map((r) => {
    const k = (seen.get(r.name) ?? 0) + 1;
    seen.set(r.name, k);
    return k === 1 ? r.name : `${r.name}#${k}`;
  });
}

/** Champion against a challenger: Spearman correlation of their convictions, and how many of each one's top N the other shares. */
export function compareRankers(symbols: string[], champion: ScoredRanker, challenger: ScoredRanker, topN: number): Comparison {
  const n = Math.min(topN, symbols.length);
  const a = new Set(champion.order.slice(0, n));
  const b = new Set(challenger.order.slice(0, n));
  const overlap = [...a].filter((i) => b.has(i)).length;
  const rho = spearman(champion.result.conviction, challenger.result.conviction);
  return {
    challenger: challenger.key,
    spearman: Number.isFinite(rho) ? rho : null,
    top_n: n,
    overlap,
    overlap_fraction: n ? overlap / n : 0,
    champion_only: champion.order.slice(0, n).filter((i) => !b.has(i)).map((i) => symbols[i]),
    challenger_only: challenger.order.slice(0, n).filter((i) => !a.has(i)).map((i) => symbols[i]),
  };
}

const PARAMS = params({
  ranker: pluginRef('ranker', 'The champion ranker (used when `rankers` is not given).', 'mps'),
  rankers: { ...pluginRefList('ranker', 'Champion first, then challengers scored and recorded beside it.'), minItems: 1 },
  audit_top: int('How many top symbols each ranker lists in the audit, and the N of the champion/challenger top-N overlap.', 10, { min: 1 }),
});
export type InferenceParams = Static<typeof PARAMS>;

export class InferenceStage implements Stage<SelectionContext, InferenceParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'inference',
    description: 'Scores symbols with a champion ranker (and challengers, recorded beside it).',
    documents: ['selection'],
    requires: ['features'],
    provides: ['scores'],
    shorthands: { weights: ['rankers', 'ranker'] },
    exclusive: [['ranker', 'rankers']],
    params: PARAMS,
  };

  async execute(ctx: SelectionContext, p: InferenceParams, env: StageEnv): Promise<SelectionContext> {
    const features = ctx.features;
    if (!features) throw runError('NO_FEATURES', 'inference needs features; the feature_engineering stage provides them');
    const refs = p.rankers ?? [p.ranker ?? { name: 'mps', params: {} }];
    const top = p.audit_top ?? 10;
    const keys = rankerKeys(refs);
    const symbols = features.symbols;
    const results = refs.map((ref) => {
      const result = env.plugins.get<Ranker>('ranker', ref.name).score(features, ref.params, ctx, env);
      checkResult(ref.name, result, features);
      return result;
    });
    ctx.scores = Object.fromEntries(results.map((r, k) => [keys[k], { symbols, conviction: r.conviction, ...(r.regime ? { regime: r.regime } : {}) }]));
    ctx.champion = keys[0];
    // Only the champion drives decisions: a challenger's regime reading is recorded (scores.json, audit), and used
    // only when the backtest replays the decisions with that challenger as champion.
    const regime: Regime | undefined = results[0].regime;
    if (regime) ctx.regime = regime;
    // The rest is the rankers' report (rankings, statistics, the audit, scores.json): a replayed decision's is discarded.
    if (env.replay) return ctx;

    const scored: ScoredRanker[] = [];
    for (let r = 0; r < refs.length; r++) {
      const ref = refs[r];
      const result = results[r];
      const { order, rankOf } = descendingOrder(result.conviction);
      const s: ScoredRanker = { key: keys[r], ref, role: r === 0 ? 'champion' : 'challenger', result, order, rankOf };
      scored.push(s);
      if (result.regime) {
        const detector = result.details?.detector as Record<string, unknown> | undefined;
        env.audit.event('inference', 'regime_detected', { ranker: s.key, role: s.role, regime: result.regime, ...(detector ? isoDays(detector) : {}) });
      }
      env.audit.event('inference', 'ranker_scored', {
        ranker: s.key,
        plugin: ref.name,
        role: s.role,
        params: ref.params,
        ...(result.regime ? { regime: result.regime } : {}),
        symbols: symbols.length,
        stats: summarize(result.conviction),
        top: order.slice(0, top).map((i) => ({ symbol: symbols[i], conviction: result.conviction[i] })),
        factors: result.details?.factors ?? {},
        skipped: result.details?.skipped ?? [],
      });
    }
    const champion = scored[0];
    const comparison = scored.slice(1).map((c) => compareRankers(symbols, champion, c, top));
    if (comparison.length) env.audit.event('inference', 'champion_challenger', { champion: champion.key, comparisons: comparison });

    await env.artifacts.writeJson('scores.json', {
      champion: champion.key,
      ...(regime ? { regime } : {}),
      symbols,
      conviction: Object.fromEntries(scored.map((s) => [s.key, s.result.conviction])),
      champion_rank: champion.rankOf,
      rankers: Object.fromEntries(
        scored.map((s) => [
          s.key,
          {
            plugin: s.ref.name,
            role: s.role,
            params: s.ref.params,
            ...(s.result.regime ? { regime: s.result.regime } : {}),
            rank: s.rankOf,
            ...(s.result.details ? { details: isoDays(s.result.details) } : {}),
          },
        ]),
      ),
      comparison,
    });
    env.log(`inference: ${symbols.length} symbols scored by ${scored.map((s) => s.key).join(', ')} (champion ${champion.key}${regime ? `, regime ${regime}` : ''})`);
    return ctx;
  }
}

/** A ranker's result must be one finite-or-NaN number per symbol. */
function checkResult(name: string, r: RankerResult, f: FeatureTable): void {
  if (!(r.conviction instanceof Float64Array) || r.conviction.length !== f.symbols.length)
    throw runError('RANKER_BAD_OUTPUT', `ranker '${name}' returned ${r.conviction?.length ?? 'no'} convictions for ${f.symbols.length} symbols`, 'A ranker returns a Float64Array indexed like features.symbols.');
}

/** Epoch days in a detector record (first_day, last_day) written as ISO dates; nested detector records too. */
function isoDays<T extends Record<string, unknown>>(rec: T): T {
  const out: Record<string, unknown> = { ...rec };
  for (const k of ['first_day', 'last_day']) if (typeof out[k] === 'number') out[k] = isoFromDay(out[k] as number);
  if (out.detector && typeof out.detector === 'object') out.detector = isoDays(out.detector as Record<string, unknown>);
  return out as T;
}
