/**
 * The returns matrix a run reads: dates x symbols, aligned on the union of the symbols' dates, as of a date.
 * Point in time: no row after `end` is ever returned. Missing data fails fast, naming every missing symbol or range.
 */
import { inputError } from '../core/errors.js';
import type { PriceMatrix, ReturnsMatrix } from '../core/context.js';
import { dayFromIso, isoFromDay, parseIsoDay } from '../util/dates.js';
import { lowerBound } from '../util/order.js';
import type { RegistryEntry } from './registry.js';
import type { Store } from './store.js';
import { toxicBars as toxicBarsOf, type ToxicBar } from './toxic.js';

/**
 * The toxic bars of a stored close series at a threshold, computed once per series: the store hands out the same
 * cached array for a file until its checksum changes, and every window of a backtest asks again (three readers,
 * each symbol's whole series). The result is only read.
 */
const toxicMemo = new WeakMap<ArrayLike<number>, Map<number, ToxicBar[]>>();
function toxicBars(close: ArrayLike<number>, threshold: number): ToxicBar[] {
  let byThreshold = toxicMemo.get(close);
  if (!byThreshold) toxicMemo.set(close, (byThreshold = new Map()));
  let bars = byThreshold.get(threshold);
  if (!bars) byThreshold.set(threshold, (bars = toxicBarsOf(close, threshold)));
  return bars;
}

export interface ReturnsRequest {
  symbols: string[];
  /** Venue of every symbol; without it each symbol must be on exactly one venue. */
  venue?: string;
  /** As-of date, inclusive (EpochDay or YYYY-MM-DD): never a day after it. */
  end: number | string;
  /** First date, inclusive (optional). */
  start?: number | string;
  /** The last N dates of the aligned axis that are <= end (and >= start). */
  lookbackDays?: number;
  /** Also fail when a symbol does not cover the whole window (default: only when it has no data in it; a late
   *  listing or a delisting inside the window is legitimate and shows as NaN). */
  requireFullCoverage?: boolean;
  /** Keep a symbol that has no bar in the window as an all-NaN column instead of failing (the backtest holds a
   *  position through a delisting: no bar means an unchanged price). Unknown symbols still fail. */
  allowEmpty?: boolean;
  /** Apply the toxic-bar rule (toxic.ts) at this threshold (5 = +500%): spikes not booked, reversals booked from
   *  the last good close; in readPrices a spike bar is NaN. Decided on each symbol's whole stored series, so a
   *  window sees the same values as any other window over the same days. */
  toxicThreshold?: number;
}

function toDay(v: number | string, what: string): number {
  if (typeof v === 'number') return v;
  const d = parseIsoDay(v);
  if (d === undefined) throw inputError('LAKEHOUSE_BAD_DATE', `${what} "${v}" is not a YYYY-MM-DD date.`);
  return d;
}

interface Axis {
  entries: RegistryEntry[];
  series: { date: Int32Array; close: Float64Array }[];
  dates: Int32Array;
  /** Row of each day from `from` (on the axis) or -1. */
  rowOf: Int32Array;
  from: number;
  end: number;
}

export async function readReturns(store: Store, req: ReturnsRequest): Promise<ReturnsMatrix> {
  const { entries, series, dates, rowOf, from, end } = buildAxis(store, req);
  const T = dates.length;
  // Simple close-to-close returns from each symbol's previous stored close (so an equity's Monday return spans
  // the weekend when crypto shares the axis); NaN on dates where the symbol has no bar and on its first bar.
  const values = new Float64Array(T * entries.length).fill(NaN);
  const first = dates[0];
  for (let j = 0; j < series.length; j++) {
    const { date: d, close: c } = series[j];
    const base = j * T;
    const lo = lowerBound(d, first);
    for (let i = lo; i < d.length && d[i] <= end; i++) {
      if (i > 0) values[base + rowOf[d[i] - from]] = c[i] / c[i - 1] - 1;
    }
    if (req.toxicThreshold !== undefined)
      for (const b of toxicBars(c, req.toxicThreshold)) if (b.index >= lo && d[b.index] <= end) values[base + rowOf[d[b.index] - from]] = b.booked;
  }
  return { dates, symbols: entries.map((e) => e.symbol), values };
}

