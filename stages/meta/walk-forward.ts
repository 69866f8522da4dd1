/**
 * The meta walk-forward, on plain arrays. Meta rebalances fall on the sleeves' common calendar: the first once
 * `train` days of their out-of-sample returns exist, then every `step` days. At each one the decision sees the last
 * `train` days up to and including that day and nothing later; its weights are held with drift from the next day
 * for `test` days (until the next decision; when test < step the book is sold at the end of the holding period and
 * the days until the next decision are cash). The meta's own trades are charged on the physical notional they
 * amount to: Σ over symbols of |Σ over sleeves Δ meta weight × the sleeve's physical weight as of that day|, so
 * trades of one symbol by two sleeves net out; the sleeves' internal trading costs are already in their returns.
 * One more decision at the last day is the meta's final weights (not held: nothing is left to hold it over).
 */
import type { DatedHoldings, MetaRebalance } from '../../src/core/context.js';
import { isoFromDay } from '../../src/util/dates.js';
import type { Simulator } from '../../src/portfolio/simulator.js';

/** The weights of a dated history as of `day`: the last entry on or before it; none yet is an empty book. */
export function holdingsAt(history: DatedHoldings[], day: number): DatedHoldings['weights'] {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (history[mid].date <= day) lo = mid + 1;
    else hi = mid;
  }
  return lo ? history[lo - 1].weights : [];
}

/** The rows of the meta rebalances on a calendar of T days (the final decision at T − 1 is not among them). */
export function rebalanceRows(T: number, train: number, step: number): number[] {
  const rows: number[] = [];
  for (let t = train - 1; t < T - 1; t += step) rows.push(t);
  return rows;
}

type PhysicalAt = (sleeve: string, day: number) => DatedHoldings['weights'];

/** Physical notional traded by changing the meta weights by `delta` on `day`: Σ_i |Σ_s Δ_s × w_s,i(day)|. */
export function physicalTurnover(delta: Float64Array, names: string[], physicalAt: PhysicalAt, day: number): number {
  const net = new Map<string, number>();
  names.forEach((s, j) => {
    if (delta[j] === 0) return;
    for (const h of physicalAt(s, day)) net.set(h.symbol, (net.get(h.symbol) ?? 0) + delta[j] * h.weight);
  });
  let sum = 0;
  for (const x of net.values()) sum += Math.abs(x);
  return sum;
}

export interface MetaDecision {
  /** Target weight per sleeve (0 for one not eligible). */
  weights: Float64Array;
  engine: string;
  proxy_reason?: string;
  cash_reason?: string;
  attempts?: { engine: string; error: string }[];
}

export interface MetaWalkForwardInput {
  /** The sleeves' common calendar and their out-of-sample returns on it, column-major (NaN: no return that day, flat). */
  dates: Int32Array;
  names: string[];
  values: Float64Array;
  train: number;
  test: number;
  step: number;
  /** Cost per unit of physical traded notional (slippage + commission). */
  costRate: number;
  /** Least share of the train window's days a sleeve must have a return on to be eligible. */
  healthThreshold: number;
  /**
   * Column-major like `values`: 1 where the row is a day of the sleeve's own calendar. The health gate counts a
   * sleeve's returns against those rows of the window alone (a weekday sleeve's weekends are not missing days).
   * Omitted, every row counts.
   */
  calendar?: Uint8Array;
  physicalAt: PhysicalAt;
  /** The decision on rows [from, to] (inclusive) of the eligible sleeves; weights of the others must be 0. */
  decide: (from: number, to: number, eligible: boolean[]) => MetaDecision;
  /** Holds sleeves' return streams (a simulator that works on weights and returns). */
  simulator: Required<Pick<Simulator, 'hold'>>;
}

export interface MetaWalkForwardResult {
  dates: Int32Array;
  returns: Float64Array;
  /** Every rebalance in order, the final decision (no holding period) last. */
  rebalances: MetaRebalance[];
  liquidated: boolean;
}

