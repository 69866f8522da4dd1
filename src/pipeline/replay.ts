/**
 * Replays: the stages before a given one, run again on a fresh context as of a past date. The backtest uses it
 * to re-make each decision point in time. Replays are quiet (no artifacts, no audit events) and can run in
 * worker threads (src/exec/replay-pool.ts): the outcome they return is plain data.
 *
 * With `challengers`, the decision is also re-made with each challenger ranker as champion: the stages up to the
 * one that provides `scores` (discovery, features, every ranker's scores) run once and are shared; the stages after
 * it run once per ranker on a copy of that state (core/context.ts withChampion).
 */
import { isoFromDay } from '../util/dates.js';
import { newSelectionContext, withChampion, type AnyContext, type SelectionContext } from '../core/context.js';
import { FractalError } from '../core/errors.js';
import { ownGet } from '../util/keyed.js';
import type { BuiltStage } from './factory.js';
import type { DecisionGrid, ReplayDecision, ReplayOutcome, RunCache, RunServices, StageEnv } from '../core/plugin.js';
import { propertiesOf } from '../core/params.js';

export type { ReplayOutcome };

export interface ReplayOptions {
  lookbackDays?: number;
  /** Also decide with each challenger ranker as champion (ReplayOutcome.challengers). */
  challengers?: boolean;
  /** The backtest's schedule, handed to the stages (StageEnv.replay). */
  grid?: DecisionGrid;
}


export function quietEnv(env: StageEnv): StageEnv {
  return {
    ...env,
    audit: { event: () => {} },
    artifacts: { writeText: async () => '', writeJson: async () => '', writeJsonSection: async () => '', writeBytes: async () => '' },
    log: () => {},
    progress: () => {},
  };
}

/**
 * The run services of a pipeline rebuilt only to replay decisions (a replay worker): the run cache it is given; a
 * replayed stage cannot replay again (NESTED_REPLAY) nor start child runs.
 */
export function replayServices(cache: RunCache): RunServices {
  const nested = () => Promise.reject(new FractalError('NESTED_REPLAY', 'a replayed stage cannot replay again'));
  const none = (): never => {
    throw new Error('a replayed stage cannot run child runs');
  };
  return {
    cache,
    replays: { replay: nested, replayMany: nested },
    childRuns: { runSleeves: none, sleeveConfig: none, cellSpec: none, runCells: none, runsRoot: '', useCache: false },
  };
}

/** Runs stages [from, upto) on `c` as of `asOf`; a policy that lets nothing through is a decision to hold cash. */
async function runStages(stages: BuiltStage[], from: number, upto: number, c: SelectionContext, env: StageEnv, asOf: number, opts: ReplayOptions): Promise<SelectionContext> {
  env = { ...env, replay: opts.grid ? { grid: opts.grid } : {} };
  for (let i = from; i < upto; i++) {
    const s = stages[i];
    const props = propertiesOf(s.meta.params);
    const params = { ...s.params };
    if ('as_of' in props) params.as_of = isoFromDay(asOf);
    if (opts.lookbackDays !== undefined && 'lookback_days' in props) params.lookback_days = opts.lookbackDays;
    try {
      const next: AnyContext | undefined = await s.stage.execute(c, params, env);
      if (next !== undefined && next.kind !== 'selection') throw new Error(`stage '${s.type}' returned a ${next.kind} context from a selection pipeline's replay`);
      c = next ?? c;
    } catch (err) {
      // A past date on which the policy let nothing through, or on which discovery found nothing tradable yet (the
      // calendar is the venue's, which can start before any candidate's history), is a decision to hold cash, not a
      // failed backtest.
      const reason = cashReason(err, s);
      if (!reason) throw err instanceof FractalError ? err.withDefaults({ stage: { index: i, type: s.type } }) : err;
      c.weights = [];
      c.cash_reason = reason;
      return c;
    }
  }
  return c;
}

/** The reason to hold cash when the stage declares the error's code so (StageMeta.cashOn), else undefined. */
export function cashReason(err: unknown, s: BuiltStage): string | undefined {
  return err instanceof FractalError ? ownGet(s.meta.cashOn, err.code) : undefined;
}

/** Runs stages [0, upto) on a fresh context as of `asOf` (a stage with `as_of` gets it; `lookback_days` too). */
export async function replayPrefix(stages: BuiltStage[], upto: number, env: StageEnv, runId: string, asOf: number, opts: ReplayOptions = {}): Promise<SelectionContext> {
  return runStages(stages, 0, upto, newSelectionContext(runId, {}), env, asOf, opts);
}

/** The decision as of `asOf`, and with `challengers` each challenger ranker's, as plain data. */
export async function replayOutcome(stages: BuiltStage[], upto: number, env: StageEnv, runId: string, asOf: number, opts: ReplayOptions = {}): Promise<ReplayOutcome> {
  const fork = opts.challengers ? stages.findIndex((s, i) => i < upto - 1 && s.meta.provides.includes('scores')) : -1;
  if (fork < 0) return outcomeOf(asOf, await replayPrefix(stages, upto, env, runId, asOf, opts));
  const shared = await runStages(stages, 0, fork + 1, newSelectionContext(runId, {}), env, asOf, opts);
  const keys = shared.cash_reason !== undefined ? [] : Object.keys(shared.scores ?? {}).filter((k) => k !== shared.champion);
  // Copies taken before the champion's own decision goes on (it replaces context fields as it runs).
  const copies = keys.map((k) => [k, withChampion(shared, k)] as const);
  const main = shared.cash_reason !== undefined ? shared : await runStages(stages, fork + 1, upto, shared, env, asOf, opts);
  const challengers: Record<string, ReplayDecision> = {};
  for (const [k, c] of copies) challengers[k] = decisionOf(await runStages(stages, fork + 1, upto, c, env, asOf, opts));
  return { ...outcomeOf(asOf, main), challengers };
}

function decisionOf(c: SelectionContext): ReplayDecision {
  const d = c.returns?.dates;
  const adjustments = c.adjustments;
  const allocation = c.allocation_record;
  // The regime the decision saw: the champion's reading, else the first ranker that read one (a challenger).
  const regimeBy = c.regime ? c.champion : Object.keys(c.scores ?? {}).find((k) => c.scores![k]!.regime);
  const regime = c.regime ?? (regimeBy ? c.scores![regimeBy]!.regime : undefined);
  return {
    weights: (c.weights ?? []).map((w) => ({ symbol: w.symbol, weight: w.weight, direction: w.direction })),
    winners: c.winners?.length ?? null,
    lastSeen: d && d.length ? d[d.length - 1] : null,
    engine: c.allocation_engine ?? null,
    ...(c.cash_reason ? { cash_reason: c.cash_reason } : {}),
    ...(adjustments?.length ? { adjustments } : {}),
    ...(allocation && c.cash_reason === undefined ? { allocation } : {}),
    ...(regime ? { regime, ...(regimeBy ? { regime_by: regimeBy } : {}) } : {}),
  };
}

export function outcomeOf(asOf: number, c: SelectionContext): ReplayOutcome {
  return { asOf, ...decisionOf(c), ...(c.champion ? { champion: c.champion } : {}) };
}
