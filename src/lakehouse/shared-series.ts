/**
 * The market, read once per process tree: each stored series a run reads lives in shared memory (read straight into
 * it, or decoded and copied there; see sharedBytes), and the backtest's worker threads receive those buffers (a
 * SharedArrayBuffer crosses to a worker without a copy). A worker's store then serves those files from shared
 * memory instead of opening, hashing and decoding every file again in every thread, and no thread holds a copy of
 * its own.
 *
 * Keyed by the registry entry and its checksum: a series is only served for the very file version (checksum) the
 * registry lists, which the thread that read it first had checked against that checksum.
 */
import type { Ohlcv } from './ohlcv.js';

const COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;

/** Byte offsets of a series' columns in its buffer. */
export type SeriesPlaces = { [C in 'date' | (typeof COLUMNS)[number]]: number } & { funding?: number };

/**
 * What a worker receives: each series' buffer, where its columns sit in it and how many rows they hold, the returns
 * panels built (panel.ts) and the lakehouse scanner's liquidity sums (stages/ingestion/scanners/lakehouse.scanner.ts).
 */
export interface SharedSeries {
  /** `deferred`: its open, high and low are not read yet (withDeferredColumns): the worker reads them when asked. */
  series: { key: string; checksum: string; rows: number; buffer: SharedArrayBuffer; at: SeriesPlaces; deferred?: true }[];
  panels?: { key: string; checksums: string[]; data: PanelData }[];
  liquidity?: { key: string; checksums: string[]; data: LiquiditySums[] }[];
}

/**
 * One symbol's running sums of daily quote volume over its stored bars, in shared memory: `cum[i]` the sum of
 * close * volume over its first i bars where that product is finite, `known[i]` how many of them it is; and, once
 * the scan has placed them, where its bars sit: the longest step between two of them and their offset in the scan's
 * reference calendar (stages/ingestion/scanner.ts barSpan, calendarOffset). Built from the series of one file
 * version (one entry of `checksums` per symbol, in order).
 */
export interface LiquiditySums {
  cum: Float64Array;
  known: Int32Array;
  bars?: { maxStep: number; offset: number };
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

/**
 * Shared memory is carved out of chunks (8-byte aligned slices): allocating one SharedArrayBuffer per series cost
 * more than filling it (a fifth of reading a market of 2000 files). A chunk lives as long as any series in it.
 */
const CHUNK_BYTES = 8 << 20;
let chunk: SharedArrayBuffer | undefined;
let chunkUsed = 0;

/** `bytes` bytes of shared memory (zeroed), at an offset of its buffer that is a multiple of 8. */
export function sharedBytes(bytes: number): Uint8Array {
  const size = 8 * Math.ceil(bytes / 8);
  if (size > CHUNK_BYTES / 4) return new Uint8Array(new SharedArrayBuffer(size), 0, bytes);
  if (!chunk || chunkUsed + size > CHUNK_BYTES) {
    chunk = new SharedArrayBuffer(CHUNK_BYTES);
    chunkUsed = 0;
  }
  const out = new Uint8Array(chunk, chunkUsed, bytes);
  chunkUsed += size;
  return out;
}

/** A zeroed typed array of `length` elements in shared memory (sharedBytes). */
export function sharedArray<T extends Float64Array | Int32Array>(C: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number }, length: number): T {
  const bytes = sharedBytes(length * C.BYTES_PER_ELEMENT);
  return new C(bytes.buffer, bytes.byteOffset, length);
}

/**
 * The columns a series read from its file may leave unread until one of them is first asked for (store.ts readBars):
 * open, high and low, which decisions ranking on closes and volumes, the returns and the liquidity never read. Their
 * places are kept in the series' shared memory, whose pages cost nothing until written, and filled from the file on
 * first access, in each thread that asks (the same bytes into the same places: harmless when two threads do it at
 * once, and a thread reads them only after its own fill).
 */
export const DEFERRED_COLUMNS = ['open', 'high', 'low'] as const;
type DeferredViews = Pick<Ohlcv, (typeof DEFERRED_COLUMNS)[number]>;

const DEFERRED = Symbol('deferred price columns');
interface DeferredState {
  filled: boolean;
  /** Writes the columns' values into `views` (throws a coded error when the file is no longer the one first read). */
  fill: (views: DeferredViews) => void;
  views: DeferredViews;
}
const deferredState = (o: Ohlcv): DeferredState | undefined => (o as Ohlcv & { [DEFERRED]?: DeferredState })[DEFERRED];

/**
 * `o` (returned, changed in place) with open, high and low as accessors over its views of the still unwritten places:
 * the first read of any of them runs `fill` once, in this thread.
 */
export function withDeferredColumns(o: Ohlcv, fill: DeferredState['fill']): Ohlcv {
  const state: DeferredState = { filled: false, fill, views: { open: o.open, high: o.high, low: o.low } };
  for (const c of DEFERRED_COLUMNS) {
    Object.defineProperty(o, c, {
      enumerable: true,
      configurable: true,
      get: () => {
        if (!state.filled) {
          state.fill(state.views);
          state.filled = true;
        }
        return state.views[c];
      },
    });
  }
  Object.defineProperty(o, DEFERRED, { value: state });
  return o;
}