/** The toxic bars (toxic.ts) of the requested symbols dated inside the request's axis, in symbol then date order. */
export async function readToxicBars(store: Store, req: ReturnsRequest & { toxicThreshold: number }): Promise<{ symbol: string; date: number; kind: 'spike' | 'reversal'; value: number; booked: number }[]> {
  const { entries, series, dates } = buildAxis(store, req);
  const out: { symbol: string; date: number; kind: 'spike' | 'reversal'; value: number; booked: number }[] = [];
  const first = dates[0];
  const last = dates[dates.length - 1];
  for (let j = 0; j < series.length; j++) {
    const { date: d, close: c } = series[j];
    for (const b of toxicBars(c, req.toxicThreshold)) if (d[b.index] >= first && d[b.index] <= last) out.push({ symbol: entries[j].symbol, date: d[b.index], kind: b.kind, value: b.value, booked: b.booked });
  }
  return out;
}

/** Bars on the same axis as readReturns for the same request (close, open, high, low, volume; NaN where missing). */
export async function readPrices(store: Store, req: ReturnsRequest): Promise<PriceMatrix> {
  const { entries, dates, rowOf, from, end } = buildAxis(store, req);
  const T = dates.length;
  const mk = () => new Float64Array(T * entries.length).fill(NaN);
  const out: Required<PriceMatrix> = { dates, symbols: entries.map((e) => e.symbol), close: mk(), open: mk(), high: mk(), low: mk(), volume: mk() };
  for (let j = 0; j < entries.length; j++) {
    const o = await store.readEntry(entries[j]);
    const spikes = new Set(req.toxicThreshold === undefined ? [] : toxicBars(o.close, req.toxicThreshold).filter((b) => b.kind === 'spike').map((b) => b.index));
    for (let i = lowerBound(o.date, dates[0]); i < o.date.length && o.date[i] <= end; i++) {
      if (spikes.has(i)) continue; // a bad print: no bar
      const k = j * T + rowOf[o.date[i] - from];
      out.close[k] = o.close[i];
      out.open[k] = o.open[i];
      out.high[k] = o.high[i];
      out.low[k] = o.low[i];
      out.volume[k] = o.volume[i];
    }
  }
  return out;
}

/**
 * The last axis built per store, and the request and registry entries it was built for: a decision reads returns,
 * prices and toxic bars for one request, three axes where one does. Callers only read an axis; each gets its own
 * copy of the dates (they end up in matrices a stage may keep).
 */
const lastAxis = new WeakMap<Store, { key: string; entries: RegistryEntry[]; axis: Axis }>();

function buildAxis(store: Store, req: ReturnsRequest): Axis {
  const key = JSON.stringify([req.symbols, req.venue ?? null, req.end, req.start ?? null, req.lookbackDays ?? null, req.requireFullCoverage ?? false, req.allowEmpty ?? false]);
  const memo = lastAxis.get(store);
  if (memo && memo.key === key && memo.entries.every((e) => store.lookup(e.symbol, req.venue ?? e.venue) === e)) return { ...memo.axis, dates: memo.axis.dates.slice() };
  const axis = buildAxisFresh(store, req);
  lastAxis.set(store, { key, entries: axis.entries, axis: { ...axis, dates: axis.dates.slice() } });
  return axis;
}

