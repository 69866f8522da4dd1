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