export function metaWalkForward(m: MetaWalkForwardInput): MetaWalkForwardResult {
  const { dates, names, values, train, test, costRate } = m;
  const T = dates.length;
  const S = names.length;
  // A sleeve whose record reached −100% holds nothing from that day: it is not allocated to again.
  const deadFrom = names.map((_, j) => {
    for (let t = 0; t < T; t++) if (values[j * T + t] <= -1) return t;
    return Infinity;
  });
  const eligibility = (t: number) => {
    const eligible = new Array<boolean>(S).fill(false);
    const excluded: Record<string, string> = {};
    names.forEach((s, j) => {
      if (deadFrom[j] <= t) return void (excluded[s] = `liquidated on ${isoFromDay(dates[deadFrom[j]])}`);
      let seen = 0;
      let days = 0;
      for (let i = t - train + 1; i <= t; i++) {
        if (m.calendar && !m.calendar[j * T + i]) continue; // its market was closed: not a missing day
        days++;
        if (Number.isFinite(values[j * T + i])) seen++;
      }
      if (!days || seen / days < m.healthThreshold) return void (excluded[s] = `returns on ${seen} of the ${days} days of the window${days < train ? ' its calendar trades' : ''}, below ${m.healthThreshold}`);
      eligible[j] = true;
    });
    return { eligible, excluded };
  };
  const decideAt = (t: number, held: Float64Array) => {
    const { eligible, excluded } = eligibility(t);
    const d = m.decide(t - train + 1, t, eligible);
    const delta = Float64Array.from(d.weights, (w, j) => w - held[j]);
    const physical = physicalTurnover(delta, names, m.physicalAt, dates[t]);
    const record: MetaRebalance = {
      as_of: dates[t],
      weights: Object.fromEntries(names.map((s, j) => [s, d.weights[j]])),
      engine: d.engine,
      ...(d.proxy_reason ? { proxy_reason: d.proxy_reason } : {}),
      ...(d.cash_reason ? { cash_reason: d.cash_reason } : {}),
      ...(d.attempts?.length ? { attempts: d.attempts } : {}),
      excluded,
      turnover: delta.reduce((a, x) => a + Math.abs(x), 0),
      physical_turnover: physical,
      cost: 0,
      return: 0,
      liquidated: false,
    };
    return { target: d.weights, record };
  };

  const rows = rebalanceRows(T, train, m.step);
  const outDates: number[] = [];
  const out: number[] = [];
  const rebalances: MetaRebalance[] = [];
  let held = new Float64Array(S);
  let dead = false;
  for (let k = 0; k < rows.length; k++) {
    const t = rows[k];
    const next = k + 1 < rows.length ? rows[k + 1] : T - 1;
    const last = Math.min(t + test, next);
    const { target, record } = decideAt(t, held);
    const L = last - t;
    const slice = new Float64Array(S * L);
    for (let j = 0; j < S; j++) slice.set(values.subarray(j * T + t + 1, j * T + last + 1), j * L);
    let r: Float64Array;
    let end: Float64Array;
    let liquidated: boolean = dead;
    if (dead) {
      r = new Float64Array(L);
      end = new Float64Array(S);
    } else {
      // Held gross of costs by the simulator; the meta's trade, flattened to physical notional, is charged on the
      // first held day exactly as the simulator charges its own: equity × (1 − cost).
      const h = m.simulator.hold({ dates: dates.subarray(t + 1, last + 1), symbols: names, returns: slice, target, current: held, costRate: 0 });
      r = h.returns;
      end = h.end;
      liquidated = h.liquidated;
      record.cost = record.physical_turnover * costRate;
      r[0] = (1 - record.cost) * (1 + r[0]) - 1;
      if (r[0] <= -1) {
        r.fill(0);
        r[0] = -1;
        end.fill(0);
        liquidated = true;
      }
    }
    dead = dead || liquidated;
    if (last < next && !dead) {
      const exit = physicalTurnover(Float64Array.from(end, (w) => -w), names, m.physicalAt, dates[last]);
      r[L - 1] = (1 + r[L - 1]) * (1 - exit * costRate) - 1;
      record.exit_turnover = exit;
      record.cost += exit * costRate;
    }
    for (let i = 0; i < L; i++) {
      outDates.push(dates[t + 1 + i]);
      out.push(r[i]);
    }
    for (let i = last + 1; i <= next; i++) {
      outDates.push(dates[i]);
      out.push(0);
    }
    held = last < next ? new Float64Array(S) : Float64Array.from(end);
    record.start = dates[t + 1];
    record.end = dates[last];
    record.return = r.reduce((g, x) => g * (1 + x), 1) - 1;
    record.liquidated = liquidated;
    rebalances.push(record);
  }
  // The decision as of the last day: the meta's weights.json (its turnover is the trade it asks for; not held).
  rebalances.push(decideAt(T - 1, held).record);
  return { dates: Int32Array.from(outDates), returns: Float64Array.from(out), rebalances, liquidated: dead };
}

/** A rebalance as written to the audit and meta_rebalances.json: ISO dates. */
export function rebalanceView(r: MetaRebalance): Omit<MetaRebalance, 'as_of' | 'start' | 'end'> & { as_of: string; start?: string; end?: string } {
  const { as_of, start, end, ...rest } = r;
  return { ...rest, as_of: isoFromDay(as_of), ...(start !== undefined ? { start: isoFromDay(start) } : {}), ...(end !== undefined ? { end: isoFromDay(end) } : {}) };
}
