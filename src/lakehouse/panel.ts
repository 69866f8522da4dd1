/**
 * The returns panel: a universe's returns (toxic-bar rule applied) and bar positions on one calendar (the union of
 * the universe's dates), built once per run from the decoded series and sliced by every decision's reads instead
 * of re-aligning and re-computing them per window (a walk-forward backtest makes one decision per window, each
 * reading the same market up to its own date).
 *
 * What a slice serves is what returns.ts serves for the same request, value for value: the window's axis is the
 * union of the requested symbols' own dates in [start, end] (its last `lookbackDays`), a return is the one
 * computed from the symbol's previous stored close, the toxic-bar rule is decided on each whole stored series (it
 * is causal: a bar's fate depends on earlier bars only). Point in time: no row after `end`. A request the panel
 * cannot serve exactly the same way (an unknown or duplicated symbol, a symbol with no data in the window, string
 * dates, full-coverage checks, another toxic threshold) goes to returns.ts, which also reports every error.
 *
 * The panel's arrays live in SharedArrayBuffers: the backtest's worker threads adopt them (shared-series.ts)
 * instead of building their own.
 */
import type { PriceMatrix, ReturnsMatrix, ToxicBar as ToxicRow } from '../core/context.js';
import { dayFromIso } from '../util/dates.js';
import { lowerBound } from '../util/order.js';
import type { Ohlcv } from './ohlcv.js';
import type { Registry, RegistryEntry } from './registry.js';
import { readPrices, readReturns, readToxicBars, type ReturnsRequest } from './returns.js';
import { adoptedPanel, notePanel, type PanelData } from './shared-series.js';
import type { Store } from './store.js';
import { toxicBars } from './toxic.js';

export type { PanelData };

/** What the panel serves: the per-decision readers of the lakehouse, with the same contract. */
export interface MarketReader {
  readReturns(req: ReturnsRequest): Promise<ReturnsMatrix>;
  /** The dates readReturns gives for the same request, without its values (a backtest's calendar: every symbol's). */
  readDates(req: ReturnsRequest): Promise<Int32Array>;
  readPrices(req: ReturnsRequest): Promise<PriceMatrix>;
  readToxicBars(req: ReturnsRequest & { toxicThreshold: number }): Promise<ToxicRow[]>;
}

/** No bar on that day; a bar that is a toxic spike (its prices are not served, the day is on the axis). */
const NO_BAR = -1;
const SPIKE = -2;
const PRICE_COLUMNS = ['close', 'open', 'high', 'low', 'volume'] as const;

const panels = new WeakMap<Store, Map<string, { registry: Registry; panel: ReturnsPanel }>>();

/**
 * The panel of `symbols` on `venue` at a toxic threshold, built once per store handle (and registry version), or
 * adopted from the thread that built it; undefined when a symbol is not in the store (the plain readers then report
 * it).
 */
export async function returnsPanel(store: Store, venue: string, symbols: string[], toxicThreshold: number): Promise<ReturnsPanel | undefined> {
  const key = `${venue}\u0000${toxicThreshold}\u0000${symbols.join('\u0001')}`;
  let byKey = panels.get(store);
  if (!byKey) panels.set(store, (byKey = new Map()));
  const memo = byKey.get(key);
  // The same registry (a commit replaces it): the same file versions.
  if (memo && memo.registry === store.registry()) return memo.panel;
  const entries: RegistryEntry[] = [];
  for (const s of symbols) {
    const e = store.lookup(s, venue);
    if (typeof e === 'string') return undefined;
    entries.push(e);
  }
  // Each series through the store (cached, or shared by the parent thread): the file versions the registry lists,
  // each logged as read (the run manifest's data hash) as the plain readers would log the ones they slice.
  const series: Ohlcv[] = [];
  for (const e of entries) series.push(await store.readEntry(e));
  const checksums = entries.map((e) => e.checksum);
  let data = adoptedPanel(key, checksums);
  if (!data) {
    data = buildPanel(series, toxicThreshold);
    notePanel(key, checksums, data);
  }
  const panel = new ReturnsPanel(store, venue, toxicThreshold, symbols, entries, series, data);
  byKey.set(key, { registry: store.registry(), panel });
  return panel;
}

