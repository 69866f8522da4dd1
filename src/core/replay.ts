/**
 * Replays: the stages before a given one, run again on a fresh context as of a past date. The backtest uses it
 * to re-make each decision point in time. Replays are quiet (no artifacts, no audit events) and can run in
 * worker threads (src/exec/replay-pool.ts): the outcome they return is plain data.
 */
import { isoFromDay } from '../lakehouse/dates.js';
import { newSelectionContext, type SelectionContext } from './context.js';
import { FractalError } from './errors.js';
import type { BuiltStage } from './factory.js';
import type { ReplayOutcome, StageEnv } from './plugin.js';

export type { ReplayOutcome };

export interface ReplayOptions {
  lookbackDays?: number;
}


export function quietEnv(env: StageEnv): StageEnv {
  return {
    ...env,
    audit: { event: () => {} },
    artifacts: { writeText: async () => '', writeJson: async () => '', writeJsonSection: async () => '', writeBytes: async () => '' },
    log: () => {},
    progress: () => {},
    replay: () => Promise.reject(new FractalError('NESTED_REPLAY', 'a replayed stage cannot replay again')),
    replayMany: () => Promise.reject(new FractalError('NESTED_REPLAY', 'a replayed stage cannot replay again')),
  };
}

/** Runs stages [0, upto) on a fresh context as of `asOf` (a stage with `as_of` gets it; `lookback_days` too). */
export async function replayPrefix(stages: BuiltStage[], upto: number, env: StageEnv, runId: string, asOf: number, opts: ReplayOptions = {}): Promise<SelectionContext> {
  let c = newSelectionContext(runId, {});
  for (let i = 0; i < upto; i++) {
    const s = stages[i];
    const props = (s.meta.params.properties ?? {}) as Record<string, unknown>;
    const params = { ...s.params };
    if ('as_of' in props) params.as_of = isoFromDay(asOf);
    if (opts.lookbackDays !== undefined && 'lookback_days' in props) params.lookback_days = opts.lookbackDays;
    try {
      c = (await s.stage.execute(c, params, env)) ?? c;
    } catch (err) {
      // A past date on which the policy let nothing through is a decision to hold cash, not a failed backtest.
      if (!(err instanceof FractalError && err.code === 'NO_WINNERS')) throw err;
      c.weights = [];
      c.extra.cash_reason = 'no winners';
      return c;
    }
  }
  return c;
}

export function outcomeOf(asOf: number, c: SelectionContext): ReplayOutcome {
  const d = c.returns?.dates;
  return { asOf, weights: (c.weights ?? []).map((w) => ({ symbol: w.symbol, weight: w.weight, direction: w.direction })), winners: c.winners?.length ?? null, lastSeen: d && d.length ? d[d.length - 1] : null, engine: (c.extra.allocation_engine as string | undefined) ?? null, ...(c.extra.cash_reason ? { cash_reason: c.extra.cash_reason as string } : {}) };
}
