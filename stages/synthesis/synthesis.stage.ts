/**
 * Synthesis: winners become strategy atoms `Asset_Logic_Direction`; a SHORT atom's return is -r clipped at -100%
 * (bankruptcy guard); daily moves above the toxic threshold are dropped.
 *
 * - Logic: the `logic` param, else the candidate's discovery metadata (`logic`, `strategy` or `scanner`, first
 *   found), else 'core'. Direction: LONG, SHORT, or BOTH (one atom of each per winner).
 * - Streams (ctx.atom_returns, a ReturnsMatrix whose symbols are atom ids, rows up to the as-of date only):
 *   a daily return r > toxic_threshold (5 = +500%) is a data artefact (seed 003, phases 187-189) and becomes NaN in
 *   every atom of that symbol, with one audit event per drop; then LONG = r, SHORT = max(-r, -1).
 */
import { asOfEnd, type Candidate, type ReturnsMatrix, type SelectionContext } from '../../src/core/context.js';
import { runError } from '../../src/core/errors.js';
import { num, params, str } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { isoFromDay } from '../../src/lakehouse/dates.js';

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

/** One guarded return: toxic moves dropped (NaN), SHORT = max(-r, -1). */
export function atomReturn(r: number, direction: Direction, toxicThreshold: number): number {
  if (!Number.isFinite(r) || r > toxicThreshold) return NaN;
  return direction === 'LONG' ? r : Math.max(-r, -1);
}

/**
 * Toxic days of one return column: a rise above the threshold, and the next observed day too when it gives the
 * spike back (gross return below 1/(1 + threshold)): a bad print and its reversal. Dropping only the rise would
 * leave a -99.9% day, which a SHORT atom books as a +99.9% profit.
 */
export function toxicDays(column: Float64Array, threshold: number): Uint8Array {
  const out = new Uint8Array(column.length);
  for (let t = 0; t < column.length; t++) {
    if (!(column[t]! > threshold)) continue;
    out[t] = 1;
    let u = t + 1;
    while (u < column.length && !Number.isFinite(column[u]!)) u++;
    if (u < column.length && 1 + column[u]! < 1 / (1 + threshold)) out[u] = 1;
  }
  return out;
}

export class SynthesisStage implements Stage<SelectionContext> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'synthesis',
    description: 'Turns winners into strategy atoms (Asset_Logic_Direction) with guarded return streams.',
    documents: ['selection'],
    requires: ['winners', 'returns'],
    provides: ['atoms'],
    params: params({
      direction: { type: 'string', enum: ['LONG', 'SHORT', 'BOTH'], default: 'LONG', description: 'Direction of the atoms.' },
      logic: str('Logic name in the atom id; the scanner or strategy name by default.'),
      toxic_threshold: num('Daily returns above this (5 = +500%) are dropped as toxic, with the next day when it gives the spike back.', 5, { exclusiveMin: 0 }),
    }),
  };

  async execute(ctx: SelectionContext, p: Record<string, unknown>, env: StageEnv): Promise<SelectionContext> {
    const returns = ctx.returns;
    if (!returns) throw runError('NO_RETURNS', 'synthesis needs returns; the ingestion stage provides them');
    const winners = ctx.winners ?? [];
    const toxic = p.toxic_threshold as number;
    const directions: Direction[] = p.direction === 'BOTH' ? ['LONG', 'SHORT'] : [p.direction as Direction];
    const pool = new Map((ctx.raw_pool ?? []).map((c) => [c.symbol, c]));
    const index = new Map(returns.symbols.map((s, j) => [s, j]));
    const T = returns.dates.length;
    const end = asOfEnd(returns, ctx.as_of);

    const missing = winners.filter((s) => !index.has(s));
    if (missing.length) throw runError('WINNER_WITHOUT_RETURNS', `synthesis: winners without returns: ${missing.join(', ')}`);

    const atoms: Atom[] = [];
    for (const symbol of winners) {
      const logic = logicOf(pool.get(symbol), p.logic as string | undefined);
      for (const direction of directions) atoms.push({ id: atomId(symbol, logic, direction), symbol, logic, direction });
    }
    const ids = new Set<string>();
    for (const a of atoms) {
      if (ids.has(a.id)) throw runError('DUPLICATE_ATOM', `synthesis: two atoms named ${a.id}`);
      ids.add(a.id);
    }

    const values = new Float64Array(atoms.length * end);
    const drops: { symbol: string; date: string; value: number }[] = [];
    const clipped = new Map<string, number>();
    const toxicBySymbol = new Map<string, Uint8Array>();
    for (const symbol of winners) {
      const j = index.get(symbol)!;
      const mask = toxicDays(returns.values.subarray(j * T, j * T + end), toxic);
      toxicBySymbol.set(symbol, mask);
      for (let t = 0; t < end; t++) {
        if (!mask[t]) continue;
        const r = returns.values[j * T + t]!;
        drops.push({ symbol, date: isoFromDay(returns.dates[t]!), value: r });
        env.audit.event('synthesis', 'toxic_return_dropped', { symbol, date: isoFromDay(returns.dates[t]!), value: r, threshold: toxic, reversal: !(r > toxic) });
      }
    }
    atoms.forEach((a, k) => {
      const j = index.get(a.symbol)!;
      const mask = toxicBySymbol.get(a.symbol)!;
      let clips = 0;
      for (let t = 0; t < end; t++) {
        const r = returns.values[j * T + t]!;
        const v = mask[t] ? NaN : atomReturn(r, a.direction, toxic);
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
      toxic_threshold: toxic,
      days: end,
      first: end ? isoFromDay(returns.dates[0]!) : null,
      last: end ? isoFromDay(returns.dates[end - 1]!) : null,
      atoms: atoms.map((a) => ({ ...a, bankruptcy_clips: clipped.get(a.id) ?? 0 })),
      toxic_drops: drops,
    });
    env.audit.event('synthesis', 'atoms_synthesised', { atoms: atoms.length, winners: winners.length, directions, toxic_drops: drops.length, bankruptcy_clips: [...clipped.values()].reduce((x, y) => x + y, 0), artifact: 'atoms.json' });
    return ctx;
  }
}
