import { spawn } from 'node:child_process';
import { open, readFile, writeFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openLakehouse, dataIdentity } from '../../src/lakehouse/index.js';
import { writeTemp, writeFileAtomic } from '../../src/lakehouse/atomic.js';
import { encodeOhlcv, decodeOhlcv, Store } from '../../src/lakehouse/store.js';
import { buildChildRunner, tempDir, CRYPTO, STOCKS } from './helpers.js';

const iso = (d: number) => new Date(d * 86400e3).toISOString().slice(0, 10);

function run(runner: string, args: string[], env: Record<string, string> = {}): { done: Promise<{ code: number | null; signal: string | null; out: string; err: string }>; kill: () => void } {
  const child = spawn(process.execPath, [join(runner, 'runner.mjs'), ...args], { env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (err += b));
  return {
    done: new Promise((r) => child.on('exit', (code, signal) => r({ code, signal, out, err }))),
    kill: () => child.kill('SIGKILL'),
  };
}

describe('atomic writes', () => {
  test('a writer that dies before renaming leaves the old file intact', async () => {
    const dir = await tempDir();
    const target = join(dir, 'BTC.arrow');
    const old = { date: Int32Array.of(1, 2), open: Float64Array.of(1, 2), high: Float64Array.of(1, 2), low: Float64Array.of(1, 2), close: Float64Array.of(1, 2), volume: Float64Array.of(5, 6) };
    await writeFileAtomic(target, encodeOhlcv(old));
    // The crash: a new version is fully written to its temporary name, but the rename never happens.
    const tmp = await writeTemp(target, encodeOhlcv({ ...old, close: Float64Array.of(9, 9) }).subarray(0, 100));
    expect(tmp).toContain('.tmp-');
    expect(Array.from(decodeOhlcv(await readFile(target)).close)).toEqual([1, 2]);
  });

  test('leftover temporary files are swept by the next writer and the store verifies', async () => {
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    await lh.seedSynthetic({ symbols: 8, days: 60 });
    const before = lh.registry().entries['synthetic-spot/PUMPUSDT'].checksum;
    await writeTemp(join(dir, 'ohlcv', 'synthetic-spot', 'PUMPUSDT.arrow'), 'torn');
    const v = await lh.verify();
    expect(v.ok).toBe(true);
    expect(v.recovered?.tempFilesRemoved).toHaveLength(1);
    expect(lh.registry().entries['synthetic-spot/PUMPUSDT'].checksum).toBe(before);
  });
});

describe('durability', () => {
  /** How many fsyncs (FileHandle.sync: files and directories alike) `f` makes. */
  async function syncsOf(f: () => Promise<unknown>): Promise<number> {
    const probe = await open(join(await tempDir(), 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = proto.sync;
    let syncs = 0;
    proto.sync = function (this: unknown) {
      syncs++;
      return sync.call(this);
    };
    try {
      await f();
    } finally {
      proto.sync = sync;
    }
    return syncs;
  }

  test('a lakehouse that does not outlive the process (durable: false) flushes none of its files, and holds what a durable one holds', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const durable = await syncsOf(async () => (await openLakehouse(a)).seedSynthetic({ symbols: 8, days: 60 }));
    const staged = await syncsOf(async () => (await openLakehouse(b, { durable: false })).seedSynthetic({ symbols: 8, days: 60 }));
    // A durable commit flushes each of its files and folders; a staged one only the writer's lock (lock.ts), when taken.
    expect(durable).toBeGreaterThan(16);
    expect(staged).toBe(1);
    const [x, y] = [await openLakehouse(a, { readOnly: true }), await openLakehouse(b, { readOnly: true })];
    expect(y.dataIdentity()).toBe(x.dataIdentity());
    expect(await readdir(join(b, 'ohlcv', 'synthetic-spot'))).toEqual(await readdir(join(a, 'ohlcv', 'synthetic-spot')));
    expect(Array.from((await y.readOhlcv('PUMPUSDT', 'synthetic-spot')).close)).toEqual(Array.from((await x.readOhlcv('PUMPUSDT', 'synthetic-spot')).close));
  });
});

describe('crashes and concurrent writers (child processes)', () => {
  let runner: string;
  beforeAll(async () => {
    runner = await buildChildRunner();
  });

  test('SIGKILL at any moment of an import leaves the store as before or with the whole import: verify passes', async () => {
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    await lh.seedSynthetic({ symbols: 10, days: 100 });
    const before = Object.keys(lh.registry().entries).length;
    const delays = [0, 40, 120, 200, 300, 450, 700];
    for (const ms of delays) {
      const child = run(runner, ['import', dir, CRYPTO]);
      await new Promise((r) => setTimeout(r, ms));
      child.kill();
      await child.done;
      const v = await lh.verify();
      expect(v.problems).toEqual([]);
      expect(v.ok).toBe(true);
      const n = Object.keys(lh.registry().entries).length;
      expect([before, before + 49]).toContain(n);
      const ro = await openLakehouse(dir, { readOnly: true });
      for (const e of Object.values(ro.registry().entries)) await ro.readOhlcv(e.symbol, e.venue); // every file decodes
    }
  });

  test('killed right after the commit point: the journal is replayed and the import lands whole', async () => {
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    await lh.seedSynthetic({ symbols: 8, days: 60 });
    const res = await run(runner, ['import', dir, CRYPTO], { FRACTAL_LAKEHOUSE_CRASH_AFTER_JOURNAL: '1' }).done;
    expect(res.signal).toBe('SIGKILL');
    expect(await readdir(dir)).toContain('journal.json');
    const v = await lh.verify();
    expect(v.recovered?.journalReplayed).toBe(true);
    expect(v.ok).toBe(true);
    expect(Object.keys(lh.registry().entries).filter((k) => k.startsWith('csv/'))).toHaveLength(49);
  });

  test('two imports running at once both land', async () => {
    const dir = await tempDir();
    const a = run(runner, ['import', dir, CRYPTO]);
    const b = run(runner, ['import', dir, STOCKS], { VENUE: 'us' });
    const c = run(runner, ['seed', dir, '7']);
    const results = await Promise.all([a.done, b.done, c.done]);
    for (const r of results) expect(r).toMatchObject({ code: 0, out: 'done\n' });
    const lh = await openLakehouse(dir, { readOnly: true });
    const venues = lh.symbols().reduce<Record<string, number>>((m, s) => ((m[s.venue] = (m[s.venue] ?? 0) + 1), m), {});
    expect(venues.csv).toBe(49);
    expect(venues.us).toBe(20);
    expect(venues['synthetic-spot']).toBe(40);
    expect((await lh.verify()).ok).toBe(true);
  });
});

describe('verify', () => {
  test('a corrupted byte is caught by the checksum', async () => {
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    await lh.importCsv(join(CRYPTO, 'BTCUSDT.csv'));
    const file = join(dir, 'ohlcv', 'csv', 'BTCUSDT.arrow');
    const buf = await readFile(file);
    buf[buf.length >> 1] ^= 0x01;
    await writeFile(file, buf);
    const v = await lh.verify();
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([expect.objectContaining({ key: 'csv/BTCUSDT', problem: expect.stringContaining('checksum mismatch') })]);
    // repair re-reads the CSV it came from
    const r = await lh.repair();
    expect(r.repaired.map((x) => x.key)).toContain('csv/BTCUSDT');
    expect((await lh.verify()).ok).toBe(true);
  });

  test('a missing file is reported, and orphans are listed then removed by repair', async () => {
    const dir = await tempDir();
    const lh = await openLakehouse(dir);
    await lh.seedSynthetic({ symbols: 8, days: 60 });
    await rm(join(dir, 'ohlcv', 'synthetic-spot', 'USDXUSDT.arrow'));
    await writeFile(join(dir, 'ohlcv', 'synthetic-spot', 'STRAY.arrow'), 'x');
    const v = await lh.verify();
    expect(v.problems).toEqual([{ key: 'synthetic-spot/USDXUSDT', file: 'ohlcv/synthetic-spot/USDXUSDT.arrow', problem: 'file missing' }]);
    expect(v.ok).toBe(false);
    expect(v.orphans).toEqual(['ohlcv/synthetic-spot/STRAY.arrow']);
    const r = await lh.repair();
    expect(r.orphansRemoved).toEqual(['ohlcv/synthetic-spot/STRAY.arrow']);
    expect((await lh.verify()).ok).toBe(true);
  });
});

describe('a writer on a folder with no lakehouse yet', () => {
  test('creates nothing until it commits: a refused import and a verify leave no folder; the first commit makes it', async () => {
    const dir = join(await tempDir(), 'new', 'lh');
    const lh = await openLakehouse(dir);
    const bad = join(await tempDir(), 'bad.csv');
    await writeFile(bad, 'date,AAA\n2024-01-01,x\n');
    await expect(lh.importCsv(bad)).rejects.toMatchObject({ code: 'CSV_INVALID' });
    expect(await lh.verify()).toMatchObject({ ok: true, checked: 0, problems: [] });
    expect(existsSync(join(dir, '..'))).toBe(false);
    await lh.seedSynthetic({ symbols: 8, days: 60 });
    expect((await lh.verify()).ok).toBe(true);
    expect(existsSync(join(dir, 'registry.json'))).toBe(true);
  });

  test('a first commit that fails inside the lock (a full disk, say) leaves no folder; a store that was there keeps its own', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'new', 'lh');
    const lh = await openLakehouse(dir);
    // What a commit that fails part-way has made under the lock: its staging, a temporary file.
    const failing = async () => (await Store.open(dir)).withLock(async () => {
      await writeFile(join(dir, `BTC.arrow.tmp-${process.pid}`), 'partial');
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    });
    await expect(failing()).rejects.toMatchObject({ code: 'ENOSPC' });
    // Neither the folder nor the parent that mkdir made for it; the parent that was there stays.
    expect(existsSync(join(parent, 'new'))).toBe(false);
    expect(existsSync(parent)).toBe(true);
    // Once the store exists, a failed commit removes nothing of it.
    await lh.seedSynthetic({ symbols: 8, days: 60 });
    await expect(failing()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(existsSync(join(dir, 'registry.json'))).toBe(true);
    expect((await lh.verify()).ok).toBe(true);
  });
});

describe('read-only runs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    const lh = await openLakehouse(dir);
    await lh.importCsv(CRYPTO);
    await lh.importCsv(STOCKS, { venue: 'us' });
  });

  test('opening a folder that is not a lakehouse fails fast', async () => {
    await expect(openLakehouse(join(dir, 'nope'), { readOnly: true })).rejects.toMatchObject({ code: 'LAKEHOUSE_MISSING', exitCode: 2 });
  });

  test('read-only handles refuse to write', async () => {
    const ro = await openLakehouse(dir, { readOnly: true });
    await expect(ro.seedSynthetic({ symbols: 8, days: 40 })).rejects.toMatchObject({ code: 'LAKEHOUSE_READ_ONLY' });
  });

  test('every missing symbol and date range is named in one error', async () => {
    const ro = await openLakehouse(dir, { readOnly: true });
    const err = await ro.readReturns({ symbols: ['BTCUSDT', 'NOPE', 'FB', 'ALSO_NOPE', 'ETHUSDT'], end: '2010-01-01', lookbackDays: 30 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'LAKEHOUSE_MISSING_DATA', exitCode: 2 });
    expect(err.message).toContain('NOPE: not in the store');
    expect(err.message).toContain('ALSO_NOPE: not in the store');
    expect(err.message).toContain('us/FB: no data up to 2010-01-01 (stored 2012-05-18..2018-04-11)');
    expect(err.message).toContain('csv/BTCUSDT: no data up to 2010-01-01');
    expect(err.message).toContain('csv/ETHUSDT');
    expect((err.options.details as { problems: string[] }).problems).toHaveLength(5);
  });

  test('a listing inside the window is NaN, not an error; a symbol with no data in the window is an error', async () => {
    const ro = await openLakehouse(dir, { readOnly: true });
    const m = await ro.readReturns({ symbols: ['AAPL', 'FB'], venue: 'us', start: '2012-05-14', end: '2012-05-22' });
    expect(Array.from(m.dates, iso)).toEqual(['2012-05-14', '2012-05-15', '2012-05-16', '2012-05-17', '2012-05-18', '2012-05-21', '2012-05-22']);
    const T = m.dates.length;
    const fb = Array.from(m.values.subarray(T, 2 * T));
    expect(fb.slice(0, 5).every(Number.isNaN)).toBe(true); // not listed yet, then its first bar has no previous close
    expect(fb[5]).toBeCloseTo(34.03 / 38.23 - 1, 3); // FB's first Monday
    expect(Array.from(m.values.subarray(0, T)).some(Number.isNaN)).toBe(false);
    await expect(ro.readReturns({ symbols: ['AAPL', 'FB'], venue: 'us', start: '2012-05-14', end: '2012-05-22', requireFullCoverage: true })).rejects.toMatchObject({
      message: expect.stringContaining('us/FB: window 2012-05-14..2012-05-22 not covered'),
    });
    await expect(ro.readReturns({ symbols: ['BTCUSDT'], start: '2018-04-01', end: '2018-04-15' })).rejects.toMatchObject({
      message: expect.stringContaining('csv/BTCUSDT: no data in 2018-04-01..2018-04-15 (stored 2022-06-12..2025-03-06)'),
    });
  });

  test('as-of: no day after `end`; lookback counts aligned dates; values are close-to-close returns; the data identity covers the whole source', async () => {
    const ro = await openLakehouse(dir, { readOnly: true });
    const m = await ro.readReturns({ symbols: ['BTCUSDT', 'ETHUSDT', 'LUNAUSDT'], end: '2022-09-10', lookbackDays: 5 });
    expect(Array.from(m.dates, iso)).toEqual(['2022-09-06', '2022-09-07', '2022-09-08', '2022-09-09', '2022-09-10']);
    const T = m.dates.length;
    const luna = await ro.readOhlcv('LUNAUSDT');
    const i = Array.from(luna.date).indexOf(Date.UTC(2022, 8, 9) / 86400e3);
    expect(m.values[2 * T + 3]).toBeCloseTo(luna.close[i] / luna.close[i - 1] - 1, 12);
    expect(m.values[2 * T + 3]).toBeCloseTo(1.6757704180400776, 9); // LUNA's +168% day
    expect(ro.entriesRead().map((e) => e.symbol).sort()).toEqual(['BTCUSDT', 'ETHUSDT', 'LUNAUSDT']);
    // The identity is over every entry the source holds (discovery reads them all), in any order; reading
    // does not change it, and any entry's checksum or symbols-table field does.
    const hash1 = ro.dataIdentity();
    expect(hash1).toMatch(/^sha256:[0-9a-f]{64}$/);
    const all = Object.values(ro.registry().entries);
    expect(all.length).toBeGreaterThan(3);
    expect(dataIdentity([...all].reverse())).toBe(hash1);
    expect(dataIdentity(all.slice(1))).not.toBe(hash1);
    expect(dataIdentity(all.map((e, i) => (i ? e : { ...e, volume_24h: (e.volume_24h ?? 0) + 1 })))).not.toBe(hash1);
    expect(dataIdentity(all.map((e, i) => (i ? e : { ...e, checksum: 'sha256:0' })))).not.toBe(hash1);
    // The same bytes from a wide CSV (closes alone: no opens of their own) are other data than from OHLCV files.
    const wide = (e: (typeof all)[number]) => e.source.kind === 'csv' && e.source.layout === 'wide';
    const bars = all.findIndex((e) => !wide(e));
    const closes = all.findIndex(wide);
    expect([bars, closes].every((k) => k >= 0)).toBe(true);
    expect(dataIdentity(all.map((e, i) => (i !== bars ? e : { ...e, source: { kind: 'csv' as const, path: 'closes.csv', layout: 'wide' as const } })))).not.toBe(hash1);
    // Where it was read from is not part of it: the same data imported from elsewhere is the same data.
    expect(dataIdentity(all.map((e, i) => (i !== closes ? e : { ...e, source: { kind: 'csv' as const, path: 'elsewhere/closes.csv', layout: 'wide' as const } })))).toBe(hash1);
  });

  test('readPrices gives the bars on the same axis as readReturns', async () => {
    const ro = await openLakehouse(dir, { readOnly: true });
    const req = { symbols: ['AAPL', 'FB'], venue: 'us', start: '2012-05-14', end: '2012-05-22' };
    const r = await ro.readReturns(req);
    const p = await ro.readPrices(req);
    expect(Array.from(p.dates)).toEqual(Array.from(r.dates));
    const T = p.dates.length;
    expect(p.close[T + 4]).toBe(38.23); // FB's listing day
    expect(p.close[T + 0]).toBeNaN();
    expect(p.close[T + 5] / p.close[T + 4] - 1).toBeCloseTo(r.values[T + 5], 12);
    expect(p.volume![0]).toBeNaN(); // a close-only source
  });
});