/** Whether `o`'s deferred columns are still unread (reading them would fill them). */
export const hasUnreadColumns = (o: Ohlcv): boolean => deferredState(o)?.filled === false;

/** The series' column views, deferred ones included, without filling them. */
function viewsOf(o: Ohlcv): Ohlcv {
  const d = deferredState(o);
  return d ? { date: o.date, close: o.close, volume: o.volume, ...d.views, ...(o.funding ? { funding: o.funding } : {}) } : o;
}

/** The series whose columns sit at `at` in `buffer` (views, no copy). */
export function seriesAt(buffer: ArrayBufferLike, rows: number, at: SeriesPlaces): Ohlcv {
  const col = (off: number) => new Float64Array(buffer, off, rows);
  const out: Ohlcv = { date: new Int32Array(buffer, at.date, rows), open: col(at.open), high: col(at.high), low: col(at.low), close: col(at.close), volume: col(at.volume) };
  if (at.funding !== undefined) out.funding = col(at.funding);
  return out;
}

/** Where the series' columns sit when they all are views of one SharedArrayBuffer; undefined otherwise. */
function placesOf(series: Ohlcv): { buffer: SharedArrayBuffer; at: SeriesPlaces } | undefined {
  const o = viewsOf(series);
  const buffer = o.date.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || COLUMNS.some((c) => o[c].buffer !== buffer) || (o.funding && o.funding.buffer !== buffer)) return undefined;
  const at: SeriesPlaces = { date: o.date.byteOffset, open: o.open.byteOffset, high: o.high.byteOffset, low: o.low.byteOffset, close: o.close.byteOffset, volume: o.volume.byteOffset };
  if (o.funding) at.funding = o.funding.byteOffset;
  return { buffer, at };
}

/** The same series in shared memory (date, then open … volume, then funding), so it can be shared. */
export function inSharedMemory(o: Ohlcv): Ohlcv {
  const n = o.date.length;
  const columns = o.funding ? [...COLUMNS, 'funding' as const] : COLUMNS;
  const dateBytes = 8 * Math.ceil(n / 2);
  const bytes = sharedBytes(dateBytes + 8 * n * columns.length);
  const at = { date: bytes.byteOffset } as SeriesPlaces;
  columns.forEach((c, k) => (at[c] = bytes.byteOffset + dateBytes + 8 * n * k));
  const out = seriesAt(bytes.buffer, n, at);
  out.date.set(o.date);
  for (const c of columns) out[c]!.set(o[c]!);
  return out;
}

/** A store records what it decoded (the same arrays it caches: no copy). */
export function noteDecoded(key: string, checksum: string, data: Ohlcv): void {
  if (decoded.size > 4 * 65536) for (const [t, ref] of decoded) if (!ref.deref()) decoded.delete(t);
  decoded.set(tag(key, checksum), new WeakRef(data));
}

/** Adopted series whose deferred columns the parent had not read: the first store to serve one gives its fill. */
const adoptedUnread = new Set<string>();

/**
 * The series of this file version, when a parent thread shared it; `fill` reads its deferred columns, when the parent
 * had not (withDeferredColumns), from the file the asking store knows.
 */
export function sharedSeriesFor(key: string, checksum: string, fill: DeferredState['fill']): Ohlcv | undefined {
  const t = tag(key, checksum);
  const o = adopted.get(t);
  if (o && adoptedUnread.delete(t)) withDeferredColumns(o, fill);
  return o;
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
    const { buffer, at } = placesOf(o) ?? placesOf(inSharedMemory(o))!;
    // Unread here, or adopted unread and not yet served by a store of this thread: the receiver reads them itself.
    series.push({ key, checksum, rows: o.date.length, buffer, at, ...(hasUnreadColumns(o) || adoptedUnread.has(t) ? { deferred: true as const } : {}) });
  }
  return { series, ...(panels.length ? { panels } : {}), ...(liquidity.length ? { liquidity } : {}) };
}

/** A worker takes its parent's shared series (views, no copy). */
export function adoptSharedSeries(shared: SharedSeries | undefined): void {
  if (!shared) return;
  for (const x of shared.series) {
    adopted.set(tag(x.key, x.checksum), seriesAt(x.buffer, x.rows, x.at));
    if (x.deferred) adoptedUnread.add(tag(x.key, x.checksum));
  }
  // Typed arrays over SharedArrayBuffers cross as views of the same memory; the toxic lists are small copies.
  for (const p of shared.panels ?? []) adoptedPanels.set(p.key, { checksums: p.checksums, data: p.data });
  for (const p of shared.liquidity ?? []) adoptedSums.set(p.key, { checksums: p.checksums, data: p.data });
}
