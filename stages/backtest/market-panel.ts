/**
 * The market as an order-level simulator reads it: every symbol of a decision path on the backtest's calendar,
 * column-major typed arrays, read once. Returns are the booked series (the toxic-bar rule of src/lakehouse/toxic.ts,
 * as the decisions and the vectorized simulator see them); bars are as printed, a toxic spike being no bar.
 */
import type { ToxicBar } from '../../src/core/context.js';
import { carryRates, type CarryRates } from '../../src/portfolio/carry.js';
import type { Costs, SimulatorMarket } from '../../src/portfolio/simulator.js';
import { codeOf } from '../../src/util/thrown.js';

export interface BarPanel {
  /** The calendar (every day of the path and before it). */
  dates: Int32Array;
  symbols: string[];
  /** Booked close-to-close returns, `returns[j * T + t]`; NaN = nothing booked (no bar, a spike). */
  returns: Float64Array;
  /** Printed close, open and volume (units); NaN where the symbol has no bar (or a toxic spike prints). */
  close: Float64Array;
  open: Float64Array;
  volume: Float64Array;
  /** 1 where the bar is a toxic spike or the reversal that gives it back (its open is not trusted). */
  toxic: Uint8Array;
  toxicBars: ToxicBar[];
  carry: CarryRates;
}

/** Picks `symbols` columns on the `dates` axis out of a column-major matrix on another axis (NaN where absent). */
export function alignColumns(srcDates: Int32Array, srcSymbols: string[], values: Float64Array, dates: Int32Array, symbols: string[]): Float64Array {
  const T = dates.length;
  const S = srcDates.length;
  const out = new Float64Array(symbols.length * T).fill(NaN);
  const row = new Map<number, number>();
  srcDates.forEach((d, i) => row.set(d, i));
  const col = new Map<string, number>();
  srcSymbols.forEach((s, c) => col.set(s, c));
  symbols.forEach((s, j) => {
    const c = col.get(s);
    if (c === undefined) return;
    for (let t = 0; t < T; t++) {
      const i = row.get(dates[t]);
      if (i !== undefined) out[j * T + t] = values[c * S + i];
    }
  });
  return out;
}

const noneHasBars = (err: unknown) => codeOf(err) === 'LAKEHOUSE_MISSING_DATA';

export async function readBarPanel(market: SimulatorMarket, symbols: string[], calendar: Int32Array, costs: Costs): Promise<BarPanel> {
  const T = calendar.length;
  const n = symbols.length;
  const nan = () => new Float64Array(n * T).fill(NaN);
  const start = calendar[0];
  const end = calendar[T - 1];
  let returns: Float64Array = nan();
  let close: Float64Array = nan();
  let open: Float64Array = nan();
  let volume: Float64Array = nan();
  let toxicBars: ToxicBar[] = [];
  if (n) {
    const r = await market.readReturns({ symbols, start, end, allowEmpty: true }).catch((err) => (noneHasBars(err) ? undefined : Promise.reject(err)));
    if (r) {
      returns = alignColumns(r.dates, r.symbols, r.values, calendar, symbols);
      const b = await market.readBars({ symbols, start, end, allowEmpty: true });
      close = alignColumns(b.dates, b.symbols, b.close, calendar, symbols);
      open = b.open ? alignColumns(b.dates, b.symbols, b.open, calendar, symbols) : close.slice();
      volume = b.volume ? alignColumns(b.dates, b.symbols, b.volume, calendar, symbols) : nan();
      toxicBars = await market.readToxicBars({ symbols, start, end, allowEmpty: true });
    }
  }
  const toxic = new Uint8Array(n * T);
  if (toxicBars.length) {
    const row = new Map<number, number>();
    calendar.forEach((d, t) => row.set(d, t));
    const col = new Map(symbols.map((s, j) => [s, j] as const));
    for (const b of toxicBars) {
      const t = row.get(b.date);
      const j = col.get(b.symbol);
      if (t !== undefined && j !== undefined) toxic[j * T + t] = 1;
    }
  }
  const f = n ? await market.readFunding({ symbols, start, end }) : undefined;
  const funding = f ? alignColumns(f.dates, f.symbols, f.values, calendar, symbols) : undefined;
  const perp = Uint8Array.from(symbols, (s) => (market.assetType(s) === 'perp' ? 1 : 0));
  // Day t accrues the calendar days since day t − 1, as each window of the vectorized simulator does.
  const carry = carryRates(calendar, calendar[0] - 1, perp, costs.borrowRate, costs.fundingRate, funding);
  return { dates: calendar, symbols, returns, close, open, volume, toxic, toxicBars, carry };
}