/** The panel's arrays from the decoded series (one pass over every bar). */
function buildPanel(series: Ohlcv[], toxicThreshold: number): PanelData {
  let min = Infinity;
  let max = -Infinity;
  for (const o of series) {
    if (!o.date.length) continue;
    min = Math.min(min, o.date[0]);
    max = Math.max(max, o.date[o.date.length - 1]);
  }
  const span = max >= min ? max - min + 1 : 0;
  const rowOfDay = new Int32Array(span).fill(-1);
  // Each series' dates in a local: a series with deferred columns has accessors of its own (a shape per series), so
  // `o.date` is a slow property load, too slow to repeat per bar.
  for (const { date } of series) for (let i = 0; i < date.length; i++) rowOfDay[date[i] - min] = 0;
  let D = 0;
  for (let i = 0; i < span; i++) if (rowOfDay[i] === 0) rowOfDay[i] = D++;
  const n = series.length;
  const axis = new Int32Array(new SharedArrayBuffer(4 * D));
  for (let i = 0; i < span; i++) if (rowOfDay[i] >= 0) axis[rowOfDay[i]] = min + i;
  const returns = new Float64Array(new SharedArrayBuffer(8 * D * n));
  const bars = new Int32Array(new SharedArrayBuffer(4 * D * n));
  const toxic: PanelData['toxic'] = [];
  for (let j = 0; j < n; j++) {
    const { date: d, close: c } = series[j];
    const base = j * D;
    const len = d.length;
    // Simple close-to-close returns from the previous stored close, NaN on the first bar (as returns.ts). A series
    // whose bars are an unbroken run of the calendar (most) fills its column in one pass, without a day lookup.
    const at = len ? rowOfDay[d[0] - min] : 0;
    if (len && rowOfDay[d[len - 1] - min] - at === len - 1) {
      returns.fill(NaN, base, base + at + 1);
      bars.fill(NO_BAR, base, base + at);
      for (let i = 0, g = base + at; i < len; i++, g++) {
        bars[g] = i;
        if (i > 0) returns[g] = c[i] / c[i - 1] - 1;
      }
      returns.fill(NaN, base + at + len, base + D);
      bars.fill(NO_BAR, base + at + len, base + D);
    } else {
      returns.fill(NaN, base, base + D);
      bars.fill(NO_BAR, base, base + D);
      for (let i = 0; i < len; i++) {
        const g = base + rowOfDay[d[i] - min];
        bars[g] = i;
        if (i > 0) returns[g] = c[i] / c[i - 1] - 1;
      }
    }
    const own: PanelData['toxic'][number] = [];
    for (const b of toxicBars(c, toxicThreshold)) {
      const g = base + rowOfDay[d[b.index] - min];
      returns[g] = b.booked;
      if (b.kind === 'spike') bars[g] = SPIKE;
      own.push({ date: d[b.index], kind: b.kind, value: b.value, booked: b.booked });
    }
    toxic.push(own);
  }
  return { axis, returns, bars, toxic };
}

/** A request's window on the panel: panel columns and panel rows (ascending days). */
interface Slice {
  cols: Int32Array;
  rows: Int32Array;
}

/** Requests the panel served and those it handed to the plain readers, in this thread: tests prove with these
 *  that the panel, not the fallback, answered. */
export const panelCounters = { served: 0, fellBack: 0 };

export class ReturnsPanel implements MarketReader {
  private readonly column = new Map<string, number>();
  private readonly firstDay: Int32Array;
  private readonly lastDay: Int32Array;

  constructor(
    private readonly store: Store,
    readonly venue: string,
    readonly toxicThreshold: number,
    readonly symbols: string[],
    entries: RegistryEntry[],
    private readonly series: Ohlcv[],
    private readonly data: PanelData,
  ) {
    symbols.forEach((s, j) => this.column.set(s, j));
    // What the plain readers judge "no data in the window" by: the registry's first and last dates.
    this.firstDay = Int32Array.from(entries, (e) => dayFromIso(e.first_date));
    this.lastDay = Int32Array.from(entries, (e) => dayFromIso(e.last_date));
  }

  /** The request's window on the panel, or undefined when the plain readers must answer it. */
  private slice(req: ReturnsRequest): Slice | undefined {
    const s = this.window(req);
    panelCounters[s ? 'served' : 'fellBack']++;
    return s;
  }

  private window(req: ReturnsRequest): Slice | undefined {
    const { end, start, lookbackDays } = req;
    if (req.requireFullCoverage || typeof end !== 'number' || (start !== undefined && typeof start !== 'number')) return undefined;
    if ((req.venue ?? this.venue) !== this.venue || (req.toxicThreshold ?? this.toxicThreshold) !== this.toxicThreshold || req.toxicThreshold === undefined) return undefined;
    if (start !== undefined && start > end) return undefined;
    if (lookbackDays !== undefined && !(Number.isInteger(lookbackDays) && lookbackDays > 0)) return undefined;
    const D = this.data.axis.length;
    const cols = new Int32Array(req.symbols.length);
    const seen = new Uint8Array(this.symbols.length);
    const lo = start ?? -Infinity;
    for (let k = 0; k < cols.length; k++) {
      const j = this.column.get(req.symbols[k]);
      if (j === undefined || seen[j]) return undefined;
      if (!req.allowEmpty && (this.firstDay[j] > end || this.lastDay[j] < lo)) return undefined;
      seen[j] = 1;
      cols[k] = j;
    }
    // The axis: the days up to `end` (from `start`) on which any requested symbol has a bar, the last lookbackDays.
    const axis = this.data.axis;
    const bars = this.data.bars;
    const first = start === undefined ? 0 : lowerBound(axis, start);
    const keep = lookbackDays ?? Infinity;
    const picked: number[] = [];
    for (let g = lowerBound(axis, end + 1) - 1; g >= first && picked.length < keep; g--) {
      for (let k = 0; k < cols.length; k++) {
        if (bars[cols[k] * D + g] !== NO_BAR) {
          picked.push(g);
          break;
        }
      }
    }
    if (!picked.length) return undefined;
    return { cols, rows: Int32Array.from(picked.reverse()) };
  }

