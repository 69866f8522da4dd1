import { openLakehouse } from '../../src/lakehouse/index.js';
import { seriesFindings, staleFinding } from '../../src/lakehouse/health.js';
import { dayFromIso } from '../../src/util/dates.js';
import type { Ohlcv } from '../../src/lakehouse/ohlcv.js';
import { tempDir, CRYPTO } from './helpers.js';

function series(dates: string[], closes?: number[], volume?: number[]): Ohlcv {
  const c = Float64Array.from(closes ?? dates.map(() => 1));
  return { date: Int32Array.from(dates, dayFromIso), open: c.slice(), high: c.slice(), low: c.slice(), close: c, volume: Float64Array.from(volume ?? dates.map(() => 10)) };
}
const days = (from: string, n: number, skip: number[] = []) =>
  Array.from({ length: n }, (_, i) => new Date(Date.parse(from) + i * 86400e3).toISOString().slice(0, 10)).filter((_, i) => !skip.includes(i));

describe('health on the real crypto files', () => {
  let rows: Awaited<ReturnType<typeof openLakehouse>>['symbols'] extends () => infer R ? R : never;
  beforeAll(async () => {
    const lh = await openLakehouse(await tempDir());
    await lh.importCsv(CRYPTO);
    rows = lh.symbols();
  });
  const row = (s: string) => rows.find((r) => r.symbol === s)!;

  test("LUNA's +168% day makes it DEGRADED, with the date", () => {
    expect(row('LUNAUSDT').status).toBe('DEGRADED');
    expect(row('LUNAUSDT').reasons).toEqual(['extreme move: +168% close-to-close on 2022-09-09 (limit +150%, or a fall to 1/2.5)']);
  });

  test("KLAY's flat zero-volume tail (and its early end) make it DEGRADED", () => {
    expect(row('KLAYUSDT').status).toBe('DEGRADED');
    expect(row('KLAYUSDT').reasons[0]).toBe('flat zero-volume tail: 2 bar(s) from 2024-10-29 at 0.1255');
    expect(row('KLAYUSDT').reasons[1]).toMatch(/^stale: last bar 2024-10-30, 127 days before the venue's latest 2025-03-06/);
  });

  test('the delisted ones are stale against their peers; the others are STABLE', () => {
    expect(rows.filter((r) => r.status === 'DEGRADED').map((r) => r.symbol).sort()).toEqual(['FTMUSDT', 'KLAYUSDT', 'LUNAUSDT', 'MATICUSDT']);
    expect(row('BTCUSDT')).toMatchObject({ status: 'STABLE', reasons: [] });
    expect(row('TRXUSDT').status).toBe('STABLE'); // +96% is large but under the extreme threshold
  });
});

describe('health rules', () => {
  test('crypto gaps: one missing day is tolerated, two are a gap; the missing fraction is reported', () => {
    expect(seriesFindings(series(days('2024-01-01', 60, [10])), 'spot')).toEqual([]);
    expect(seriesFindings(series(days('2024-01-01', 60, [10, 11])), 'spot')).toEqual(['gaps: 1 run(s) of 2+ missing sessions, longest 2 from 2024-01-11']);
    const sparse = seriesFindings(series(days('2024-01-01', 60, [3, 4, 5, 6, 7, 20, 21, 22])), 'spot');
    expect(sparse[1]).toMatch(/^missing: 13\.3% of 60 expected sessions/);
  });

  test('equities trade on business days: weekends are not gaps, a holiday is tolerated, two sessions are not', () => {
    const weekdays = days('2024-01-01', 60).filter((d) => ![0, 6].includes(new Date(d).getUTCDay()));
    expect(seriesFindings(series(weekdays), 'equity')).toEqual([]);
    expect(seriesFindings(series(weekdays.filter((d) => d !== '2024-01-15')), 'equity')).toEqual([]);
    expect(seriesFindings(series(weekdays.filter((d) => d !== '2024-01-15' && d !== '2024-01-16')), 'equity')[0]).toMatch(/^gaps: 1 run/);
  });

  test('toxic moves (> 500%) either way, flat zero-volume tails, bad prices', () => {
    const d = days('2024-01-01', 5);
    expect(seriesFindings(series(d, [1, 1, 7, 7, 7]), 'spot')).toEqual(['toxic move: +600% close-to-close on 2024-01-03 (limit +500%, or a fall to 1/6.0)']);
    expect(seriesFindings(series(d, [7, 7, 1, 1, 1]), 'spot')[0]).toMatch(/^toxic move: -86%/);
    expect(seriesFindings(series(d, [1, 2, 3, 3, 3], [5, 5, 0, 0, 0]), 'spot')).toEqual(['flat zero-volume tail: 3 bar(s) from 2024-01-03 at 3']);
    expect(seriesFindings(series(d, [1, 2, 3, 3, 3], [5, 5, 5, 5, 0]), 'spot')).toEqual([]); // one bar is not a tail
  });

  test('staleness: live crypto older than 24 h; static sources against the latest day of their peers', () => {
    const last = dayFromIso('2024-06-01'); // bar closes 2024-06-02 00:00
    expect(staleFinding(last, 'spot', { nowMs: Date.parse('2024-06-02T20:00:00Z') })).toBeUndefined();
    expect(staleFinding(last, 'spot', { nowMs: Date.parse('2024-06-03T01:00:00Z') })).toMatch(/^stale: last bar 2024-06-01 closed 1\.0 days ago/);
    expect(staleFinding(last, 'equity', { nowMs: Date.parse('2024-06-04T01:00:00Z') })).toBeUndefined();
    expect(staleFinding(last, 'spot', { venueLastDay: last + 1 })).toBeUndefined();
    expect(staleFinding(last, 'spot', { venueLastDay: last + 5 })).toMatch(/5 days before/);
  });
});
