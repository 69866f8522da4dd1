/**
 * The market, decoded once per process tree: each stored series a run reads is decoded into its own
 * SharedArrayBuffer, and the backtest's worker threads receive those buffers (a SharedArrayBuffer crosses to a
 * worker without a copy). A worker's store then serves those files from shared memory instead of opening, hashing
 * and decoding every file again in every thread, and no thread holds a copy of its own.
 *
 * Keyed by the registry entry and its checksum: a series is only served for the very file version (checksum) the
 * registry lists, which the thread that read it first had checked against that checksum.
 */
import type { Ohlcv } from './ohlcv.js';

const COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;

/**
 * What a worker receives: each series' buffer and what it holds, the returns panels built (panel.ts) and the
 * lakehouse scanner's liquidity sums (stages/ingestion/scanners/lakehouse.scanner.ts).
 */
export interface SharedSeries {
  series: { key: string; checksum: string; rows: number; funding: boolean; buffer: SharedArrayBuffer }[];
  panels?: { key: string; checksums: string[]; data: PanelData }[];
  liquidity?: { key: string; checksums: string[]; data: LiquiditySums[] }[];
}

/**
 * One symbol's running sums of daily quote volume over its stored bars, in shared memory: `cum[i]` the sum of
 * close * volume over its first i bars where that product is finite, `known[i]` how many of them it is. Built from
 * the series of one file version (one entry of `checksums` per symbol, in order).
 */
export interface LiquiditySums {
  cum: Float64Array;
  known: Int32Array;
}

/**
 * A returns panel's arrays (panel.ts), in shared memory: the universe's calendar, each symbol's returns on it
 * (column-major, toxic-bar rule applied), the index of its bar on each day (-1 none, -2 a toxic spike) and its toxic
 * bars. Built from the series of the file versions `checksums` names (one per symbol, in order).
 */
export interface PanelData {
  axis: Int32Array;
  returns: Float64Array;
  bars: Int32Array;
  toxic: { date: number; kind: 'spike' | 'reversal'; value: number; booked: number }[][];
}

const sameVersions = (a: string[], b: string[]) => a.length === b.length && a.every((c, i) => c === b[i]);

/** Panels built in this thread (weakly held, as the series) and adopted from a parent thread. */
const builtPanels = new Map<string, { checksums: string[]; data: WeakRef<PanelData> }>();
const adoptedPanels = new Map<string, { checksums: string[]; data: PanelData }>();

export function notePanel(key: string, checksums: string[], data: PanelData): void {
  builtPanels.set(key, { checksums, data: new WeakRef(data) });
}

/** The panel a parent thread built for `key` from exactly these file versions, if it shared one. */
export function adoptedPanel(key: string, checksums: string[]): PanelData | undefined {
  const p = adoptedPanels.get(key);
  return p && sameVersions(p.checksums, checksums) ? p.data : undefined;
}

/** Liquidity sums built in this thread (weakly held, as the panels) and adopted from a parent thread. */
const builtSums = new Map<string, { checksums: string[]; data: WeakRef<LiquiditySums[]> }>();
const adoptedSums = new Map<string, { checksums: string[]; data: LiquiditySums[] }>();

export function noteLiquidity(key: string, checksums: string[], data: LiquiditySums[]): void {
  builtSums.set(key, { checksums, data: new WeakRef(data) });
}

/** The liquidity sums a parent thread built for `key` from exactly these file versions, if it shared them. */
export function adoptedLiquidity(key: string, checksums: string[]): LiquiditySums[] | undefined {
  const p = adoptedSums.get(key);
  return p && sameVersions(p.checksums, checksums) ? p.data : undefined;
}

const tag = (key: string, checksum: string) => `${key}\u0000${checksum}`;

/**
 * Series decoded in this thread (by any store; weakly held: a store that is gone takes its series with it), and
 * series adopted from a parent thread.
 */
const decoded = new Map<string, WeakRef<Ohlcv>>();
const adopted = new Map<string, Ohlcv>();
/** The buffer behind a series laid out by `inSharedMemory` (or adopted). */
const bufferOf = new WeakMap<Ohlcv, SharedArrayBuffer>();

