/**
 * Synthesis: winners become strategy atoms `Asset_Logic_Direction`; a SHORT atom's return is -r clipped at -100%
 * (bankruptcy guard).
 *
 * - Logic: the `logic` param, else the candidate's discovery metadata (`logic`, `strategy` or `scanner`, first
 *   found), else 'core'. Direction: LONG, SHORT, or BOTH (one atom of each per winner).
 * - Streams (ctx.atom_returns, a ReturnsMatrix whose symbols are atom ids, rows up to the as-of date only):
 *   LONG = r, SHORT = max(-r, -1). Bad prints (toxic spikes and their reversals) are already out of ctx.returns:
 *   the ingestion stage applies the one toxic-bar rule the backtest's simulator books too (src/lakehouse/toxic.ts).
 */
import { asOfEnd, type Candidate, type ReturnsMatrix, type SelectionContext } from '../../src/core/context.js';
import { runError } from '../../src/core/errors.js';
import { params, str, typed, type Static } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { isoFromDay } from '../../src/util/dates.js';
import { bySymbol, positions } from '../../src/util/keyed.js';

export type Direction = 'LONG' | 'SHORT';
export type Atom = { id: string; symbol: string; logic: string; direction: Direction };

export const atomId = (symbol: string, logic: string, direction: Direction): string => `${symbol}_${logic}_${direction}`;

/** The logic of a candidate's atoms: the param, else its discovery metadata, else 'core'. */
export function logicOf(candidate: Candidate | undefined, param: string | undefined): string {
  if (param) return param;
  const m = candidate?.metadata ?? {};
  for (const key of ['logic', 'strategy', 'scanner']) {
    const v = m[key];
    if (typeof v === 'string' && v.length) return v;
  }
  return 'core';
}

/** One guarded return: SHORT = max(-r, -1). */
export function atomReturn(r: number, direction: Direction): number {
  if (!Number.isFinite(r)) return NaN;
  return direction === 'LONG' ? r : Math.max(-r, -1);
}

const PARAMS = params({
  direction: typed<'LONG' | 'SHORT' | 'BOTH'>({ type: 'string', enum: ['LONG', 'SHORT', 'BOTH'], default: 'LONG', description: 'Direction of the atoms.' }),
  logic: str('Logic name in the atom id; the scanner or strategy name by default.'),
});
export type SynthesisParams = Static<typeof PARAMS>;

export class SynthesisStage implements Stage<SelectionContext, SynthesisParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'synthesis',
    description: 'Turns winners into strategy atoms (Asset_Logic_Direction) with guarded return streams.',
    documents: ['selection'],
    requires: ['winners', 'returns'],
    provides: ['atoms'],
    params: PARAMS,
  };

  async execute(ctx: SelectionContext, p: SynthesisParams, env: StageEnv): Promise<SelectionContext> {
    const returns = ctx.returns;
    if (!returns) throw runError('NO_RETURNS', 'synthesis needs returns; the ingestion stage provides them');
    const winners = ctx.winners ?? [];
    const directions: Direction[] = p.direction === 'BOTH' ? ['LONG', 'SHORT'] : [p.direction];
    const pool = bySymbol(ctx.raw_pool ?? []);
    const index = positions(returns.symbols);
    const T = returns.dates.length;
    const end = asOfEnd(returns, ctx.as_of);

    const missing = winners.filter((s) => !index.has(s));
    if (missing.length) throw runError('WINNER_WITHOUT_RETURNS', `synthesis: winners without returns: ${missing.join(', ')}`);

    const atoms: Atom[] = [];
    for (const symbol of winners) {
      const logic = logicOf(pool.get(symbol), p.logic);
      for (const direction of directions) atoms.push({ id: atomId(symbol, logic, direction), symbol, logic, direction });
    }
    const ids = new Set<string>();
    for (const a of atoms) {
      if (ids.has(a.id)) throw runError('DUPLICATE_ATOM', `synthesis: two atoms named ${a.id}`);
      ids.add(a.id);
    }

    const values = new Float64Array(atoms.length * end);
    const clipped = new Map<string, number>();
    atoms.forEach((a, k) => {
      const j = index.get(a.symbol)!;
      let clips = 0;
      for (let t = 0; t < end; t++) {
        const r = returns.values[j * T + t]!;
        const v = atomReturn(r, a.direction);
        if (a.direction === 'SHORT' && Number.isFinite(v) && -r < -1) clips++;
        values[k * end + t] = v;
      }
      if (clips) clipped.set(a.id, clips);
    });
    const atomReturns: ReturnsMatrix = { dates: returns.dates.slice(0, end), symbols: atoms.map((a) => a.id), values };

    ctx.atoms = atoms;
    ctx.atom_returns = atomReturns;
    if (clipped.size) env.audit.event('synthesis', 'bankruptcy_guard', { clipped: Object.fromEntries(clipped), floor: -1 });
    await env.artifacts.writeJson('atoms.json', {
      direction: p.direction,
      days: end,
      first: end ? isoFromDay(returns.dates[0]!) : null,
      last: end ? isoFromDay(returns.dates[end - 1]!) : null,
      atoms: atoms.map((a) => ({ ...a, bankruptcy_clips: clipped.get(a.id) ?? 0 })),
    });
    env.audit.event('synthesis', 'atoms_synthesised', { atoms: atoms.length, winners: winners.length, directions, bankruptcy_clips: [...clipped.values()].reduce((x, y) => x + y, 0), artifact: 'atoms.json' });
    return ctx;
  }
}
