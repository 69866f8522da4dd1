/**
 * Symbol metadata from a user's side: `pipeline-run lakehouse symbols FILE.csv` declares sectors, market-cap ranks,
 * lot sizes, minimum notionals and asset types (checked like every CSV, refused with file:line, written atomically
 * under the lock, part of the data identity); ccxt ingestion fills lot sizes and minimum notionals from the
 * exchange's market info (recorded Binance responses through the real ccxt parser).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { acquireLock } from '../../src/lakehouse/lock.js';
import { tradingRulesOf } from '../../src/lakehouse/sources/ccxt.js';
import { cli } from '../cli/helpers.js';
import { binanceReplay, CRYPTO, tempDir } from './helpers.js';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

async function cryptoStore(): Promise<string> {
  const dir = await tempDir();
  const lh = await openLakehouse(dir);
  await lh.importCsv(CRYPTO, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  return dir;
}

function write(dir: string, name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('lakehouse symbols FILE.csv', () => {
  test('declares the fields it names; the symbols table, status and the data identity show them', async () => {
    const dir = await cryptoStore();
    const before = (await openLakehouse(dir, { readOnly: true })).dataIdentity();
    const file = write(dir, 'meta.csv', ['symbol,sector,market_cap_rank,lot_size,min_notional', 'BTCUSDT,store of value,1,0.00001,5', 'ETHUSDT,smart contracts,2,0.0001,5', 'SOLUSDT,smart contracts,5,,', ''].join('\n'));
    const r = cli(['lakehouse', 'symbols', file, '--lakehouse', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Declared sector for 3, market_cap_rank for 3, lot_size for 2, min_notional for 2');
    expect(r.stdout).toContain('3 symbol(s) changed');

    const st = JSON.parse(cli(['lakehouse', 'status', '--json', '--lakehouse', dir]).stdout);
    const row = (s: string) => st.entries.find((e: { symbol: string }) => e.symbol === s);
    expect(row('BTCUSDT')).toMatchObject({ sector: 'store of value', market_cap_rank: 1, lot_size: 0.00001, min_notional: 5 });
    expect(row('SOLUSDT')).toMatchObject({ sector: 'smart contracts', market_cap_rank: 5, lot_size: null, min_notional: null });
    expect(row('ADAUSDT')).toMatchObject({ sector: null, market_cap_rank: null, lot_size: null });

    // symbols.arrow, read by an Arrow implementation that shares no code with the writer.
    const table = tableFromIPC(readFileSync(join(dir, 'symbols.arrow')));
    const rows = table.toArray().map((x: Record<string, unknown>) => ({ ...x }));
    expect(rows.find((x) => x.symbol === 'ETHUSDT')).toMatchObject({ sector: 'smart contracts', market_cap_rank: 2, lot_size: 0.0001, min_notional: 5 });
    expect(rows.find((x) => x.symbol === 'ADAUSDT')).toMatchObject({ sector: null, lot_size: null });

    const after = (await openLakehouse(dir, { readOnly: true })).dataIdentity();
    expect(after).not.toBe(before);
    // The same file again changes nothing: same identity, nothing rewritten.
    const registry = readFileSync(join(dir, 'registry.json'), 'utf8');
    const again = cli(['lakehouse', 'symbols', file, '--lakehouse', dir]);
    expect(again.stdout).toContain('0 symbol(s) changed, 3 already so');
    expect(readFileSync(join(dir, 'registry.json'), 'utf8')).toBe(registry);
    expect((await openLakehouse(dir, { readOnly: true })).dataIdentity()).toBe(after);
    expect((await (await openLakehouse(dir)).verify()).ok).toBe(true);
  });

  test('what a symbols file declared survives a re-import of the bars', async () => {
    const dir = await cryptoStore();
    cli(['lakehouse', 'symbols', write(dir, 's.csv', 'symbol,sector,asset_type\nDOGEUSDT,memes,spot\n'), '--lakehouse', dir]);
    const lh = await openLakehouse(dir);
    await lh.importCsv(join(CRYPTO, 'DOGEUSDT.csv'), { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot', replace: true });
    expect(lh.symbols().find((s) => s.symbol === 'DOGEUSDT')).toMatchObject({ sector: 'memes', asset_type: 'spot' });
  });

  test('a row without a venue sets every venue holding the symbol; with one, only that venue', async () => {
    const dir = await cryptoStore();
    const lh = await openLakehouse(dir);
    await lh.importCsv(join(CRYPTO, 'BTCUSDT.csv'), { layout: 'ohlcv', venue: 'binance_perp', assetType: 'perp' });
    const r = cli(['lakehouse', 'symbols', write(dir, 'v.csv', 'symbol,venue,sector,lot_size\nBTCUSDT,,store of value,\nBTCUSDT,binance_perp,,0.001\n'), '--lakehouse', dir, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).changed.sort()).toEqual(['binance_perp/BTCUSDT', 'binance_spot/BTCUSDT']);
    await lh.reload();
    const rows = lh.symbols().filter((s) => s.symbol === 'BTCUSDT');
    expect(rows.map((s) => [s.venue, s.sector, s.lot_size])).toEqual([['binance_perp', 'store of value', 0.001], ['binance_spot', 'store of value', null]]);
  });

  test('every bad cell is refused with file:line under the CSV number rule; nothing is written', async () => {
    const dir = await cryptoStore();
    const registry = readFileSync(join(dir, 'registry.json'), 'utf8');
    const bad = write(dir, 'bad.csv', [
      'symbol,sector,market_cap_rank,lot_size,min_notional,asset_type',
      'BTCUSDT,L1,1.5,0.00001,5,spot', // rank not whole
      'ETHUSDT,L1,2,NaN,5,spot', // NaN is not a number here
      'SOLUSDT,L1,3,0,5,spot', // lot size not positive
      'ADAUSDT,L1,4,1,-1,spot', // negative minimum
      'XRPUSDT,L1,5,1,1e400,spot', // overflow
      'DOTUSDT,L1,6,1,1,bond', // unknown asset type
      'LINKUSDT,L1,7,1,1', // short row
    ].join('\n'));
    const r = cli(['lakehouse', 'symbols', bad, '--lakehouse', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error CSV_INVALID');
    for (const [line, what] of [[2, 'bad market_cap_rank "1.5": not a whole number'], [3, 'bad lot_size "NaN": not a number'], [4, 'bad lot_size "0": not positive'], [5, 'bad min_notional "-1": negative'], [6, 'bad min_notional "1e400": out of range'], [7, 'bad asset_type "bond"'], [8, '5 fields, the header has 6']] as const)
      expect(r.stderr).toContain(`${bad}:${line}: ${what}`);
    expect(readFileSync(join(dir, 'registry.json'), 'utf8')).toBe(registry);

    const header = cli(['lakehouse', 'symbols', write(dir, 'h.csv', 'ticker,sector\nBTCUSDT,L1\n'), '--lakehouse', dir]);
    expect(header.code).toBe(2);
    expect(header.stderr).toMatch(/h\.csv:1: column 1 "ticker" is not a symbols-table column/);
    expect(header.stderr).toMatch(/h\.csv:1: the header has no `symbol` column/);

    const twice = cli(['lakehouse', 'symbols', write(dir, 't.csv', 'symbol,venue,sector\nBTCUSDT,,L1\nBTCUSDT,binance_spot,Gold\n'), '--lakehouse', dir]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/t\.csv:3: sector of binance_spot\/BTCUSDT is also set on line 2/);
    expect(readFileSync(join(dir, 'registry.json'), 'utf8')).toBe(registry);
  });

  test('symbols the lakehouse does not hold are refused with file:line, or skipped and named with --skip-unknown', async () => {
    const dir = await cryptoStore();
    const registry = readFileSync(join(dir, 'registry.json'), 'utf8');
    const file = write(dir, 'u.csv', 'symbol,sector\nBTCUSDT,L1\nNOPEUSDT,L1\nETHUSDT,L1\n');
    const r = cli(['lakehouse', 'symbols', file, '--lakehouse', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error SYMBOLS_UNKNOWN');
    expect(r.stderr).toContain(`${file}:3: NOPEUSDT`);
    expect(r.stderr).toContain('--skip-unknown');
    expect(readFileSync(join(dir, 'registry.json'), 'utf8')).toBe(registry);
    const s = cli(['lakehouse', 'symbols', file, '--skip-unknown', '--lakehouse', dir]);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain(`skipped ${file}:3: NOPEUSDT is not in the lakehouse`);
    expect(s.stdout).toContain('2 symbol(s) changed');
  });

  test('the write waits for the writer lock like every commit', async () => {
    const dir = await cryptoStore();
    const held = await acquireLock(dir);
    try {
      const lh = await openLakehouse(dir);
      await expect(lh.declareSymbols(write(dir, 'l.csv', 'symbol,sector\nBTCUSDT,L1\n'), { lock: { timeoutMs: 200, pollMs: 20 } })).rejects.toMatchObject({ code: 'LAKEHOUSE_LOCKED' });
    } finally {
      await held.release();
    }
    expect((await openLakehouse(dir, { readOnly: true })).symbols().find((s) => s.symbol === 'BTCUSDT')!.sector).toBeNull();
  });
});

describe('ccxt ingestion fills lot sizes and minimum notionals from the market info', () => {
  test("Binance's LOT_SIZE step and NOTIONAL minimum, through ccxt's own parser", async () => {
    const dir = await tempDir();
    const replay = await binanceReplay();
    const lh = await openLakehouse(dir);
    await lh.ingestCcxt({ exchange: 'binance', since: '2022-06-12', nowMs: day('2022-06-15') + 3600e3, fetchImplementation: replay.fetch, exchangeOptions: { rateLimit: 1 } });
    const row = (s: string) => lh.symbols().find((x) => x.symbol === s)!;
    // exchangeInfo: BTCUSDT stepSize 0.00001000, ETHUSDT 0.00010000; minNotional 5.00000000.
    expect(row('BTCUSDT')).toMatchObject({ lot_size: 0.00001, min_notional: 5 });
    expect(row('ETHUSDT')).toMatchObject({ lot_size: 0.0001, min_notional: 5 });
  });

  test('precision counted in decimal places, and an exchange that gives only a minimum amount', () => {
    expect(tradingRulesOf({ id: 'X', symbol: 'X/USD', base: 'X', quote: 'USD', precision: { amount: 3 }, limits: { cost: { min: 10 } } }, 2)).toEqual({ lot_size: 0.001, min_notional: 10 });
    expect(tradingRulesOf({ id: 'X', symbol: 'X/USD', base: 'X', quote: 'USD', precision: {}, limits: { amount: { min: 0.5 }, cost: { min: null } } }, 4)).toEqual({ lot_size: 0.5, min_notional: null });
    // Significant digits say nothing about a step.
    expect(tradingRulesOf({ id: 'X', symbol: 'X/USD', base: 'X', quote: 'USD', precision: { amount: 4 } }, 3)).toEqual({ lot_size: null, min_notional: null });
  });
});