const bytesFor = (rows: number, funding: boolean) => 8 * Math.ceil(rows / 2) + rows * 8 * (COLUMNS.length + (funding ? 1 : 0));

/** An empty series of `rows` bars in one SharedArrayBuffer (date, then open … volume, then funding), to fill. */
export function sharedOhlcv(rows: number, funding: boolean): Ohlcv {
  const buffer = new SharedArrayBuffer(bytesFor(rows, funding));
  const out = viewsOf(buffer, rows, funding);
  bufferOf.set(out, buffer);
  return out;
}

/** The same series in shared memory, so it can be shared. */
export function inSharedMemory(o: Ohlcv): Ohlcv {
  const out = sharedOhlcv(o.date.length, o.funding !== undefined);
  out.date.set(o.date);
  for (const c of COLUMNS) out[c].set(o[c]);
  if (o.funding) out.funding!.set(o.funding);
  return out;
}

/** A store records what it decoded (the same arrays it caches: no copy). */
export function noteDecoded(key: string, checksum: string, data: Ohlcv): void {
  if (decoded.size > 4 * 65536) for (const [t, ref] of decoded) if (!ref.deref()) decoded.delete(t);
  decoded.set(tag(key, checksum), new WeakRef(data));
}

/** The series of this file version, when a parent thread shared it. */
export function sharedSeriesFor(key: string, checksum: string): Ohlcv | undefined {
  return adopted.get(tag(key, checksum));
}

/** Every series this thread decoded (and still holds) or adopted, for worker threads; undefined when none. */
export function shareDecoded(): SharedSeries | undefined {
  const all = new Map(adopted);
  for (const [t, ref] of decoded) {
    const o = ref.deref();
    if (o) all.set(t, o);
    else decoded.delete(t);
  }
  if (!all.size) return undefined;
  const panels: NonNullable<SharedSeries['panels']> = [...adoptedPanels].map(([key, p]) => ({ key, ...p }));
  for (const [key, p] of builtPanels) {
    const data = p.data.deref();
    if (data) panels.push({ key, checksums: p.checksums, data });
    else builtPanels.delete(key);
  }
  const liquidity: NonNullable<SharedSeries['liquidity']> = [...adoptedSums].map(([key, p]) => ({ key, ...p }));
  for (const [key, p] of builtSums) {
    const data = p.data.deref();
    if (data) liquidity.push({ key, checksums: p.checksums, data });
    else builtSums.delete(key);
  }
  const series: SharedSeries['series'] = [];
  for (const [t, o] of all) {
    const [key, checksum] = t.split('\u0000') as [string, string];
    // A series not laid out in shared memory (written by this process, say) is copied once.
    const buffer = bufferOf.get(o) ?? bufferOf.get(inSharedMemory(o))!;
    series.push({ key, checksum, rows: o.date.length, funding: o.funding !== undefined, buffer });
  }
  return { series, ...(panels.length ? { panels } : {}), ...(liquidity.length ? { liquidity } : {}) };
}

/** A worker takes its parent's shared series (views, no copy). */
export function adoptSharedSeries(shared: SharedSeries | undefined): void {
  if (!shared) return;
  for (const x of shared.series) {
    const o = viewsOf(x.buffer, x.rows, x.funding);
    bufferOf.set(o, x.buffer);
    adopted.set(tag(x.key, x.checksum), o);
  }
  // Typed arrays over SharedArrayBuffers cross as views of the same memory; the toxic lists are small copies.
  for (const p of shared.panels ?? []) adoptedPanels.set(p.key, { checksums: p.checksums, data: p.data });
  for (const p of shared.liquidity ?? []) adoptedSums.set(p.key, { checksums: p.checksums, data: p.data });
}

function viewsOf(buffer: SharedArrayBuffer, n: number, funding: boolean): Ohlcv {
  let at = 0;
  const date = new Int32Array(buffer, at, n);
  at += 8 * Math.ceil(n / 2);
  const col = () => {
    const a = new Float64Array(buffer, at, n);
    at += 8 * n;
    return a;
  };
  const out: Ohlcv = { date, open: col(), high: col(), low: col(), close: col(), volume: col() };
  if (funding) out.funding = col();
  return out;
}
