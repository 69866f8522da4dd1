/**
 * The demo, as a user asks for a parity check on the command line (docs/backtest.md): `pipeline-run
 * pipelines/demo.yaml --set stages.backtest.parity=true` holds the same decisions with the order-level simulator
 * too, writes parity.json, orders.arrow and fills.arrow, and the report gets its parity section; without the flag
 * nothing of it is written.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-demo-parity-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('the demo shows a parity section when asked, and only then', () => {
  const asked = cli(['pipelines/demo.yaml', '--out', tmp, '--json', '--set', 'stages.backtest.parity=true']);
  expect(asked.code).toBe(0);
  const s = JSON.parse(asked.stdout);
  const parity = JSON.parse(readFileSync(join(s.folder, 'parity.json'), 'utf8'));
  expect(parity).toMatchObject({ simulator: 'event_driven', reference: 'vectorized', settings: { event_driven: { fill: 'next_open', capital: 100000 } } });
  expect(Object.keys(parity.metrics).sort()).toEqual(['event_driven', 'vectorized']);
  for (const f of ['orders.arrow', 'fills.arrow', 'cash.arrow']) expect(existsSync(join(s.folder, f))).toBe(true);
  const html = readFileSync(join(s.folder, 'report.html'), 'utf8');
  expect(html).toContain('<h2>Parity: event_driven against vectorized</h2>');
  expect(html).toContain('Equity, same decisions, two simulators');
  expect(readFileSync(join(s.folder, 'report.md'), 'utf8')).toMatch(/## Parity: event_driven against vectorized[\s\S]*\| Sharpe \| -?\d/);
  // The run's own returns stay the vectorized simulator's: parity adds a view, it does not change the result.
  const plain = cli(['pipelines/demo.yaml', '--out', tmp, '--json']);
  expect(plain.code).toBe(0);
  const p = JSON.parse(plain.stdout);
  expect(readFileSync(join(p.folder, 'returns.arrow'))).toEqual(readFileSync(join(s.folder, 'returns.arrow')));
  for (const f of ['parity.json', 'orders.arrow', 'fills.arrow', 'cash.arrow']) expect(existsSync(join(p.folder, f))).toBe(false);
  expect(readFileSync(join(p.folder, 'report.html'), 'utf8')).not.toContain('Parity:');
});
