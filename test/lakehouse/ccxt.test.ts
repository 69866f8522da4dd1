import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLakehouse } from '../../src/lakehouse/index.js';
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
