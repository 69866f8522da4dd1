import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { FractalError } from '../../src/core/errors.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { adoptSharedSeries, sharedSeriesFor, shareDecoded } from '../../src/lakehouse/shared-series.js';
import { tempDir } from './helpers.js';

const COLUMNS = ['date', 'open', 'high', 'low', 'close', 'volume'] as const;

/** A stored file's columns as apache-arrow decodes them (independent of the store's readers). */
function decoded(file: string): Record<(typeof COLUMNS)[number], number[]> {
  const t = tableFromIPC(readFileSync(file));
  // The stored values (a date as its day number), from the file's one record batch.
  return Object.fromEntries(COLUMNS.map((c) => [c, Array.from((t.getChild(c)!.data[0]!.values as Float64Array).subarray(0, t.numRows))])) as Record<(typeof COLUMNS)[number], number[]>;
}

/** A synthetic market; a seed of its own per test (a series adopted in one test would be served in the next). */
async function market(seed: number) {
  const dir = await tempDir();
  const w = await openLakehouse(dir);
  await w.seedSynthetic({ symbols: 8, days: 120, seed });
  const ro = await openLakehouse(dir, { readOnly: true });
  const entry = ro.symbols().find((s) => s.venue === 'synthetic-spot')!;
  const key = `${entry.venue}/${entry.symbol}`;
  return { dir, ro, entry, key, file: join(dir, ro.registry().entries[key]!.file) };
}

// The market a run read, handed to backtest workers in shared memory (src/lakehouse/shared-series.ts). A worker is
// another thread; here the same thread plays it (adopting what it shared), which is what the worker runs.
describe('shared series', () => {
  test('a series read once is shared as it was stored, and served only for the same file version', async () => {
    const { dir, ro, entry, key, file } = await market(5);
    const read = await ro.readOhlcv(entry.symbol, entry.venue);
    const shared = shareDecoded()!;
    const mine = shared.series.find((x) => x.key === key)!;
    expect(mine.checksum).toBe(ro.registry().entries[key]!.checksum);
    expect(mine.buffer).toBeInstanceOf(SharedArrayBuffer);
    // No copy to share it: the series the store decoded already lives in that buffer.
    expect(read.close.buffer).toBe(mine.buffer);
    // Open, high and low not read yet: shared as such, for the worker to read when it needs them.
    expect(mine.deferred).toBe(true);

    adoptSharedSeries(shared);
    let fills = 0;
    const got = sharedSeriesFor(key, mine.checksum, () => fills++)!;
    const want = decoded(file);
    for (const c of ['date', 'close', 'volume'] as const) expect(Array.from(got[c])).toEqual(want[c]);
    expect(fills).toBe(0);
    expect(sharedSeriesFor(key, 'sha256:another-version', () => fills++)).toBeUndefined();
    // Reading them in this thread fills the shared places; the adopted views see the same memory.
    for (const c of COLUMNS) expect(Array.from(read[c])).toEqual(want[c]);
    expect(Array.from(got.open)).toEqual(want.open);
    expect(fills).toBe(1); // the adopted copy's first read asked its fill once

    // A worker's store takes the shared copy for that registry entry and checksum instead of the file.
    const worker = await openLakehouse(dir, { readOnly: true });
    expect((await worker.readOhlcv(entry.symbol, entry.venue)).close).toBe(got.close);
  });

  test('open, high and low are read from the file when first asked for, and a worker reads them itself', async () => {
    const { dir, ro, entry, key, file } = await market(6);
    const want = decoded(file);
    const read = await ro.readOhlcv(entry.symbol, entry.venue);
    const shared = shareDecoded()!;
    const mine = shared.series.find((x) => x.key === key)!;
    expect(mine.deferred).toBe(true);
    // The places are there, unwritten, until asked for.
    expect(Array.from(new Float64Array(mine.buffer, mine.at.open, 3))).toEqual([0, 0, 0]);
    // The worker (adopting before the parent read them) reads them from the file through its own store.
    adoptSharedSeries(shared);
    const worker = await openLakehouse(dir, { readOnly: true });
    const there = await worker.readOhlcv(entry.symbol, entry.venue);
    for (const c of ['open', 'high', 'low'] as const) expect(Array.from(there[c])).toEqual(want[c]);
    for (const c of ['open', 'high', 'low'] as const) expect(Array.from(read[c])).toEqual(want[c]);
    // A spread (or a copy for a message) reads every column.
    expect(Array.from({ ...(await ro.readOhlcv(entry.symbol, entry.venue)) }.low)).toEqual(want.low);
  });

  test('a file changed between the first read and the deferred columns fails with a coded error, never other data', async () => {
    const { ro, entry, file } = await market(7);
    const read = await ro.readOhlcv(entry.symbol, entry.venue);
    const bytes = readFileSync(file);
    const t = tableFromIPC(bytes);
    const offset = bytes.indexOf(Buffer.from(new Float64Array(t.getChild('open')!.toArray() as Float64Array).buffer));
    expect(offset).toBeGreaterThan(0);
    bytes.writeDoubleLE(12345.5, offset); // the first open, changed in place: same size, new mtime
    writeFileSync(file, bytes);
    let err: unknown;
    try {
      void read.open;
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FractalError);
    expect((err as FractalError).code).toBe('LAKEHOUSE_CORRUPT');
  });
});
