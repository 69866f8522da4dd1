/**
 * The market as an order-level simulator reads it: every symbol of a decision path on the backtest's calendar,
 * column-major typed arrays, read once. Returns are the booked series (the toxic-bar rule of src/lakehouse/toxic.ts,
 * as the decisions and the vectorized simulator see them); closes and volumes are as printed, a toxic spike being no
 * bar; opens are as printed on every bar, a spike's too: the rule judges a bar by its close, which is not known at
 * its open (order-book.ts judges an open by what is known then), and NaN on a day of closes alone (no open printed).
 */
import type { ToxicBar } from '../../src/core/context.js';
import { carryRates, type CarryRates } from '../../src/portfolio/carry.js';
import type { Costs, SimulatorMarket } from '../../src/portfolio/simulator.js';
import { codeOf } from '../../src/util/thrown.js';
import { lowerBound } from '../../src/util/order.js';

export interface BarPanel {
  /** The calendar (every day of the path and before it). */
  dates: Int32Array;
  symbols: string[];
  /** Booked close-to-close returns, `returns[j * T + t]`; NaN = nothing booked (no bar, a spike). */
  returns: Float64Array;
  /** Printed close and volume (units); NaN where the symbol has no bar (or a toxic spike prints). */
  close: Float64Array;
  volume: Float64Array;
  /** Printed open on every bar (a toxic spike's too); NaN where the symbol has no bar or no open was printed (closes alone). */
  open: Float64Array;
  /** The toxic-bar rule's threshold (a close-to-close rise above it is a bad print): an open beyond it is not trusted. */
  toxicThreshold: number;
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
      volume = b.volume ? alignColumns(b.dates, b.symbols, b.volume, calendar, symbols) : nan();
      toxicBars = await market.readToxicBars({ symbols, start, end, allowEmpty: true });
      // Opens as printed, a spike's included (without spikes, the bars already read have them all). A day of closes
      // alone has none: its stored "open" is the day's close, which nobody knows at the open, so that open stays NaN
      // and an order due at it fills at that day's close (order-book.ts: an open not trusted), recorded so. Only those
      // days: an exchange's bars added to a wide CSV's keep their printed opens.
      const printed = toxicBars.some((x) => x.kind === 'spike') ? await market.readBars({ symbols, start, end, allowEmpty: true, printed: true }) : b;
      if (printed.open) {
        open = alignColumns(printed.dates, printed.symbols, printed.open, calendar, symbols);
        symbols.forEach((s, j) => {
          for (const [first, last] of market.closesAlone(s)) open.fill(NaN, j * T + lowerBound(calendar, first), j * T + lowerBound(calendar, last + 1));
        });
      }
    }
  }
  const f = n ? await market.readFunding({ symbols, start, end }) : undefined;
  const funding = f ? alignColumns(f.dates, f.symbols, f.values, calendar, symbols) : undefined;
  const perp = Uint8Array.from(symbols, (s) => (market.assetType(s) === 'perp' ? 1 : 0));
  // Day t accrues the calendar days since day t − 1, as each window of the vectorized simulator does.
  const carry = carryRates(calendar, calendar[0] - 1, perp, costs.borrowRate, costs.fundingRate, funding);
  return { dates: calendar, symbols, returns, close, open, volume, toxicThreshold: market.toxicThreshold, toxicBars, carry };
}
