/**
 * The order-level simulation, on a panel of bars (market-panel.ts): a cash account in the quote currency, units
 * per symbol carried across windows, orders in units and fills at a bar's open or close. Pure: the same panel,
 * path and settings give the same result.
 *
 * A day, in order:
 * 1. the open: orders due at it fill at the open, when it is trusted by what is known at the open: printed, and
 *    within the toxic-bar rule's threshold of the last booked price (scaled onto the booked series), up or down. An
 *    order for a bar without a trusted open fills at the day's booked close instead. (The toxic rule itself judges
 *    a bar by its close, which the open does not know: a spike's open is as good as any.)
 * 2. carry (borrow, funding) on the exposure held over the day, at the previous marks, paid out of cash
 *    (src/portfolio/carry.ts, the same function as the vectorized simulator's);
 * 3. marks move by the day's booked return (a missing bar is an unchanged price; a toxic print is not booked);
 *    equity ≤ 0 liquidates the book for good;
 * 4. the close: orders due at this open that found no trusted open fill (whatever is decided at this close); a
 *    holding period that ends sells the book; orders carried from an earlier bar fill unless a rebalance decided at
 *    this close supersedes them; the day's return is taken; then a rebalance decided at this close sizes its orders
 *    on the equity before it trades and
 *    fills them here (fill: close, and always for the first rebalance: pre-start priming) or at the next open. Its
 *    costs show in the first day it is held, as in the vectorized simulator.
 *
 * Orders: target units wᵢ Eₐ / Pᵢ where Eₐ is the equity net of the rebalance's estimated costs (a fixed point);
 * the quantity is rounded toward zero to the symbol's lot size and refused below its minimum notional; a
 * participation cap fills at most that share of the bar's volume and carries the rest to the next bar; buys that
 * add exposure stop at the cash the declared gross allows. docs/backtest.md.
 */
import { carryOfDay } from '../../src/portfolio/carry.js';
import type { BarPanel } from './market-panel.js';
import { windowBounds, type DecisionPath, type Ledger, type Simulation, type SimulatedWindow } from '../../src/portfolio/simulator.js';

export interface OrderBookSettings {
  /** Starting equity, quote currency. */
  capital: number;
  fill: 'close' | 'next_open';
  /** Fractions: slippage moves the fill price against the order; commission is charged on the fill's notional. */
  slippage: number;
  commission: number;
  /** A fixed fee per fill, quote currency. */
  feeFixed: number;
  /** At most this share of a bar's volume fills per symbol and bar; undefined: no cap. */
  maxParticipation?: number;
  /** Per symbol (indexed like the panel): lot size in units (0 = fractional) and minimum notional per order. */
  lot: Float64Array;
  minNotional: Float64Array;
}

interface Order {
  id: number;
  j: number;
  /** +1 buy, −1 sell. */
  side: 1 | -1;
  quantity: number;
  remaining: number;
  filled: number;
  when: 'open' | 'close';
  day: number;
  kind: 'rebalance' | 'exit';
  reference: number;
  /** Least cash after a buy that adds exposure, as a fraction of equity (the declared gross's leverage). */
  cashFloor: number;
  window: number;
  /** Why the last bar did not fill it completely. */
  blocked: string;
  reason: string;
  done: boolean;
}

/** Relative tolerance of the cash check: float noise of a fully invested book is not leverage. */
const CASH_TOLERANCE = 1e-9;

