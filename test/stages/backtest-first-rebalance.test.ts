/**
 * The backtest's `first_rebalance`: 'after_train_days' (the default) decides first on the train_window-th day of
 * data, whose window holds train_window − 1 returns; 'after_train_returns' decides one day later, so every
 * decision sees train_window returns (numpy's R[t - train:t] from t = train). Through the real runner with a
 * decision stage that records what each decision saw (test/stages/fixtures/backtest/plugins.js).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { builtinRegistry } from '../../stages/index.js';

const here = new URL('.', import.meta.url).pathname;
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-bt-first-'));
  copyFileSync(join(here, 'fixtures', 'backtest', 'plugins.js'), join(tmp, 'plugins.js'));
  // 41 closes of two symbols (40 returns), one a day from 2024-01-01.
  const rows = Array.from({ length: 41 }, (_, t) => `${new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10)},${100 + t},${200 - t}`);
  writeFileSync(join(tmp, 'closes.csv'), ['date,AAA,BBB', ...rows].join('\n'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DAY0 = Date.UTC(2024, 0, 1) / 86_400_000;
const iso = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

async function run(name: string, first?: string) {
  const record = join(tmp, `${name}.jsonl`);
  const file = join(tmp, `${name}.yaml`);
  const backtest = `{ train_window: 10, test_window: 5, step_size: 5${first ? `, first_rebalance: ${first}` : ''}, workers: 1 }`;
  writeFileSync(
    file,
    `pipeline: selection\nversion: "4.0"\nname: ${name}\nplugins: [./plugins.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${JSON.stringify(join(tmp, 'closes.csv'))}, layout: wide, asset_type: equity } } }\n  - type: hold_all\n    params: { record: ${JSON.stringify(record)} }\n  - type: backtest\n    params: ${backtest}\n`,
  );
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'none') });
  expect(s.outcome).toBe('succeeded');
  // The first record is the main run; then one per rebalance and the final decision.
  const seen = readFileSync(record, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as { as_of: number; last_seen: number; days: number });
  const windows = readFileSync(join(s.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'window').map((e) => e.data);
  const returns = tableFromIPC(readFileSync(join(s.folder, 'returns.arrow'))).getChild('return')!.toArray() as Float64Array;
  return { seen, windows, returns, config: v.resolved!.stages.find((st) => st.type === 'backtest')!.params };
}

test("by default the first decision comes on the train_window-th day, whose window starts on the first day (no return there)", async () => {
  const r = await run('first_default');
  expect(r.config.first_rebalance).toBe('after_train_days');
  // Rebalances on days 9, 14, …, 39 of 0..40: the last window holds one day.
  expect(r.windows.map((w) => w.as_of)).toEqual(['2024-01-10', '2024-01-15', '2024-01-20', '2024-01-25', '2024-01-30', '2024-02-04', '2024-02-09']);
  expect(r.seen[0]).toMatchObject({ as_of: DAY0 + 9, days: 10 });
  expect(r.seen[0]!.as_of - r.seen[0]!.days + 1).toBe(DAY0); // the window opens on the first day of data
  expect(r.returns).toHaveLength(40 - 9);
});

test('after_train_returns: one day later, every window holds train_window days that all have a return', async () => {
  const r = await run('first_returns', 'after_train_returns');
  expect(r.windows.map((w) => w.as_of)).toEqual(['2024-01-11', '2024-01-16', '2024-01-21', '2024-01-26', '2024-01-31', '2024-02-05']);
  for (const x of r.seen) {
    expect(x.days).toBe(10);
    expect(x.last_seen).toBe(x.as_of);
    expect(x.as_of - x.days + 1).toBeGreaterThan(DAY0); // never the first day, which has no return
  }
  expect(iso(r.seen[0]!.as_of)).toBe('2024-01-11');
  // 40 returns, 10 of them before the first decision: 30 test days in 6 windows of 5.
  expect(r.returns).toHaveLength(30);
  expect(r.windows.map((w) => w.end)).toEqual(['2024-01-16', '2024-01-21', '2024-01-26', '2024-01-31', '2024-02-05', '2024-02-10']);
});
