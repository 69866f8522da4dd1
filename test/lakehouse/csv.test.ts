import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { dataIdentity, openLakehouse } from '../../src/lakehouse/index.js';
import { tempDir, CRYPTO, STOCKS } from './helpers.js';

const iso = (d: number) => new Date(d * 86400e3).toISOString().slice(0, 10);
const at = (o: { date: Int32Array; close: Float64Array }, day: string) => o.close[Array.from(o.date, iso).indexOf(day)];

describe('CSV source on the real files', () => {
  test('a folder of per-symbol OHLCV files: 49 symbols with their known closes', async () => {
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    const rep = await lh.importCsv(CRYPTO, { layout: 'ohlcv' });
    expect(rep.written).toHaveLength(49);
    expect(rep.written.every((w) => w.change === 'new' && w.rows_before === null)).toBe(true);
    const btc = await lh.readOhlcv('BTCUSDT');
    expect(btc.date.length).toBe(999);
    expect(iso(btc.date[0])).toBe('2022-06-12');
    expect(btc.open[0]).toBe(28424.71);
    expect(btc.close[0]).toBe(26574.53);
    expect(btc.volume[0]).toBe(92474.598809);
    expect(at(btc, '2022-06-13')).toBe(22487.41);
    const klay = await lh.readOhlcv('KLAYUSDT');
    expect(iso(klay.date[klay.date.length - 1])).toBe('2024-10-30');
    expect(klay.close[klay.close.length - 1]).toBe(0.1255);
    const row = lh.symbols().find((s) => s.symbol === 'ETHUSDT')!;
    expect(row).toMatchObject({ venue: 'csv', asset_type: 'spot', base: 'ETH', quote: 'USDT', source: 'csv', first_date: '2022-06-12', last_date: '2025-03-06', rows: 999 });
    // Re-importing the same files is allowed (same source) and changes nothing.
    const sums = Object.values(lh.registry().entries).map((e) => e.checksum);
    const again = await lh.importCsv(CRYPTO, { layout: 'ohlcv' });
    expect(Object.values(lh.registry().entries).map((e) => e.checksum)).toEqual(sums);
    expect(again.written.every((w) => w.change === 'unchanged' && w.rows_before === w.rows)).toBe(true);
  });

  test('an import says what it did to each symbol: new, changed (with the rows it had) or unchanged', async () => {
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    const csv = join(dir, 'csv');
    await mkdir(csv);
    const lines = (await import('node:fs')).readFileSync(join(CRYPTO, 'BTCUSDT.csv'), 'utf8').trim().split('\n');
    await writeFile(join(csv, 'BTCUSDT.csv'), lines.slice(0, -3).join('\n') + '\n'); // three days short
    await lh.importCsv(csv, { layout: 'ohlcv' });
    await writeFile(join(csv, 'BTCUSDT.csv'), lines.join('\n') + '\n'); // the three days appended
    await writeFile(join(csv, 'ETHUSDT.csv'), (await import('node:fs')).readFileSync(join(CRYPTO, 'ETHUSDT.csv')));
    const rep = await lh.importCsv(csv, { layout: 'ohlcv' });
    const by = Object.fromEntries(rep.written.map((w) => [w.key, { change: w.change, rows_before: w.rows_before, rows: w.rows }]));
    expect(by).toEqual({ 'csv/BTCUSDT': { change: 'changed', rows_before: lines.length - 4, rows: lines.length - 1 }, 'csv/ETHUSDT': { change: 'new', rows_before: null, rows: 999 } });
  });

  test('a wide file of closes: 20 symbols, each starting at its listing', async () => {
    const lh = await openLakehouse(await tempDir());
    const rep = await lh.importCsv(STOCKS, { layout: 'wide' });
    expect(rep.written).toHaveLength(20);
    const first = Object.fromEntries(lh.symbols().map((s) => [s.symbol, s.first_date]));
    expect(first).toMatchObject({ AAPL: '1989-12-29', GOOG: '2004-08-19', FB: '2012-05-18', BABA: '2014-09-19' });
    expect(lh.symbols().every((s) => s.last_date === '2018-04-11' && s.asset_type === 'equity')).toBe(true);
    const aapl = await lh.readOhlcv('AAPL');
    expect(aapl.date.length).toBe(7126);
    expect(aapl.close[0]).toBe(0.117203);
    expect(Number.isNaN(aapl.volume[0])).toBe(true);
    const fb = await lh.readOhlcv('FB');
    expect(fb.close[0]).toBe(38.23);
    // market-wide closures (9/11, hurricane Sandy) are not gaps: every stock is STABLE
    expect(lh.symbols().filter((s) => s.status !== 'STABLE')).toEqual([]);
  });

  test('the layout is detected from the header when not given', async () => {
    const lh = await openLakehouse(await tempDir());
    await lh.importCsv(join(CRYPTO, 'LUNAUSDT.csv'));
    await lh.importCsv(STOCKS, { venue: 'us' });
    expect(lh.symbols().filter((s) => s.venue === 'csv').map((s) => s.symbol)).toEqual(['LUNAUSDT']);
    expect(lh.symbols().filter((s) => s.venue === 'us')).toHaveLength(20);
  });
});