function buildAxisFresh(store: Store, req: ReturnsRequest): Axis {
  const end = toDay(req.end, 'end');
  const start = req.start === undefined ? undefined : toDay(req.start, 'start');
  if (start !== undefined && start > end) throw inputError('LAKEHOUSE_BAD_RANGE', `start ${isoFromDay(start)} is after end ${isoFromDay(end)}.`);
  if (req.lookbackDays !== undefined && !(Number.isInteger(req.lookbackDays) && req.lookbackDays > 0)) {
    throw inputError('LAKEHOUSE_BAD_RANGE', `lookbackDays must be a positive integer, got ${req.lookbackDays}.`);
  }
  const dup = req.symbols.find((s, i) => req.symbols.indexOf(s) !== i);
  if (dup) throw inputError('LAKEHOUSE_DUPLICATE', `Symbol ${dup} is requested twice.`);

  // 1. Resolve every symbol first and collect all problems, so one error names them all.
  const problems: string[] = [];
  const entries: RegistryEntry[] = [];
  for (const s of req.symbols) {
    const e = store.lookup(s, req.venue);
    if (typeof e === 'string') problems.push(`${s}: ${e}`);
    else entries.push(e);
  }
  const lo = start ?? -Infinity;
  for (const e of entries) {
    const f = dayFromIso(e.first_date);
    const l = dayFromIso(e.last_date);
    if ((f > end || l < lo) && !req.allowEmpty) problems.push(`${e.venue}/${e.symbol}: no data ${windowText(start, end)} (stored ${e.first_date}..${e.last_date})`);
  }
  if (problems.length) throw missing(store, problems, req.symbols.length);

  // 2. Read dates and closes (cached per file) and build the axis: union of dates within [start, end].
  const series = entries.map((e) => store.readCloses(e));
  let minDay = Infinity;
  for (const o of series) if (o.date.length && o.date[0] < minDay) minDay = o.date[0];
  const from = Math.max(minDay, start ?? minDay);
  const span = end - from + 1;
  const present = new Uint8Array(Math.max(span, 0));
  for (const o of series) {
    const d = o.date;
    for (let i = lowerBound(d, from); i < d.length && d[i] <= end; i++) present[d[i] - from] = 1;
  }
  let count = 0;
  for (let i = 0; i < present.length; i++) count += present[i];
  const skip = req.lookbackDays !== undefined && count > req.lookbackDays ? count - req.lookbackDays : 0;
  const dates = new Int32Array(count - skip);
  // row index of each day in the span, -1 when not on the axis
  const rowOf = new Int32Array(present.length).fill(-1);
  for (let i = 0, k = 0, r = 0; i < present.length; i++) {
    if (!present[i]) continue;
    if (k++ >= skip) {
      dates[r] = from + i;
      rowOf[i] = r++;
    }
  }
  const T = dates.length;
  if (T === 0) throw missing(store, [`no dates ${windowText(start, end)} for any requested symbol`], req.symbols.length);

  if (req.requireFullCoverage) {
    for (let j = 0; j < entries.length; j++) {
      const e = entries[j];
      if (dayFromIso(e.first_date) > dates[0] || dayFromIso(e.last_date) < dates[T - 1]) {
        problems.push(`${e.venue}/${e.symbol}: window ${isoFromDay(dates[0])}..${isoFromDay(dates[T - 1])} not covered (stored ${e.first_date}..${e.last_date})`);
      }
    }
    if (problems.length) throw missing(store, problems, req.symbols.length);
  }

  return { entries, series, dates, rowOf, from, end };
}

const windowText = (start: number | undefined, end: number) =>
  start === undefined ? `up to ${isoFromDay(end)}` : `in ${isoFromDay(start)}..${isoFromDay(end)}`;

function missing(store: Store, problems: string[], asked: number) {
  return inputError(
    'LAKEHOUSE_MISSING_DATA',
    `The lakehouse at ${store.root} lacks data for ${problems.length} of ${asked} requested symbol(s):\n${problems.map((p) => `  ${p}`).join('\n')}`,
    'Fill it first (`pipeline-run lakehouse import|ingest|seed`), or drop these symbols / move the dates.',
    { details: { problems } },
  );
}

export { dayFromIso };

/**
 * Funding series of perpetuals (the optional `funding` column) on the union of the symbols' dates in [start, end],
 * column-major, NaN where a symbol has no value; undefined when none of them has a funding column.
 */
export async function readFunding(store: Store, req: { symbols: string[]; venue?: string; start: number; end: number }): Promise<ReturnsMatrix | undefined> {
  const series: { symbol: string; date: Int32Array; funding: Float64Array }[] = [];
  for (const s of req.symbols) {
    const e = store.lookup(s, req.venue);
    if (typeof e === 'string') continue;
    const o = await store.readEntry(e);
    if (o.funding) series.push({ symbol: s, date: o.date, funding: o.funding });
  }
  if (!series.length) return undefined;
  const days = new Set<number>();
  for (const x of series) for (let i = lowerBound(x.date, req.start); i < x.date.length && x.date[i] <= req.end; i++) days.add(x.date[i]);
  const dates = Int32Array.from([...days].sort((a, b) => a - b));
  const row = new Map<number, number>();
  dates.forEach((d, i) => row.set(d, i));
  const T = dates.length;
  const values = new Float64Array(series.length * T).fill(NaN);
  series.forEach((x, j) => {
    for (let i = lowerBound(x.date, req.start); i < x.date.length && x.date[i] <= req.end; i++) values[j * T + row.get(x.date[i])!] = x.funding[i];
  });
  return { dates, symbols: series.map((x) => x.symbol), values };
}
