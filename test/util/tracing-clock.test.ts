/**
 * The span clock (src/util/tracing.ts hrTimeAt): a performance.now() reading as an OpenTelemetry HrTime. Durations
 * between two readings must be the readings' difference to the nanosecond, which epoch milliseconds in one double
 * (a 0.24 µs step) cannot give: a stage span then disagreed with the manifest's 0.1 ms figure by 0.0501 ms in CI.
 */
import { hrTimeAt } from '../../src/util/tracing.js';

const ns = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

test('durations between readings are exact to the nanosecond, at any point of a long process', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 10_000; i++) {
    // Readings as performance.now() gives them: milliseconds with a fraction, up to a day into the process.
    const a = Math.round(rand() * 86_400_000 * 1e3) / 1e3 + rand() * 1e-3;
    const b = a + rand() * 5_000;
    const exact = Math.round((b - a) * 1e6);
    const d = Number(ns(hrTimeAt(b)) - ns(hrTimeAt(a)));
    expect(Math.abs(d - exact)).toBeLessThanOrEqual(1);
  }
});

test('a reading is wall time: the origin plus the reading, nanoseconds in [0, 1e9)', () => {
  for (const t of [0, 0.0004, 999.9999996, 1000, 123_456.789_123, 86_399_999.999_999]) {
    const hr = hrTimeAt(t);
    expect(Number.isInteger(hr[0]) && Number.isInteger(hr[1])).toBe(true);
    expect(hr[1]).toBeGreaterThanOrEqual(0);
    expect(hr[1]).toBeLessThan(1e9);
    expect(Math.abs(hr[0] * 1e3 + hr[1] / 1e6 - (performance.timeOrigin + t))).toBeLessThan(1e-3);
  }
});
