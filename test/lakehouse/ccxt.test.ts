import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataIdentity, openLakehouse } from '../../src/lakehouse/index.js';
import { binanceReplay, tempDir } from './helpers.js';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const klinesCalls = (log: string[]) => log.filter((u) => u.includes('/api/v3/klines'));

describe('ccxt source (real ccxt binance parser, recorded responses)', () => {
  test('markets and tickers fill the symbols table; daily bars are paged; the forming day is never stored', async () => {
    const dir = await tempDir();
    const replay = await binanceReplay();
    const lh = await openLakehouse(dir);
    // Clock at 2022-06-20 10:00 UTC: bars up to 2022-06-19 are complete, 2022-06-20 is forming.
    const rep = await lh.ingestCcxt({
      exchange: 'binance', since: '2022-06-12', pageLimit: 3, nowMs: day('2022-06-20') + 10 * 3600e3,
      fetchImplementation: replay.fetch, exchangeOptions: { rateLimit: 1 },
    });
    expect(rep.written.map((w) => w.key).sort()).toEqual(['binance/BTCUSDT', 'binance/ETHUSDT']); // LUNA is not TRADING, ETHBTC not USDT
    const btc = await lh.readOhlcv('BTCUSDT', 'binance');
    expect(btc.date.length).toBe(8); // 06-12 .. 06-19
    expect(btc.close[0]).toBeCloseTo(26574.53, 6); // the real Binance close of 2022-06-12
    expect(new Date(btc.date[btc.date.length - 1] * 86400e3).toISOString().slice(0, 10)).toBe('2022-06-19');
    // 8 days in pages of 3 -> 3 pages with bars (the last, partial, page includes the forming day which is dropped)
    expect(klinesCalls(replay.log).filter((u) => u.includes('BTCUSDT')).length).toBeGreaterThanOrEqual(3);
    const row = lh.symbols().find((s) => s.symbol === 'BTCUSDT')!;
    expect(row).toMatchObject({ venue: 'binance', exchange: 'binance', asset_type: 'spot', base: 'BTC', quote: 'USDT', source: 'ccxt' });
    expect(row.volume_24h).toBe(5e9);
  });

  test('a later call fetches only the missing days; a call on the same day fetches nothing (idempotent)', async () => {
    const dir = await tempDir();
    const replay = await binanceReplay();
    const lh = await openLakehouse(dir);
    const base = { exchange: 'binance', since: '2022-06-12', fetchImplementation: replay.fetch, exchangeOptions: { rateLimit: 1 } };
    await lh.ingestCcxt({ ...base, nowMs: day('2022-06-16') + 3600e3 });
    const first = await lh.readOhlcv('ETHUSDT', 'binance');
    expect(first.date.length).toBe(4); // 06-12..06-15
    const checksum = lh.registry().entries['binance/ETHUSDT'].checksum;

    replay.log.length = 0;
    const same = await lh.ingestCcxt({ ...base, nowMs: day('2022-06-16') + 5 * 3600e3 });
    expect(same.written).toEqual([]);
    expect(same.upToDate.sort()).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(klinesCalls(replay.log)).toEqual([]);
    expect(lh.registry().entries['binance/ETHUSDT'].checksum).toBe(checksum);

    replay.log.length = 0;
    await lh.ingestCcxt({ ...base, nowMs: day('2022-06-19') + 3600e3 });
    const calls = klinesCalls(replay.log);
    expect(calls.length).toBeGreaterThan(0);
    for (const u of calls) expect(Number(new URL(u).searchParams.get('startTime'))).toBe(day('2022-06-16'));
    const eth = await lh.readOhlcv('ETHUSDT', 'binance');
    expect(Array.from(eth.date, (d) => new Date(d * 86400e3).toISOString().slice(5, 10))).toEqual(['06-12', '06-13', '06-14', '06-15', '06-16', '06-17', '06-18']);
    expect((await lh.verify()).ok).toBe(true);
  });

  test('--min-volume filters on 24h quote volume; API keys come from the environment and never reach a file', async () => {
    const dir = await tempDir();
    const replay = await binanceReplay();
    process.env.FRACTAL_BINANCE_API_KEY = 'key-that-must-not-leak';
    process.env.FRACTAL_BINANCE_SECRET = 'secret-that-must-not-leak';
    try {
      const lh = await openLakehouse(dir);
      const rep = await lh.ingestCcxt({
        exchange: 'binance', since: '2022-06-12', minVolume: 3e9, nowMs: day('2022-06-14') + 1, fetchImplementation: replay.fetch, exchangeOptions: { rateLimit: 1 },
      });
      expect(rep.written.map((w) => w.key)).toEqual(['binance/BTCUSDT']);
      const files = [join(dir, 'registry.json'), join(dir, 'symbols.arrow'), join(dir, 'ohlcv', 'binance', 'BTCUSDT.arrow')];
      for (const f of files) {
        const text = (await readFile(f)).toString('latin1');
        expect(text).not.toContain('must-not-leak');
      }
      expect((await readdir(dir)).sort()).toEqual(['ohlcv', 'registry.json', 'symbols.arrow']);
    } finally {
      delete process.env.FRACTAL_BINANCE_API_KEY;
      delete process.env.FRACTAL_BINANCE_SECRET;
    }
  });

  test('bars fetched over a wide CSV\'s series leave its older days known as closes alone, and the data identity says which days', async () => {
    // Found by review: the ccxt write took the whole entry's source from ccxt, and its older bars (closes alone, their
    // opens copies of their closes) were then taken as printed. Closes for 06-01..06-15 from a wide file; Binance's
    // bars from 06-12 replace 06-12..06-15 and add the days after.
    const dir = await tempDir();
    const csv = join(await tempDir(), 'closes.csv');
    const days = Array.from({ length: 15 }, (_, i) => `2022-06-${String(i + 1).padStart(2, '0')}`);
    await writeFile(csv, ['date,BTCUSDT,ETHUSDT', ...days.map((d, i) => `${d},${30000 + i},${1800 + i}`)].join('\n'));
    const lh = await openLakehouse(dir);
    await lh.importCsv(csv, { layout: 'wide', venue: 'binance', assetType: 'spot' });
    const replay = await binanceReplay();
    const base = { exchange: 'binance', since: '2022-06-12', replace: true, fetchImplementation: replay.fetch, exchangeOptions: { rateLimit: 1 } };
    const rep = await lh.ingestCcxt({ ...base, nowMs: day('2022-06-16') + 3600e3 });
    const alone = [['2022-06-01', '2022-06-11']];
    expect(rep.written.map((w) => [w.key, w.closes_only])).toEqual([['binance/BTCUSDT', { days: alone, why: 'earlier_bars' }], ['binance/ETHUSDT', { days: alone, why: 'earlier_bars' }]]);
    expect(lh.symbols().map((r) => [r.symbol, r.source, r.first_date, r.last_date, r.closes_only])).toEqual([['BTCUSDT', 'ccxt', '2022-06-01', '2022-06-15', alone], ['ETHUSDT', 'ccxt', '2022-06-01', '2022-06-15', alone]]);
    const btc = await lh.readOhlcv('BTCUSDT', 'binance');
    expect([btc.open[10], btc.close[10], btc.open[11]]).toEqual([30010, 30010, 28424.71]); // 06-11 from the file, 06-12 Binance's
    // The identity differs from the same bars with every open taken as printed, and with other days of closes alone.
    const entries = Object.values(lh.registry().entries);
    const id = lh.dataIdentity();
    expect(id).not.toBe(dataIdentity(entries.map((e) => ({ ...e, closes_only: undefined }))));
    expect(id).not.toBe(dataIdentity(entries.map((e) => ({ ...e, closes_only: [['2022-06-01', '2022-06-10'] as [string, string]] }))));
    // A later update of the same source keeps them, and adds days with printed opens.
    await lh.ingestCcxt({ ...base, nowMs: day('2022-06-20') + 3600e3 });
    expect(lh.symbols().map((r) => [r.symbol, r.last_date, r.closes_only])).toEqual([['BTCUSDT', '2022-06-19', alone], ['ETHUSDT', '2022-06-19', alone]]);
    // A full re-fetch (a repair's) replaces the file's bars with the exchange's: none left.
    await lh.ingestCcxt({ ...base, full: true, nowMs: day('2022-06-20') + 3600e3 });
    expect(lh.symbols().map((r) => [r.symbol, r.first_date, r.closes_only])).toEqual([['BTCUSDT', '2022-06-12', []], ['ETHUSDT', '2022-06-12', []]]);
  });

  test("repair leaves an exchange's series over a wide CSV's days as it is: a full re-fetch would drop them (found by review)", async () => {
    const dir = await tempDir();
    const csv = join(await tempDir(), 'closes.csv');
    const days = Array.from({ length: 15 }, (_, i) => `2022-06-${String(i + 1).padStart(2, '0')}`);
    await writeFile(csv, ['date,BTCUSDT', ...days.map((d, i) => `${d},${30000 + i}`)].join('\n'));
    const lh = await openLakehouse(dir);
    await lh.importCsv(csv, { layout: 'wide', venue: 'binance', assetType: 'spot' });
    const replay = await binanceReplay();
    const opts = { fetchImplementation: replay.fetch, exchangeOptions: { rateLimit: 1 } };
    await lh.ingestCcxt({ exchange: 'binance', since: '2022-06-12', replace: true, symbols: ['BTC/USDT'], nowMs: day('2022-06-16') + 3600e3, ...opts });
    // Opened now, years later, the series is stale: DEGRADED, which repair re-fetches.
    const now = await openLakehouse(dir);
    expect(now.symbols().map((r) => [r.symbol, r.status])).toEqual([['BTCUSDT', 'DEGRADED']]);
    replay.log.length = 0;
    const rep = await now.repair({ ...opts, nowMs: day('2022-06-24') + 3600e3 });
    expect(rep.skipped.map((s) => [s.key, s.reason])).toEqual([['binance/BTCUSDT', 'mixed_sources']]);
    expect(klinesCalls(replay.log)).toEqual([]);
    expect(now.symbols().map((r) => [r.symbol, r.first_date, r.last_date, r.closes_only])).toEqual([['BTCUSDT', '2022-06-01', '2022-06-15', [['2022-06-01', '2022-06-11']]]]);
  });

  test("an exchange's bars are what it printed: a series of flat days from it is not taken for closes alone (found by review)", async () => {
    const replay = await binanceReplay();
    const lh = await openLakehouse(await tempDir());
    // One day fetched, its bar made flat (open = high = low = close) as a quiet market can print it.
    const flat = async (url: string) => {
      const r = await replay.fetch(url);
      if (!url.includes('/api/v3/klines')) return r;
      const rows = (await r.json()) as unknown[][];
      const body = JSON.stringify(rows.map((k) => [k[0], k[4], k[4], k[4], ...k.slice(4)]));
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const rep = await lh.ingestCcxt({ exchange: 'binance', since: '2022-06-12', symbols: ['BTC/USDT'], nowMs: day('2022-06-14') + 3600e3, fetchImplementation: flat, exchangeOptions: { rateLimit: 1 } });
    expect(rep.written.map((w) => [w.key, w.rows, w.closes_only])).toEqual([['binance/BTCUSDT', 2, null]]);
    const btc = await lh.readOhlcv('BTCUSDT', 'binance');
    expect(Array.from(btc.open)).toEqual(Array.from(btc.close));
  });

  test('an unknown exchange id is an input error with suggestions', async () => {
    const lh = await openLakehouse(await tempDir());
    await expect(lh.ingestCcxt({ exchange: 'binanse' })).rejects.toMatchObject({ code: 'CCXT_EXCHANGE', exitCode: 2 });
  });

  test('repair re-fetches a corrupt ccxt symbol in full from the exchange', async () => {
    const dir = await tempDir();
    const replay = await binanceReplay();
    const lh = await openLakehouse(dir);
    const nowMs = day('2022-06-24') + 3600e3;
    await lh.ingestCcxt({ exchange: 'binance', since: '2022-06-12', nowMs, fetchImplementation: replay.fetch, exchangeOptions: { rateLimit: 1 } });
    const file = join(dir, 'ohlcv', 'binance', 'ETHUSDT.arrow');
    const buf = await readFile(file);
    buf[buf.length >> 1] ^= 0x10;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, buf);
    replay.log.length = 0;
    const rep = await lh.repair({ fetchImplementation: replay.fetch, exchangeOptions: { rateLimit: 1 }, nowMs });
    expect(rep.verify.problems.map((p) => p.key)).toEqual(['binance/ETHUSDT']);
    expect(rep.repaired.map((r) => r.key)).toContain('binance/ETHUSDT');
    expect(klinesCalls(replay.log).some((u) => u.includes('ETHUSDT') && u.includes(`startTime=${day('2022-06-12')}`))).toBe(true);
    expect((await lh.verify()).ok).toBe(true);
    expect((await lh.readOhlcv('ETHUSDT', 'binance')).date.length).toBe(12);
  });
});
