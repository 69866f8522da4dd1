import { openLakehouse } from '../../src/lakehouse/index.js';
import { adoptSharedSeries, sharedSeriesFor, shareDecoded } from '../../src/lakehouse/shared-series.js';
import { tempDir } from './helpers.js';

// The market a run read, handed to backtest workers in shared memory (src/lakehouse/shared-series.ts). A worker is
// another thread; here the same thread plays it (adopting what it shared), which is what the worker runs.
describe('shared series', () => {
  test('a series read once is shared as it was stored, and served only for the same file version', async () => {
    const dir = await tempDir();
    const w = await openLakehouse(dir);
    await w.seedSynthetic({ symbols: 8, days: 120, seed: 5 });
    const ro = await openLakehouse(dir, { readOnly: true });
    const entry = ro.symbols().find((s) => s.venue === 'synthetic-spot')!;
    const key = `${entry.venue}/${entry.symbol}`;
    const read = await ro.readOhlcv(entry.symbol, entry.venue);
    const shared = shareDecoded()!;
    const mine = shared.series.find((x) => x.key === key)!;
    expect(mine.checksum).toBe(ro.registry().entries[key]!.checksum);
    expect(mine.buffer).toBeInstanceOf(SharedArrayBuffer);
    // No copy to share it: the series the store decoded already lives in that buffer.
    expect(read.close.buffer).toBe(mine.buffer);

    adoptSharedSeries(shared);
    const got = sharedSeriesFor(key, mine.checksum)!;
    for (const c of ['date', 'open', 'high', 'low', 'close', 'volume'] as const) expect(Array.from(got[c])).toEqual(Array.from(read[c]));
    expect(sharedSeriesFor(key, 'sha256:another-version')).toBeUndefined();

    // A worker's store takes the shared copy for that registry entry and checksum instead of the file.
    const worker = await openLakehouse(dir, { readOnly: true });
    expect((await worker.readOhlcv(entry.symbol, entry.venue)).close).toBe(got.close);
  });
});