describe('CSV bad input is refused with file:line and nothing is written', () => {
  async function refused(content: string, layout: 'wide' | 'ohlcv' | undefined, expected: string[], name = 'x.csv') {
    const src = await tempDir();
    const file = join(src, name);
    await writeFile(file, content);
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    const err = await lh.importCsv(file, layout ? { layout } : {}).catch((e) => e);
    expect(err).toMatchObject({ code: 'CSV_INVALID', exitCode: 2 });
    for (const e of expected) expect(err.message).toContain(e.replace('FILE', file));
    // The folder as it was: nothing is created for a write that never happened.
    expect(await readdir(dir)).toEqual([]);
  }

  test('a bad number', () => refused('date,A,B\n2020-01-01,1,2\n2020-01-02,1.5,abc\n', 'wide', ['FILE:3: B: bad price "abc"']));
  test('a bad date', () => refused('date,open,high,low,close,volume\n2020-01-01,1,1,1,1,1\n2020-13-02,1,1,1,1,1\n', 'ohlcv', ['FILE:3: bad date "2020-13-02"']));
  test('unsorted dates', () => refused('date,A\n2020-01-02,1\n2020-01-01,2\n', 'wide', ['FILE:3: date 2020-01-01 is before the previous row\'s 2020-01-02']));
  test('duplicate dates', () => refused('date,open,high,low,close,volume\n2020-01-01,1,1,1,1,1\n2020-01-01,1,1,1,1,1\n', 'ohlcv', ['FILE:3: duplicate date 2020-01-01']));
  test('a header clash', () => refused('date,A,B,A\n2020-01-01,1,2,3\n', 'wide', ['FILE:1: header clash: column 4 "A" repeats column 2']));
  // It stored symbols named open, high, low, close and volume.
  test('an OHLCV file given --layout wide', () => refused('date,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,10\n', 'wide', ['FILE:1: the header has open, high, low and close columns: this is an OHLCV file of one symbol (--layout ohlcv)']));
  // A per-symbol file that lacks a column was taken for a wide file: it stored symbols named open, high and low.
  describe('a per-symbol file whose header lacks a column, its layout detected', () => {
    test('date,open,high,low: lacks close', () => refused('date,open,high,low\n2024-01-01,1,2,0.5\n2024-01-02,1.1,2.1,0.6\n', undefined, ['FILE:1: header lacks close'], 'AAAUSDT.csv'));
    test('Yahoo-style with Adj Close and no Close: lacks close', () =>
      refused('Date,Open,High,Low,Adj_Close,Volume\n2024-01-01,1,2,0.5,1.5,10\n', undefined, ['FILE:1: header lacks close'], 'AAA.csv'));
    test('date,close,volume: lacks open, high, low', () => refused('date,close,volume\n2024-01-01,1,10\n', undefined, ['FILE:1: header lacks open, high, low'], 'AAA.csv'));
    test('in a folder, and the message says how to import a wide file instead', async () => {
      const src = await tempDir();
      await writeFile(join(src, 'AAAUSDT.csv'), 'date,open,high,low\n2024-01-01,1,2,0.5\n2024-01-02,1.1,2.1,0.6\n');
      const dir = await tempDir();
      const lh = await openLakehouse(dir);
      const err = await lh.importCsv(src).catch((e) => e);
      expect(err).toMatchObject({ code: 'CSV_INVALID', exitCode: 2 });
      expect(err.message).toContain(`${join(src, 'AAAUSDT.csv')}:1: header lacks close`);
      expect(err.hint).toContain('wide');
      expect(await readdir(dir)).toEqual([]);
    });
  });

  test('a wide file with a symbol named like an OHLCV field among others is still a wide file; a lone one needs layout wide', async () => {
    const src = await tempDir();
    await writeFile(join(src, 'mixed.csv'), 'date,AAPL,LOW\n2024-01-01,10,20\n2024-01-02,11,21\n');
    await writeFile(join(src, 'lone.csv'), 'date,LOW\n2024-01-01,20\n2024-01-02,21\n');
    const lh = await openLakehouse(await tempDir());
    await lh.importCsv(join(src, 'mixed.csv'), { venue: 'us' });
    expect(lh.symbols().map((x) => x.symbol).sort()).toEqual(['AAPL', 'LOW']);
    await expect(lh.importCsv(join(src, 'lone.csv'), { venue: 'us2' })).rejects.toMatchObject({ code: 'CSV_INVALID', message: expect.stringContaining('header lacks open, high, close') });
    await lh.importCsv(join(src, 'lone.csv'), { venue: 'us2', layout: 'wide' });
    expect(lh.symbols().filter((x) => x.venue === 'us2').map((x) => x.symbol)).toEqual(['LOW']);
  });

  test('every problem at once', () =>
    refused('date,A\n2020-01-01,x\n2020-01-01,1\nnot-a-date,2\n', 'wide', ['FILE:2: A: bad price "x"', 'FILE:3: duplicate date', 'FILE:4: bad date "not-a-date"']));

  test('one bad file in a folder refuses the whole folder', async () => {
    const src = await tempDir();
    await writeFile(join(src, 'GOOD.csv'), 'date,open,high,low,close,volume\n2020-01-01,1,1,1,1,1\n');
    await writeFile(join(src, 'BAD.csv'), 'date,open,high,low,close,volume\n2020-01-01,1,1,1,-1,1\n');
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    await expect(lh.importCsv(src)).rejects.toMatchObject({ message: expect.stringContaining(`${join(src, 'BAD.csv')}:2: bad close "-1"`) });
    expect(await readdir(dir)).toEqual([]);
  });

  test('a bad layout or asset type is refused before any file is read', async () => {
    const src = await tempDir();
    await writeFile(join(src, 'BAD.csv'), 'date,open,high,low,close,volume\n2020-01-01,1,1,1,x,1\n');
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    await expect(lh.importCsv(src, { assetType: 'bond' })).rejects.toMatchObject({ code: 'CSV_ASSET_TYPE', exitCode: 2, message: expect.stringContaining('must be spot, perp, equity or etf, got "bond"') });
    await expect(lh.importCsv(join(src, 'nowhere'), { layout: 'tall' as 'wide' })).rejects.toMatchObject({ code: 'CSV_LAYOUT', exitCode: 2, message: expect.stringContaining('must be wide or ohlcv, got "tall"') });
    expect(await readdir(dir)).toEqual([]);
  });

  test('a symbol that exists from another source is an error unless --replace', async () => {
    const src = await tempDir();
    await mkdir(join(src, 'other'));
    await writeFile(join(src, 'other', 'BTCUSDT.csv'), 'date,open,high,low,close,volume\n2020-01-04,1,1,1,1,1\n2020-01-05,1,1,1,1,1\n');
    const lh = await openLakehouse(await tempDir());
    await lh.importCsv(join(CRYPTO, 'BTCUSDT.csv'));
    const err = await lh.importCsv(join(src, 'other')).catch((e) => e);
    expect(err).toMatchObject({ code: 'LAKEHOUSE_SOURCE_CLASH', exitCode: 2 });
    expect(err.message).toContain(`csv/BTCUSDT: stored from csv ${join(CRYPTO, 'BTCUSDT.csv')}`);
    expect((await lh.readOhlcv('BTCUSDT')).date.length).toBe(999);
    await lh.importCsv(join(src, 'other'), { replace: true });
    expect((await lh.readOhlcv('BTCUSDT')).date.length).toBe(2);
  });
});