export function runOrderBook(panel: BarPanel, path: DecisionPath, s: OrderBookSettings): Simulation {
  const { calendar } = path;
  const T = calendar.length;
  const n = panel.symbols.length;
  const col = new Map(panel.symbols.map((sym, j) => [sym, j] as const));
  const units = new Float64Array(n);
  const mark = new Float64Array(n).fill(NaN);
  // mark / printed close at the last printed close: scales an open onto the booked series (1 unless a toxic print).
  const scale = new Float64Array(n).fill(1);
  const exposure = new Float64Array(n);
  const filledToday = new Float64Array(n);
  let cash = s.capital;
  let dead = false;

  const orders: Order[] = [];
  let live: Order[] = [];
  const fills: Ledger['fills'] = [];
  const t0 = path.rebalances[0].at;
  const days = T - 1 - t0;
  const out = new Float64Array(Math.max(0, days));
  // The book held over each day (fractions of its starting equity, after the open's fills); 0 once liquidated.
  const gross = new Float64Array(Math.max(0, days));
  const net = new Float64Array(Math.max(0, days));
  const ledgerDays = Math.max(0, T - t0);
  const cashRow = { date: calendar.slice(t0), cash: new Float64Array(ledgerDays), long_value: new Float64Array(ledgerDays), short_value: new Float64Array(ledgerDays), equity: new Float64Array(ledgerDays) };
  const windows: SimulatedWindow[] = path.rebalances.map(() => ({ turnover: 0, cost: 0, borrow: 0, funding: 0, return: 0, liquidated: false, toxic: [], unfilled: 0 }));
  const bounds = path.rebalances.map((_, k) => windowBounds(path, k));
  const rebalanceAt = new Map(bounds.map((b, k) => [b.at, k] as const));
  const exitAt = new Map(bounds.filter((b) => b.until < b.next).map((b) => [b.until, bounds.indexOf(b)] as const));

  const equityNow = () => {
    let e = cash;
    for (let j = 0; j < n; j++) if (units[j] !== 0) e += units[j] * mark[j];
    return e;
  };
  const moveMarks = (t: number) => {
    for (let j = 0; j < n; j++) {
      const c = panel.close[j * T + t];
      if (Number.isNaN(mark[j])) {
        if (Number.isFinite(c)) mark[j] = c; // first price: anchored on the print
      } else {
        const r = panel.returns[j * T + t];
        if (Number.isFinite(r)) {
          // The booked move; where it lands on the print (every bar but after a toxic one), the print itself, exactly.
          const booked = mark[j] * (1 + r);
          const printed = c * scale[j];
          mark[j] = Math.abs(booked - printed) <= 1e-12 * Math.abs(booked) ? printed : booked;
        }
      }
      if (Number.isFinite(c) && c > 0) scale[j] = mark[j] === c * scale[j] ? scale[j] : mark[j] / c;
    }
  };
  // The first day on which any symbol of the panel printed a volume on a bar: from then on the data is known to carry
  // volumes (before it, and in data without any, nothing is known to cap by).
  let firstVolumeDay = Infinity;
  for (let j = 0; j < n; j++)
    for (let t = 0; t < Math.min(T, firstVolumeDay); t++)
      if (Number.isFinite(panel.volume[j * T + t]) && Number.isFinite(panel.close[j * T + t])) {
        firstVolumeDay = t;
        break;
      }
  /**
   * The symbol's last finite volume on a bar before day t, what is known of it then; when it has none yet, 0 (nothing
   * to take part in) if the data is known by then to carry volumes, else NaN (not capped, as documented). Decided
   * from the days before t alone: whether the symbol prints a volume later must not change a fill today.
   */
  const lastVolumeBefore = (j: number, t: number): number => {
    for (let u = t - 1; u >= 0; u--) {
      const v = panel.volume[j * T + u];
      if (Number.isFinite(v) && Number.isFinite(panel.close[j * T + u])) return v;
    }
    return firstVolumeDay < t ? 0 : NaN;
  };
  const floorToLot = (q: number, lot: number) => (lot > 0 ? Math.floor(q / lot + 1e-9) * lot : q);
  // An open moved beyond the toxic threshold from the last booked price, either way, is not trusted (a bad print
  // as far as the open can tell); nothing booked yet, any positive print is.
  const ceiling = 1 + panel.toxicThreshold;
  const trustedOpen = (price: number, last: number) => Number.isFinite(price) && price > 0 && (!(last > 0) || (price / last <= ceiling && price / last >= 1 / ceiling));

  /** Fills `batch` at day t's open or close: sells first (they free cash), then buys. Returns the orders to retry at the close. */
  const fillBatch = (t: number, at: 'open' | 'close', batch: Order[], k: number): Order[] => {
    const deferred: Order[] = [];
    if (!batch.length) return deferred;
    const equity = equityNow();
    const w = windows[k];
    const ordered = [...batch.filter((o) => o.side < 0), ...batch.filter((o) => o.side > 0)];
    for (const o of ordered) {
      if (o.done) continue;
      const j = o.j;
      let hasBar: boolean;
      let price: number;
      if (at === 'open') {
        // What the open shows, before the day's close: its print, on the booked series' scale.
        price = panel.open[j * T + t] * scale[j];
        hasBar = Number.isFinite(price);
        if (!trustedOpen(price, mark[j])) {
          deferred.push(o); // no trusted open: the day's booked close
          continue;
        }
      } else {
        hasBar = Number.isFinite(panel.close[j * T + t]);
        price = mark[j];
      }
      if (!Number.isFinite(price) || price <= 0) {
        finish(o, 'no price');
        continue;
      }
      const reduces = o.side * units[j] < 0 && o.remaining <= Math.abs(units[j]) * (1 + 1e-12);
      let qty = o.remaining;
      if (s.maxParticipation !== undefined) {
        // At the open the day's volume is not known yet: an open fill takes part in the symbol's last bar's volume
        // before it, the last one known then (a close fill in its own day's, known by the close, or the last one known
        // when its bar has none). None known yet (a listing day's open) in data known to carry volumes: nothing to
        // take part in, and the order waits for a bar whose volume is known; in data without any so far: not capped.
        const today = panel.volume[j * T + t];
        const vol = at === 'close' && Number.isFinite(today) ? today : lastVolumeBefore(j, t);
        if (!hasBar) {
          // No bar, no volume to take part in: only a reduction fills, at the last price (a delisted name exits).
          if (!reduces) {
            o.blocked = 'no bar';
            continue;
          }
        } else if (Number.isFinite(vol)) qty = Math.min(qty, Math.max(0, s.maxParticipation * vol - filledToday[j]));
      }
      if (qty < o.remaining) qty = floorToLot(qty, s.lot[j]);
      if (qty <= 0) {
        o.blocked = 'participation cap';
        continue;
      }
      const fillPrice = price * (1 + o.side * s.slippage);
      let notional = qty * fillPrice;
      if (s.minNotional[j] > 0 && notional < s.minNotional[j]) {
        if (qty === o.remaining) finish(o, 'below minimum notional');
        else o.blocked = 'participation cap';
        continue;
      }
      let commission = notional * s.commission + s.feeFixed;
      let cutByCash = false;
      if (o.side > 0 && !reduces) {
        const room = cash - o.cashFloor * equity + CASH_TOLERANCE * Math.abs(equity);
        if (notional + commission > room) {
          const affordable = floorToLot(Math.max(0, (room - s.feeFixed) / (fillPrice * (1 + s.commission))), s.lot[j]);
          qty = Math.min(qty, affordable);
          notional = qty * fillPrice;
          commission = notional * s.commission + s.feeFixed;
          cutByCash = true;
          if (qty <= 0 || (s.minNotional[j] > 0 && notional < s.minNotional[j])) {
            finish(o, 'not enough cash');
            continue;
          }
        }
      }
      units[j] = qty === Math.abs(units[j]) && reduces ? 0 : units[j] + o.side * qty;
      cash -= o.side * notional + commission;
      filledToday[j] += qty;
      o.filled += qty;
      o.remaining = qty === o.remaining ? 0 : o.remaining - qty;
      w.turnover += (qty * price) / equity;
      w.cost += (qty * Math.abs(fillPrice - price) + commission) / equity;
      fills.push({ order_id: o.id, date: calendar[t], symbol: panel.symbols[j], side: o.side > 0 ? 'buy' : 'sell', at, quantity: qty, price: fillPrice, reference_price: price, notional, commission, slippage: qty * Math.abs(fillPrice - price), cash_after: cash });
      if (o.remaining === 0) finish(o, '');
      else if (cutByCash) finish(o, 'not enough cash');
      else o.blocked = 'participation cap';
    }
    return deferred;
  };
  const finish = (o: Order, reason: string) => {
    o.done = true;
    o.reason = reason;
  };
  const cancelLive = (why: string) => {
    for (const o of live) if (!o.done) finish(o, o.blocked ? `${o.blocked}; the rest ${why}` : why);
    live = [];
  };
  const place = (o: Omit<Order, 'id' | 'remaining' | 'filled' | 'blocked' | 'reason' | 'done'>): Order => {
    const order: Order = {
      id: orders.length + 1, j: o.j, side: o.side, quantity: o.quantity, remaining: o.quantity, filled: 0, when: o.when, day: o.day, kind: o.kind,
      reference: o.reference, cashFloor: o.cashFloor, window: o.window, blocked: '', reason: '', done: false,
    };
    orders.push(order);
    return order;
  };

  /** A rebalance decided at day t's close: orders sized on the equity before it trades. */
  const rebalance = (k: number, t: number): Order[] => {
    const E = equityNow();
    const target = new Float64Array(n);
    let net = 0;
    for (const x of path.rebalances[k].weights) {
      if (x.weight === 0) continue;
      const j = col.get(x.symbol)!;
      target[j] = x.weight;
      net += x.weight;
    }
    const when: Order['when'] = s.fill === 'close' || k === 0 ? 'close' : 'open';
    const cashFloor = Math.min(0, 1 - net);
    const placed: Order[] = [];
    for (let j = 0; j < n; j++) {
      if (target[j] !== 0 && !(mark[j] > 0)) {
        // Never priced yet: nothing to size it on.
        finish(place({ j, side: target[j] > 0 ? 1 : -1, quantity: 0, when, day: t, kind: 'rebalance', reference: NaN, cashFloor, window: k }), 'no price');
        target[j] = 0;
      }
    }
    // Eₐ = E − costs of trading to wᵢ Eₐ: a fixed point (the costs are a small share of the equity).
    let Ea = E;
    if (s.slippage > 0 || s.commission > 0 || s.feeFixed > 0) {
      for (let it = 0; it < 50; it++) {
        let fee = 0;
        for (let j = 0; j < n; j++) {
          if (target[j] === 0 && units[j] === 0) continue;
          const d = target[j] === 0 ? -units[j] * mark[j] : target[j] * Ea - units[j] * mark[j];
          if (d === 0) continue;
          fee += Math.abs(d) * (s.slippage + s.commission * (1 + Math.sign(d) * s.slippage)) + s.feeFixed;
        }
        const next = E - fee;
        const settled = Math.abs(next - Ea) <= 1e-15 * Math.abs(E);
        Ea = next;
        if (settled) break;
      }
    }
    for (let j = 0; j < n; j++) {
      if (target[j] === 0 && units[j] === 0) continue;
      let q = target[j] === 0 ? -units[j] : (target[j] * Ea) / mark[j] - units[j];
      if (target[j] !== 0) q = Math.sign(q) * floorToLot(Math.abs(q), s.lot[j]);
      if (q === 0) continue;
      const o = place({ j, side: q > 0 ? 1 : -1, quantity: Math.abs(q), when, day: t, kind: 'rebalance', reference: mark[j], cashFloor, window: k });
      if (s.minNotional[j] > 0 && Math.abs(q) * mark[j] < s.minNotional[j]) finish(o, 'below minimum notional');
      else placed.push(o);
    }
    return placed;
  };

  const record = (t: number) => {
    const i = t - t0;
    let long = 0;
    let short = 0;
    for (let j = 0; j < n; j++) {
      const v = units[j] * mark[j];
      if (v > 0) long += v;
      else if (v < 0) short += v;
    }
    cashRow.cash[i] = cash;
    cashRow.long_value[i] = long;
    cashRow.short_value[i] = short;
    cashRow.equity[i] = cash + long + short;
  };

  for (let t = 0; t < t0; t++) moveMarks(t);
  let k = 0;
  let base = s.capital;
  for (let t = t0; t < T; t++) {
    filledToday.fill(0);
    if (t === t0) moveMarks(t);
    else {
      const w = windows[k];
      if (dead) {
        out[t - t0 - 1] = 0;
        w.liquidated = true;
        record(t);
        if (rebalanceAt.has(t)) k = rebalanceAt.get(t)!;
        continue;
      }
      const due = live.filter((o) => !o.done && o.when === 'open');
      const deferred = fillBatch(t, 'open', due, k);
      let g = 0;
      let x = 0;
      for (let j = 0; j < n; j++) {
        exposure[j] = units[j] === 0 ? 0 : units[j] * mark[j];
        g += Math.abs(exposure[j]);
        x += exposure[j];
      }
      const startEquity = equityNow();
      if (startEquity > 0) {
        gross[t - t0 - 1] = g / startEquity;
        net[t - t0 - 1] = x / startEquity;
      }
      const c = carryOfDay(exposure, t, T, panel.carry);
      cash -= c.borrow + c.funding;
      if (startEquity > 0) {
        w.borrow += c.borrow / startEquity;
        w.funding += c.funding / startEquity;
      }
      moveMarks(t);
      const equity = equityNow();
      if (equity <= 0) {
        // The floor: the book is closed out at zero and stays there.
        out[t - t0 - 1] = -1;
        w.liquidated = true;
        dead = true;
        units.fill(0);
        cash = 0;
        cancelLive('liquidated');
        record(t);
        if (rebalanceAt.has(t)) k = rebalanceAt.get(t)!;
        continue;
      }
      const exitK = exitAt.get(t);
      // Orders due at this open that found no trusted open (a bad print, or closes alone) fill at this close, the first
      // price known after it, even where a rebalance or an exit is decided at this close: that decision trades from
      // the book they leave. (Superseded instead, as carried orders are, a market of closes alone rebalanced every
      // day never filled an order after the first rebalance.)
      if (deferred.length && (exitK !== undefined || rebalanceAt.has(t))) fillBatch(t, 'close', deferred, k);
      if (exitK !== undefined) {
        cancelLive('replaced by the exit at the end of the holding period');
        const exits: Order[] = [];
        for (let j = 0; j < n; j++) if (units[j] !== 0) exits.push(place({ j, side: units[j] > 0 ? -1 : 1, quantity: Math.abs(units[j]), when: s.fill === 'close' ? 'close' : 'open', day: t, kind: 'exit', reference: mark[j], cashFloor: 0, window: exitK }));
        live = exits;
        if (s.fill === 'close') fillBatch(t, 'close', exits, k);
      } else if (!rebalanceAt.has(t)) {
        // Carried orders fill at the close, unless a rebalance decided at this close supersedes them (with those
        // deferred from this open: one batch, sells first).
        fillBatch(t, 'close', [...deferred, ...live.filter((o) => !o.done && o.when === 'close')], k);
      }
      live = live.filter((o) => !o.done);
      const after = equityNow();
      out[t - t0 - 1] = after / base - 1;
      base = after;
    }
    const next = rebalanceAt.get(t);
    if (next !== undefined && !dead) {
      k = next;
      cancelLive('superseded by the next rebalance');
      base = equityNow();
      // The window's names: what it targets and what it still holds (its toxic bars are recorded).
      const names = new Set(path.rebalances[k].weights.filter((x) => x.weight !== 0).map((x) => x.symbol));
      for (let j = 0; j < n; j++) if (units[j] !== 0) names.add(panel.symbols[j]);
      const { until } = bounds[k];
      windows[k].toxic = panel.toxicBars.filter((b) => names.has(b.symbol) && b.date > calendar[t] && b.date <= calendar[until]);
      const placed = rebalance(k, t);
      live = placed;
      const now = placed.filter((o) => o.when === 'close');
      if (now.length) {
        // Priced as of the close it fills at, but booked in the first held day: the equity base stays pre-trade.
        fillBatch(t, 'close', now, k);
        live = live.filter((o) => !o.done);
      }
    } else if (next !== undefined) k = next;
    record(t);
  }
  cancelLive('still open at the end of the backtest');

  // Window returns: the days each decision was held, compounded.
  bounds.forEach((b, kk) => {
    let g = 1;
    for (let t = b.at + 1; t <= b.next && t < T; t++) if (t > t0) g *= 1 + out[t - t0 - 1];
    windows[kk].return = g - 1;
  });
  for (const o of orders) if (o.filled < o.quantity || o.quantity === 0) windows[o.window].unfilled! += 1;
  const ledger: Ledger = {
    capital: s.capital,
    orders: orders.map((o) => ({
      id: o.id, date: calendar[o.day], symbol: panel.symbols[o.j], side: o.side > 0 ? 'buy' : 'sell', kind: o.kind, quantity: o.quantity, filled: o.filled,
      reference_price: o.reference, status: o.filled === 0 ? 'unfilled' : o.remaining === 0 ? 'filled' : 'partial', reason: o.reason,
    })),
    fills,
    cash: cashRow,
  };
  return {
    dates: calendar.slice(t0 + 1),
    returns: out,
    windows,
    liquidated: dead,
    exposure: { gross, net },
    ledger,
  };
}
