/**
 * The market, decoded once per process tree: the stored series a run has read, copied once into one
 * SharedArrayBuffer that the backtest's worker threads receive (SharedArrayBuffers cross to a worker without a
 * copy). A worker's store then serves those files from shared memory instead of opening, hashing and decoding
 * every file again in every thread, and each thread does not hold its own copy of the market.
 *
 * Keyed by the registry entry and its checksum: a series is only served for the very file version (checksum) the
 * registry lists, which the thread that read it first had checked against that checksum.
 */
import type { Ohlcv } from './ohlcv.js';

const COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;

/** What a worker receives: one buffer and where each series sits in it. */
export interface SharedSeries {
  buffer: SharedArrayBuffer;
  index: { key: string; checksum: string; rows: number; offset: number; funding: boolean }[];
}

const tag = (key: string, checksum: string) => `${key}\u0000${checksum}`;

/**
 * Series decoded in this thread (by any store; weakly held: a store that is gone takes its series with it), and
 * series adopted from a parent thread.
 */
const decoded = new Map<string, WeakRef<Ohlcv>>();
const adopted = new Map<string, Ohlcv>();

/** A store records what it decoded (the same arrays it caches: no copy). */
export function noteDecoded(key: string, checksum: string, data: Ohlcv): void {
  if (decoded.size > 4 * 65536) for (const [t, ref] of decoded) if (!ref.deref()) decoded.delete(t);
  decoded.set(tag(key, checksum), new WeakRef(data));
}

/** The series of this file version, when a parent thread shared it. */
export function sharedSeriesFor(key: string, checksum: string): Ohlcv | undefined {
  return adopted.get(tag(key, checksum));
}

/**
 * Everything decoded in this thread that is still held, in one SharedArrayBuffer for worker threads (undefined
 * when there is nothing). The copy lives as long as the workers that adopt it.
 */
export function shareDecoded(): SharedSeries | undefined {
  const all = new Map(adopted);
  for (const [t, ref] of decoded) {
    const o = ref.deref();
    if (o) all.set(t, o);
    else decoded.delete(t);
  }
  if (!all.size) return undefined;
  let bytes = 0;
  const index: SharedSeries['index'] = [];
  for (const [t, o] of all) {
    const [key, checksum] = t.split('\u0000') as [string, string];
    const rows = o.date.length;
    index.push({ key, checksum, rows, offset: bytes, funding: o.funding !== undefined });
    bytes += 8 * Math.ceil(rows / 2) + rows * 8 * (COLUMNS.length + (o.funding ? 1 : 0));
  }
  const buffer = new SharedArrayBuffer(bytes);
  for (const x of index) {
    const o = all.get(tag(x.key, x.checksum))!;
    const view = viewsOf(buffer, x);
    view.date.set(o.date);
    for (const c of COLUMNS) view[c].set(o[c]);
    if (o.funding) view.funding!.set(o.funding);
  }
  return { buffer, index };
}

/** A worker takes its parent's shared series (views, no copy). */
export function adoptSharedSeries(shared: SharedSeries | undefined): void {
  if (!shared) return;
  for (const x of shared.index) adopted.set(tag(x.key, x.checksum), viewsOf(shared.buffer, x));
}

function viewsOf(buffer: SharedArrayBuffer, x: SharedSeries['index'][number]): Ohlcv {
  const n = x.rows;
  let at = x.offset;
  const date = new Int32Array(buffer, at, n);
  at += 8 * Math.ceil(n / 2);
  const col = () => {
    const a = new Float64Array(buffer, at, n);
    at += 8 * n;
    return a;
  };
  const out: Ohlcv = { date, open: col(), high: col(), low: col(), close: col(), volume: col() };
  if (x.funding) out.funding = col();
  return out;
}
