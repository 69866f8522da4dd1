import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeMetrics, drawdownSeries, equityCurve, maxDrawdown, verifyMetrics, type Metrics } from '../../src/math/metrics.js';

const here = new URL('.', import.meta.url).pathname;
const fixtures = JSON.parse(readFileSync(join(here, 'fixtures', 'metrics_reference.json'), 'utf8')) as Record<string, { returns: number[]; ppy: number; rf: number; expected: Metrics }>;

describe.each(Object.keys(fixtures))('metrics against numpy (%s)', (name) => {
  const { returns, ppy, rf, expected } = fixtures[name];
  test.each(Object.keys(expected) as (keyof Metrics)[])('%s', (key) => {
    const got = computeMetrics(returns, ppy, rf)[key];
    expect(Math.abs(got - expected[key])).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(expected[key])));
  });
  test('the second route agrees', () => {
    for (const v of verifyMetrics(returns, ppy, rf)) expect(v).toMatchObject({ agrees: true });
  });
});

test('a worked example: +10%, -5%, +20%', () => {
  const r = [0.1, -0.05, 0.2];
  // Equity 1.1, 1.045, 1.254; the only drawdown is 1.045 / 1.1 - 1 = -5%.
  expect(Array.from(equityCurve(r))).toEqual([1.1, 1.1 * 0.95, 1.1 * 0.95 * 1.2]);
  expect(maxDrawdown(r)).toBeCloseTo(-0.05, 15);
  const m = computeMetrics(r, 3);
  expect(m.cagr).toBeCloseTo(0.254, 12); // three periods a year, three periods: CAGR = total return
  expect(m.hit_rate).toBeCloseTo(2 / 3, 15);
});

test('a wipe-out: equity reaches zero, drawdown -100%, CAGR -100%, and both routes say so', () => {
  const r = [0.05, -1, 0.1];
  expect(maxDrawdown(r)).toBe(-1);
  expect(computeMetrics(r, 365).cagr).toBe(-1);
  expect(verifyMetrics(r, 365).every((v) => v.agrees)).toBe(true);
  expect(Array.from(drawdownSeries(r)).slice(1)).toEqual([-1, -1]);
});