  private datesOf(s: Slice): Int32Array {
    const out = new Int32Array(s.rows.length);
    for (let r = 0; r < out.length; r++) out[r] = this.data.axis[s.rows[r]];
    return out;
  }

  async readReturns(req: ReturnsRequest): Promise<ReturnsMatrix> {
    const s = this.slice(req);
    if (!s) return readReturns(this.store, req);
    const T = s.rows.length;
    const D = this.data.axis.length;
    const values = new Float64Array(T * s.cols.length);
    const g0 = s.rows[0];
    const contiguous = s.rows[T - 1] - g0 === T - 1;
    for (let k = 0; k < s.cols.length; k++) {
      const base = s.cols[k] * D;
      if (contiguous) values.set(this.data.returns.subarray(base + g0, base + g0 + T), k * T);
      else for (let r = 0; r < T; r++) values[k * T + r] = this.data.returns[base + s.rows[r]];
    }
    return { dates: this.datesOf(s), symbols: [...req.symbols], values };
  }

  async readDates(req: ReturnsRequest): Promise<Int32Array> {
    const s = this.slice(req);
    return s ? this.datesOf(s) : (await readReturns(this.store, req)).dates;
  }

  /**
   * The bars on the window's axis, each column made when first read (a decision that ranks on returns alone never
   * reads them; a copy of five N × T columns per window was most of a decision's reading).
   */
  async readPrices(req: ReturnsRequest): Promise<PriceMatrix> {
    const s = this.slice(req);
    if (!s) return readPrices(this.store, req);
    const out = { dates: this.datesOf(s), symbols: [...req.symbols] } as PriceMatrix;
    for (const name of PRICE_COLUMNS) {
      let made: Float64Array | undefined;
      Object.defineProperty(out, name, { enumerable: true, get: () => (made ??= this.priceColumn(s, name)) });
    }
    return out;
  }

  /** One bar column on a slice: NaN where a symbol has no bar or prints a toxic spike (a bad print: no bar). */
  private priceColumn(s: Slice, name: (typeof PRICE_COLUMNS)[number]): Float64Array {
    const T = s.rows.length;
    const D = this.data.axis.length;
    const bars = this.data.bars;
    const out = new Float64Array(T * s.cols.length);
    const g0 = s.rows[0];
    const contiguous = s.rows[T - 1] - g0 === T - 1;
    for (let k = 0; k < s.cols.length; k++) {
      const j = s.cols[k];
      const src = this.series[j][name];
      const base = j * D;
      const b0 = bars[base + g0];
      // A bar on every day of the window and no spike among them: one copy of the stored run of bars.
      if (contiguous && b0 >= 0 && bars[base + g0 + T - 1] - b0 === T - 1 && !this.spikeBetween(j, this.data.axis[g0], this.data.axis[g0 + T - 1])) {
        out.set(src.subarray(b0, b0 + T), k * T);
        continue;
      }
      for (let r = 0, at = k * T; r < T; r++, at++) {
        const i = bars[base + s.rows[r]];
        out[at] = i >= 0 ? src[i] : NaN;
      }
    }
    return out;
  }

  private spikeBetween(j: number, first: number, last: number): boolean {
    for (const b of this.data.toxic[j]) if (b.kind === 'spike' && b.date >= first && b.date <= last) return true;
    return false;
  }

  async readToxicBars(req: ReturnsRequest & { toxicThreshold: number }): Promise<ToxicRow[]> {
    const s = this.slice(req);
    if (!s) return readToxicBars(this.store, req);
    const first = this.data.axis[s.rows[0]];
    const last = this.data.axis[s.rows[s.rows.length - 1]];
    const out: ToxicRow[] = [];
    for (let k = 0; k < s.cols.length; k++) {
      for (const b of this.data.toxic[s.cols[k]]) if (b.date >= first && b.date <= last) out.push({ symbol: req.symbols[k], date: b.date, kind: b.kind, value: b.value, booked: b.booked });
    }
    return out;
  }
}
