/**
 * What a scanner declares in its meta decides how a backtest reads its universe, not its name: a user's own live
 * screener (a plugin module, named nothing the engine knows) is recorded as not point in time, with the audit
 * event that says past decisions are survivorship-biased; the same market from the built-in synthetic scanner is
 * point in time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditEvents, readJson, runYaml } from './pipeline-helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-scanner-caps-'));
  // A "live screener": today's candidates of a seeded market, with no history to rediscover from.
  writeFileSync(join(tmp, 'screener.js'), `
export class Screener {
  static meta = {
    kind: 'scanner', name: 'screener', description: "Today's movers from a screener.",
    live: true, pointInTime: false, cacheable: false, readsLakehouse: false,
    params: { type: 'object', additionalProperties: false, properties: {} },
  };
  async scan(_params, env) {
    const props = env.plugins.meta('scanner', 'synthetic').params.properties;
    const defaults = Object.fromEntries(Object.entries(props).filter(([, s]) => 'default' in s).map(([k, s]) => [k, s.default]));
    const found = await env.plugins.get('scanner', 'synthetic').scan({ ...defaults, symbols: 12, days: 200, seed: 5 }, env);
    delete found.rediscover;
    return found;
  }
}
`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const pipeline = (name: string, scanner: string) => `pipeline: selection
version: "4.0"
name: ${name}
plugins: [./screener.js]
stages:
  - type: ingestion
    params: { scanner: ${scanner}, lookback_days: 150 }
  - type: allocation
    params: { engine: equal_weight }
  - type: backtest
    params: { train_window: 60, test_window: 20, step_size: 20 }
`;

test("a plugin scanner that declares itself live: the backtest's universe is recorded as not point in time", async () => {
  const s = await runYaml(tmp, 'live', pipeline('live', 'screener'));
  expect(s.error ?? null).toBeNull();
  expect(readJson(s.folder, 'metrics.json').backtest.universe_point_in_time).toBe(false);
  const flagged = auditEvents(s.folder).filter((e) => e.event === 'universe_not_point_in_time');
  expect(flagged).toEqual([expect.objectContaining({ stage: 'backtest', data: expect.objectContaining({ scanner: 'screener' }) })]);
});

test('the same market through the built-in synthetic scanner is point in time', async () => {
  const s = await runYaml(tmp, 'stored', pipeline('stored', '{ name: synthetic, params: { symbols: 12, days: 200, seed: 5 } }'));
  expect(s.outcome).toBe('succeeded');
  expect(readJson(s.folder, 'metrics.json').backtest.universe_point_in_time).toBe(true);
  expect(auditEvents(s.folder).some((e) => e.event === 'universe_not_point_in_time')).toBe(false);
  expect(readFileSync(join(s.folder, 'returns.arrow')).length).toBeGreaterThan(0);
});

describe('a universe chosen with later knowledge is flagged, with why, in metrics.json, the audit and the report', () => {
  const flagged = async (name: string, ingestion: string) => {
    const s = await runYaml(tmp, name, `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: ${ingestion}
  - type: allocation
    params: { engine: equal_weight }
  - type: backtest
    params: { train_window: 60, test_window: 20, step_size: 20 }
  - type: report
`);
    expect(s.outcome).toBe('succeeded');
    const m = readJson(s.folder, 'metrics.json').backtest;
    const md = readFileSync(join(s.folder, 'report.md'), 'utf8');
    const html = readFileSync(join(s.folder, 'report.html'), 'utf8');
    return { m, md, html, events: auditEvents(s.folder).filter((e) => e.event === 'universe_not_point_in_time') };
  };

  test('a fixed candidates file: the names were picked knowing their later history', async () => {
    writeFileSync(join(tmp, 'survivors.json'), JSON.stringify([{ symbol: 'KOKUSDT' }, { symbol: 'TIHIUSDT' }, { symbol: 'XELUSDT' }, { symbol: 'BOLUSDT' }]));
    const r = await flagged('fixed_list', '{ scanner: { name: synthetic, params: { symbols: 12, days: 200, seed: 5 } }, candidates_path: ./survivors.json, lookback_days: 150 }');
    expect(r.m.universe_point_in_time).toBe(false);
    expect(r.m.universe_caveats).toEqual(['the candidates come from a fixed list (./survivors.json), chosen with the names\' later history known']);
    expect(r.events).toHaveLength(1);
    for (const text of [r.md, r.html]) expect(text).toContain('SURVIVORSHIP: the universe is not point in time (the candidates come from a fixed list');
  });

  test('a ranking by the stored market cap (today\'s ranks, not each date\'s)', async () => {
    const r = await flagged('by_cap', '{ scanner: { name: synthetic, params: { symbols: 12, days: 200, seed: 5, sort_by: market_cap_rank, limit: 6 } }, lookback_days: 150 }');
    expect(r.m.universe_point_in_time).toBe(false);
    expect(r.m.universe_caveats).toEqual(["the scanner ranks by market cap as stored (a snapshot, today's ranks), not as of each decision's date"]);
  });

  test('the lakehouse-like default (liquidity as of each date) is not flagged', async () => {
    const r = await flagged('by_volume', '{ scanner: { name: synthetic, params: { symbols: 12, days: 200, seed: 5, limit: 6 } }, lookback_days: 150 }');
    expect(r.m.universe_point_in_time).toBe(true);
    expect(r.m.universe_caveats).toBeUndefined();
    expect(r.md).not.toContain('SURVIVORSHIP');
  });
});
