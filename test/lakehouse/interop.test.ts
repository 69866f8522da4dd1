/**
 * The files must be readable outside Fractal. pyarrow is not installable on this machine, so a second, independent
 * Arrow implementation reads them: flechette (uwdata; arquero's Arrow layer), which shares no code with
 * apache-arrow. The values are checked against the source CSV text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { readCounters } from '../../src/lakehouse/store.js';
import { CRYPTO, tempDir } from './helpers.js';

test('an OHLCV file and the symbols table read back with another Arrow implementation, with plain types', async () => {
  const dir = await tempDir();
  const lh = await openLakehouse(dir, { create: true });
  await lh.importCsv(CRYPTO, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });

  const bars = tableFromIPC(readFileSync(join(dir, 'ohlcv', 'binance_spot', 'BTCUSDT.arrow')));
  expect(bars.schema.fields.map((f) => f.name)).toEqual(['date', 'open', 'high', 'low', 'close', 'volume']);
  const csv = readFileSync(join(CRYPTO, 'BTCUSDT.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  expect(bars.numRows).toBe(csv.length);
  const dates = bars.getChild('date')!.toArray() as unknown as ArrayLike<unknown>;
  const close = bars.getChild('close')!.toArray() as Float64Array;
  for (const i of [0, 1, Math.floor(csv.length / 2), csv.length - 1]) {
    const d = dates[i];
    const iso = d instanceof Date ? d.toISOString().slice(0, 10) : new Date(Number(d)).toISOString().slice(0, 10);
    expect(iso).toBe(csv[i][0]);
    expect(close[i]).toBe(Number(csv[i][4]));
  }

  const symbols = tableFromIPC(readFileSync(join(dir, 'symbols.arrow')));
  expect(symbols.numRows).toBe(49);
  const names = symbols.getChild('symbol')!.toArray() as unknown as string[];
  expect([...names]).toContain('LUNAUSDT');
});

test('a run reading a file that no longer matches its registry checksum fails, naming it', async () => {
  const { writeFileSync, readFileSync: rf } = await import('node:fs');
  const dir = await tempDir();
  const lh = await openLakehouse(dir, { create: true });
  await lh.importCsv(CRYPTO, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  const file = join(dir, 'ohlcv', 'binance_spot', 'BTCUSDT.arrow');
  const bytes = rf(file);
  bytes[bytes.length - 200] ^= 0xff; // same size, one byte changed: a mapped read would not notice
  writeFileSync(file, bytes);
  const ro = await openLakehouse(dir, { readOnly: true });
  await expect(ro.readReturns({ symbols: ['BTCUSDT', 'ETHUSDT'], end: '2024-01-01', lookbackDays: 30 })).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT', message: expect.stringContaining('BTCUSDT') });
});

test('a file altered in place after its commit (same size, same inode, a new modification time) fails the read', async () => {
  const { openSync, writeSync, closeSync, statSync, utimesSync } = await import('node:fs');
  const dir = await tempDir();
  const lh = await openLakehouse(dir, { create: true });
  await lh.importCsv(CRYPTO, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  const file = join(dir, 'ohlcv', 'binance_spot', 'ETHUSDT.arrow');
  const before = statSync(file, { bigint: true });
  // The commit recorded the file as it left it: reads skip hashing exactly while the file still looks like this.
  expect(lh.registry().entries['binance_spot/ETHUSDT']!.stamp).toMatchObject({ size: Number(before.size), mtime_ns: String(before.mtimeNs), ino: String(before.ino) });
  const clean = await openLakehouse(dir, { readOnly: true });
  await expect(clean.readOhlcv('ETHUSDT', 'binance_spot')).resolves.toBeDefined();

  // One byte rewritten in place through a descriptor: no truncation, no new file.
  const fd = openSync(file, 'r+');
  const at = Number(before.size) - 200;
  writeSync(fd, Buffer.from([readFileSync(file)[at]! ^ 0xff]), 0, 1, at);
  closeSync(fd);
  const after = statSync(file, { bigint: true });
  if (after.mtimeNs === before.mtimeNs) utimesSync(file, new Date(), new Date(Number(before.mtimeNs / 1_000_000n) + 1000)); // a clock coarser than the two writes
  expect(statSync(file, { bigint: true })).toMatchObject({ size: before.size, ino: before.ino });

  const ro = await openLakehouse(dir, { readOnly: true });
  await expect(ro.readOhlcv('ETHUSDT', 'binance_spot')).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT', message: expect.stringContaining('ETHUSDT') });
  await expect(ro.readReturns({ symbols: ['ETHUSDT'], venue: 'binance_spot', end: '2024-01-01', lookbackDays: 30 })).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT' });
  // `verify` hashes every file whatever its stamp.
  expect((await ro.verify()).problems.map((p) => p.key)).toEqual(['binance_spot/ETHUSDT']);
});

test('bars read through the recorded column offsets are, bit for bit, what another Arrow implementation decodes', async () => {
  const dir = await tempDir();
  const lh = await openLakehouse(dir, { create: true });
  await lh.importCsv(CRYPTO, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  const ro = await openLakehouse(dir, { readOnly: true });
  for (const symbol of ['BTCUSDT', 'LUNAUSDT']) {
    // Every column's offset is recorded: the read copies them out of the file without decoding it.
    expect(Object.keys(ro.registry().entries[`binance_spot/${symbol}`]!.offsets!).sort()).toEqual(['close', 'date', 'high', 'low', 'open', 'volume']);
    const [viaOffsets, decoded] = [readCounters.viaOffsets, readCounters.decoded];
    const o = await ro.readOhlcv(symbol, 'binance_spot');
    // The offsets path ran, not the decoder (which gives the same values).
    expect([readCounters.viaOffsets - viaOffsets, readCounters.decoded - decoded]).toEqual([1, 0]);
    const t = tableFromIPC(readFileSync(join(dir, 'ohlcv', 'binance_spot', `${symbol}.arrow`)), { useDate: false });
    const hex = (a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
    for (const c of ['open', 'high', 'low', 'close', 'volume'] as const) expect(hex(o[c])).toBe(hex(t.getChild(c)!.toArray() as Float64Array));
    const days = t.getChild('date')!.toArray() as unknown as ArrayLike<number>;
    expect([...o.date]).toEqual(Array.from(days, (d) => Math.round(Number(d) / (Number(d) > 1e7 ? 86_400_000 : 1))));
  }
  // The returns reader's dates and closes come from the offsets too.
  const fresh = await openLakehouse(dir, { readOnly: true });
  const [viaOffsets, decoded] = [readCounters.viaOffsets, readCounters.decoded];
  await fresh.readReturns({ symbols: ['BTCUSDT', 'ETHUSDT'], venue: 'binance_spot', end: '2024-01-01', lookbackDays: 30 });
  expect([readCounters.viaOffsets - viaOffsets, readCounters.decoded - decoded]).toEqual([2, 0]);
});