describe('closes alone', () => {
  test('an OHLCV file whose every bar is a single print (open = high = low = close) is stored as closes alone, as a wide file is', async () => {
    // Its opens are copies of its closes: the same data as the wide file of those closes, not bars with opens.
    const src = await tempDir();
    const bars = (open: (c: number, i: number) => number) => ['date,open,high,low,close,volume', ...[10, 11, 12, 11].map((c, i) => {
      const o = open(c, i);
      return `2020-01-0${i + 1},${o},${Math.max(o, c)},${Math.min(o, c)},${c},100`;
    })].join('\n');
    await writeFile(join(src, 'AAA.csv'), bars((c) => c));
    await writeFile(join(src, 'BBB.csv'), bars((c, i) => (i === 2 ? c - 0.5 : c))); // one bar with an open of its own
    const wide = join(await tempDir(), 'wide.csv');
    await writeFile(wide, 'date,AAA\n2020-01-01,10\n2020-01-02,11\n2020-01-03,12\n2020-01-04,11\n');
    const lh = await openLakehouse(await tempDir());
    const rep = await lh.importCsv(src, { layout: 'ohlcv', venue: 'bars' });
    const note = Object.fromEntries(rep.written.map((w) => [w.key, w.closes_only]));
    expect(note).toEqual({ 'bars/AAA': { days: [['2020-01-01', '2020-01-04']], why: 'single_prints' }, 'bars/BBB': null });
    await lh.importCsv(wide, { layout: 'wide', venue: 'closes' });
    const rows = Object.fromEntries(lh.symbols().map((r) => [`${r.venue}/${r.symbol}`, r.closes_only]));
    expect(rows).toMatchObject({ 'bars/AAA': [['2020-01-01', '2020-01-04']], 'bars/BBB': [], 'closes/AAA': [['2020-01-01', '2020-01-04']] });
    // The data identity counts it as closes alone: not the identity it had when its opens were taken as printed.
    const entries = Object.values(lh.registry().entries);
    const printed = entries.map((e) => (e.venue === 'bars' && e.symbol === 'AAA' ? { ...e, closes_only: undefined } : e));
    expect(lh.dataIdentity()).not.toBe(dataIdentity(printed));
  });

  test('a registry written before the days of closes alone were recorded: a wide file is closes alone on every day, with the identity it had', async () => {
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    await lh.importCsv(STOCKS, { layout: 'wide', venue: 'us' });
    const id = lh.dataIdentity();
    const file = join(dir, 'registry.json');
    const reg = JSON.parse(await readFile(file, 'utf8'));
    for (const e of Object.values(reg.entries) as Record<string, unknown>[]) delete e.closes_only;
    await writeFile(file, JSON.stringify(reg));
    const old = await openLakehouse(dir, { readOnly: true });
    expect(old.symbols().filter((r) => !(r.closes_only.length === 1 && r.closes_only[0]![0] === r.first_date && r.closes_only[0]![1] === r.last_date))).toEqual([]);
    expect(old.dataIdentity()).toBe(id);
    // A damaged list is refused where the registry is read, never taken as "no days"; so is a list a commit never
    // writes (found by review: an empty one read a wide file's every open as printed; unsorted, overlapping or
    // outside ranges gave the same days other identities).
    const { first_date: first, last_date: last } = reg.entries['us/AAPL'] as { first_date: string; last_date: string };
    for (const damaged of [
      [['2020-01-05', '2020-01-01']],
      [],
      [[first, first], [first, last]],
      [['2020-01-03', '2020-01-04'], [first, first]],
      [[first, '2020-01-02'], ['2020-01-03', last]],
      [['1980-01-01', last]],
      [[first, '2099-01-01']],
    ]) {
      reg.entries['us/AAPL'].closes_only = damaged;
      await writeFile(file, JSON.stringify(reg));
      await expect(openLakehouse(dir, { readOnly: true })).rejects.toMatchObject({ code: 'LAKEHOUSE_REGISTRY', message: expect.stringContaining('entry us/AAPL: its closes_only') });
    }
  });

  test("a single-print file stored before the days were recorded, imported again: reported changed (found by review: 'unchanged', its identity changed)", async () => {
    const src = await tempDir();
    await writeFile(join(src, 'AAA.csv'), ['date,open,high,low,close,volume', '2020-01-01,10,10,10,10,1', '2020-01-02,11,11,11,11,1'].join('\n'));
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    await lh.importCsv(src, { layout: 'ohlcv', venue: 'bars' });
    const file = join(dir, 'registry.json');
    const reg = JSON.parse(await readFile(file, 'utf8'));
    delete reg.entries['bars/AAA'].closes_only;
    await writeFile(file, JSON.stringify(reg));
    const old = await openLakehouse(dir);
    expect(old.symbols()[0]!.closes_only).toEqual([]);
    const rep = await old.importCsv(src, { layout: 'ohlcv', venue: 'bars', replace: true });
    expect(rep.written.map((w) => [w.key, w.change, w.closes_only?.why])).toEqual([['bars/AAA', 'changed', 'single_prints']]);
    expect((await openLakehouse(dir)).symbols()[0]!.closes_only).toEqual([['2020-01-01', '2020-01-02']]);
  });
});
