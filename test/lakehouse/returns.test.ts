import { openLakehouse } from '../../src/lakehouse/index.js';
import { tempDir } from './helpers.js';

// Correctness of the fast path at the benchmark's size (timing lives in bench/lakehouse.ts, not in a test).
describe('returns matrix, 500 symbols x 1000 days', () => {
  test('matches a naive computation from the stored bars, cell by cell', async () => {
    const dir = await tempDir();
    const w = await openLakehouse(dir);
    await w.seedSynthetic({ symbols: 500, days: 1100, seed: 11 });
    const ro = await openLakehouse(dir, { readOnly: true });
    const symbols = ro.symbols().filter((s) => s.venue === 'synthetic-spot').map((s) => s.symbol);
    const end = '2025-11-30';
    const endDay = Date.parse(end) / 86400e3;
    const m = await ro.readReturns({ symbols, venue: 'synthetic-spot', end, lookbackDays: 1000 });
    expect(m.symbols).toEqual(symbols);
    expect(m.dates.length).toBe(1000);
    expect(m.dates[m.dates.length - 1]).toBe(endDay);
    expect(m.values.length).toBe(500 * 1000);
    const T = m.dates.length;
    let checked = 0;
    let nan = 0;
    for (let j = 0; j < symbols.length; j++) {
      const o = await ro.readOhlcv(symbols[j], 'synthetic-spot');
      const idx = new Map(Array.from(o.date, (d, i) => [d, i]));
      for (let t = 0; t < T; t++) {
        const i = idx.get(m.dates[t]);
        const expected = i === undefined || i === 0 ? NaN : o.close[i] / o.close[i - 1] - 1;
        const got = m.values[j * T + t];
        if (Number.isNaN(expected)) {
          expect(got).toBeNaN();
          nan++;
        } else if (got !== expected) {
          throw new Error(`${symbols[j]} at row ${t}: ${got} != ${expected}`);
        }
        checked++;
      }
    }
    expect(checked).toBe(500_000);
    expect(nan).toBeGreaterThan(0); // late listings, the delisted symbol and the gaps
  }, 120_000);
});
