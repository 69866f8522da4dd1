/**
 * The order-level simulator: net physical target weights become orders in units, filled at a bar's open or close
 * with slippage and fees, rounded to lot sizes, refused below minimum notional, capped by a share of the bar's
 * volume; a cash account carries units across windows; carry and the toxic-bar rule are the vectorized
 * simulator's (src/portfolio/carry.ts, src/lakehouse/toxic.ts). The engine is order-book.ts; docs/backtest.md compares both.
 */
import { num, oneOfStr, params, typed, type Static } from '../../../src/core/params.js';
import type { SimulatorMeta } from '../../../src/core/plugin.js';
import { readBarPanel } from '../market-panel.js';
import { runOrderBook } from '../order-book.js';
import type { Costs, DecisionPath, Simulation, Simulator, SimulatorMarket } from '../../../src/portfolio/simulator.js';

const rule = (what: string) => num(what, undefined, { min: 0 });

const PARAMS = params({
  capital: num('Starting equity in the quote currency (lot sizes, minimum notional and fixed fees are in its units).', 100_000, { exclusiveMin: 0 }),
  fill: oneOfStr(['next_open', 'close'] as const, "When a rebalance's orders fill: at the next bar's open, or at the close the decision was made on (the vectorized simulator's assumption). The first rebalance always fills at its close (pre-start priming: the book is in place on the first test day).", 'next_open'),
  fee_fixed: num('A fixed fee per fill, in the quote currency (on top of commission_bps of the backtest).', 0, { min: 0 }),
  max_participation: num("At most this share of a bar's volume fills per symbol and bar; the rest is carried to the next bar and recorded. No cap when omitted. A bar without volume data is not capped.", undefined, { exclusiveMin: 0, max: 1 }),
  lot_size: num("Order quantities are whole multiples of this many units, rounded toward zero (0: fractional units), for a symbol whose lot size neither `symbols` nor the lakehouse's symbols table gives.", 0, { min: 0 }),
  min_notional: num('An order (or fill) worth less than this, in the quote currency, is refused, for a symbol whose minimum neither `symbols` nor the symbols table gives.', 0, { min: 0 }),
  symbols: typed<Record<string, { lot_size?: number; min_notional?: number }>>({
    type: 'object',
    description: "Per-symbol trading rules that win over the symbols table and the defaults, e.g. { BTCUSDT: { lot_size: 0.00001, min_notional: 5 } }.",
    additionalProperties: params({ lot_size: rule('Lot size in units (0: fractional).'), min_notional: rule('Minimum order notional, quote currency.') }),
    default: {},
  }),
});
export type EventDrivenParams = Static<typeof PARAMS>;

export class EventDrivenSimulator implements Simulator<EventDrivenParams> {
  static readonly meta: SimulatorMeta = {
    kind: 'simulator',
    name: 'event_driven',
    model: 'orders',
    description: 'Order-level: target weights become orders in units filled at the next open or the close, with slippage, commission and a fixed fee per fill, lot sizes, minimum notional, an optional participation cap, a cash account, and the same carry and toxic-bar rule as the vectorized simulator.',
    params: PARAMS,
  };

  async simulate(path: DecisionPath, market: SimulatorMarket, costs: Costs, p: EventDrivenParams): Promise<Simulation> {
    const names = [...new Set(path.rebalances.flatMap((r) => r.weights.filter((w) => w.weight !== 0).map((w) => w.symbol)))].sort();
    const panel = await readBarPanel(market, names, path.calendar, costs);
    // Own keys only: a symbol named '__proto__' or 'constructor' is a symbol, never the object's prototype.
    const overrides = new Map(Object.entries(p.symbols ?? {}));
    const rules = names.map((sym) => ({ ...market.tradingRules(sym), ...(overrides.get(sym) ?? {}) }));
    return runOrderBook(panel, path, {
      capital: p.capital ?? 100_000,
      fill: p.fill ?? 'next_open',
      slippage: costs.slippageBps / 10_000,
      commission: costs.commissionBps / 10_000,
      feeFixed: p.fee_fixed ?? 0,
      maxParticipation: p.max_participation,
      lot: Float64Array.from(rules, (r) => r.lot_size ?? p.lot_size ?? 0),
      minNotional: Float64Array.from(rules, (r) => r.min_notional ?? p.min_notional ?? 0),
    });
  }
}
