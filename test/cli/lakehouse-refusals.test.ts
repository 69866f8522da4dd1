/**
 * `lakehouse import` and `lakehouse ingest` refused, from the user's side: the documented code for each bad option
 * (docs/errors.md), and a refused command leaves the file system as it was: no lakehouse folder made for a write
 * that never happened, and an existing lakehouse untouched. And what `lakehouse verify` says of a deleted file.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'fractal-lh-refused-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const run = (args: string[]) => cli(args, { cwd: root, env: { FRACTAL_LAKEHOUSE: '', FRACTAL_DATA: '' } });

/** Every file under `dir` with its bytes, and every folder: what a refused command must leave as it was. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(full).isDirectory()) {
        out[`${r}/`] = '';
        walk(full, r);
      } else out[r] = readFileSync(full).toString('base64');
    }
  };
  walk(dir, '');
  return out;
}

/** A folder holding one per-symbol CSV file. */
function csvFolder(name: string, body: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'BTCUSDT.csv'), body);
  return dir;
}

const GOOD = 'date,open,high,low,close,volume\n2024-01-01,10,11,9,10.5,100\n2024-01-02,10.5,12,10,11,120\n2024-01-03,11,11.5,10.5,11.2,90\n';

test('a refused import creates no lakehouse folder; the first import that succeeds does; a refused one leaves it as it was', () => {
  const bad = csvFolder('bad', 'date,open,high,low,close\n2024-01-01,10,11,9,x\n');
  const good = csvFolder('good', GOOD);
  const parent = join(root, 'new');
  const lh = join(parent, 'lh');

  const refused = run(['lakehouse', 'import', bad, '--lakehouse', lh]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('error CSV_INVALID');
  expect(refused.stderr).toContain('nothing was written');
  expect(existsSync(parent)).toBe(false);

  const ok = run(['lakehouse', 'import', good, '--lakehouse', lh]);
  expect(ok.code).toBe(0);
  expect(existsSync(join(lh, 'registry.json'))).toBe(true);
  expect(existsSync(join(lh, 'ohlcv', 'csv', 'BTCUSDT.arrow'))).toBe(true);

  const before = tree(lh);
  expect(run(['lakehouse', 'import', bad, '--lakehouse', lh]).code).toBe(2);
  expect(run(['lakehouse', 'import', good, '--layout', 'tall', '--lakehouse', lh]).code).toBe(2);
  expect(tree(lh)).toEqual(before);
  expect(run(['lakehouse', 'verify', '--lakehouse', lh]).code).toBe(0);
});

test('a per-symbol file without a close column is refused at its header (exit 2), not imported as symbols open, high and low', () => {
  const dir = join(root, 'noclose');
  mkdirSync(dir);
  const file = join(dir, 'AAAUSDT.csv');
  writeFileSync(file, 'date,open,high,low\n2024-01-01,1,2,0.5\n2024-01-02,1.1,2.1,0.6\n');
  const lh = join(root, 'noclose-lh');
  const r = run(['lakehouse', 'import', dir, '--lakehouse', lh]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('error CSV_INVALID');
  expect(r.stderr).toContain(`${file}:1: header lacks close`);
  expect(r.stderr).toContain('--layout wide');
  expect(existsSync(lh)).toBe(false);
});

test('an ingest from an unknown exchange is refused before any folder is made', () => {
  const lh = join(root, 'x', 'lh');
  const r = run(['lakehouse', 'ingest', '--exchange', 'nosuchex', '--lakehouse', lh]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('error CCXT_EXCHANGE');
  expect(existsSync(join(root, 'x'))).toBe(false);
});

describe('bad options give the codes docs/errors.md lists, naming the option and its allowed values, and write nothing', () => {
  test.each([
    ['--layout tall', ['import', '__CSV__', '--layout', 'tall'], 'error CSV_LAYOUT: --layout must be wide or ohlcv, got "tall".'],
    ['--asset-type bond', ['import', '__CSV__', '--asset-type', 'bond'], 'error CSV_ASSET_TYPE: --asset-type must be spot, perp, equity or etf, got "bond".'],
    ['--type futures', ['ingest', '--exchange', 'binance', '--type', 'futures'], 'error CCXT_TYPE: --type must be spot or swap, got "futures".'],
  ])('%s', (name, args, message) => {
    const csv = join(root, `opt-${name.replace(/\W+/g, '')}.csv`);
    writeFileSync(csv, 'date,AAA\n2024-01-01,1\n2024-01-02,2\n');
    const lh = join(root, `lh-${name.replace(/\W+/g, '')}`);
    const r = run(['lakehouse', ...args.map((a) => (a === '__CSV__' ? csv : a)), '--lakehouse', lh]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain('CLI_BAD_OPTION');
    expect(existsSync(lh)).toBe(false);
  });
});

test('verify says a deleted data file is missing (exit 1, as for any corrupt file)', () => {
  const lh = join(root, 'lh-verify');
  expect(run(['lakehouse', 'import', csvFolder('verify', GOOD), '--lakehouse', lh]).code).toBe(0);
  rmSync(join(lh, 'ohlcv', 'csv', 'BTCUSDT.arrow'));
  const r = run(['lakehouse', 'verify', '--lakehouse', lh]);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('CORRUPT csv/BTCUSDT (ohlcv/csv/BTCUSDT.arrow): file missing\n');
  expect(r.stdout).not.toContain('ENOENT');
  expect(r.stdout).toContain('FAILED: 1 of 1 file(s) are corrupt');
});
