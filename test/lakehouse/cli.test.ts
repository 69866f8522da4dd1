import { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { registerLakehouseCommand } from '../../src/cli/lakehouse.js';
import { tempDir, CRYPTO, STOCKS } from './helpers.js';

async function cli(args: string[]): Promise<{ out: string; exitCode: number | undefined; error?: unknown }> {
  const program = new Command('pipeline-run').exitOverride();
  registerLakehouseCommand(program);
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out: lines.join('\n'), exitCode: process.exitCode as number | undefined };
  } catch (error) {
    return { out: lines.join('\n'), exitCode: process.exitCode as number | undefined, error };
  } finally {
    spy.mockRestore();
    process.exitCode = before;
  }
}

describe('lakehouse CLI', () => {
  test('seed, import (ohlcv folder and wide file), status, verify', async () => {
    const dir = await tempDir();
    const seed = await cli(['lakehouse', 'seed', '--synthetic', '--symbols', '12', '--days', '90', '--seed', '3', '--lakehouse', dir]);
    expect(seed.out).toMatch(/^Seeded 16 symbol\(s\)/);
    const a = await cli(['lakehouse', 'import', CRYPTO, '--layout', 'ohlcv', '--lakehouse', dir]);
    expect(a.out).toContain('Imported 49 symbol(s)');
    expect(a.out).toContain('DEGRADED csv/KLAYUSDT: flat zero-volume tail');
    const b = await cli(['lakehouse', '--lakehouse', dir, 'import', STOCKS, '--layout', 'wide', '--venue', 'us']);
    expect(b.out).toContain('Imported 20 symbol(s)');
    const st = await cli(['lakehouse', 'status', '--json', '--lakehouse', dir]);
    const json = JSON.parse(st.out);
    expect(json.symbols).toBe(16 + 49 + 20);
    expect(json.venues).toMatchObject({ csv: 49, us: 20 });
    const text = await cli(['lakehouse', 'status', '--lakehouse', dir]);
    expect(text.out).toMatch(/csv\s+LUNAUSDT\s+spot\s+999\s+2022-06-12\s+2025-03-06\s+DEGRADED\s+extreme move/);
    const v = await cli(['lakehouse', 'verify', '--lakehouse', dir]);
    expect(v.out).toContain(`OK: 85 file(s) match their checksums`);
    expect(v.exitCode).toBeUndefined();
  });

  test('an import says which symbols it keeps as closes alone though their layout has opens; status shows the days of closes alone', async () => {
    const src = await tempDir();
    const rows = (open: (c: number) => number) => ['date,open,high,low,close,volume', ...[5, 6, 7].map((c, i) => `2021-03-0${i + 1},${open(c)},${c},${open(c)},${c},10`)].join('\n');
    await writeFile(join(src, 'FLAT.csv'), rows((c) => c));
    await writeFile(join(src, 'REAL.csv'), rows((c) => c - 0.5));
    const dir = await tempDir();
    const a = await cli(['lakehouse', 'import', src, '--layout', 'ohlcv', '--lakehouse', dir]);
    expect(a.out).toContain('closes only csv/FLAT: every bar is a single print (open = high = low = close)');
    expect(a.out).not.toContain('closes only csv/REAL');
    const b = await cli(['lakehouse', 'import', STOCKS, '--layout', 'wide', '--venue', 'us', '--lakehouse', dir]);
    expect(b.out).not.toContain('closes only'); // a wide file is closes alone by its layout: nothing to warn of
    const st = (await cli(['lakehouse', 'status', '--lakehouse', dir])).out.split('\n');
    expect(st[1]).toMatch(/^venue\s+symbol\s+type\s+sector\s+rows\s+first\s+last\s+closes_only\s+status/);
    expect(st.find((l) => /^csv\s+FLAT\s/.test(l))).toMatch(/2021-03-03\s+all\s+STABLE/);
    expect(st.find((l) => /^csv\s+REAL\s/.test(l))).toMatch(/2021-03-03\s+STABLE/);
    expect(st.find((l) => /^us\s+AAPL/.test(l))).toMatch(/2018-04-11\s+all\s+STABLE/);
    const json = JSON.parse((await cli(['lakehouse', 'status', '--json', '--lakehouse', dir])).out);
    expect(json.entries.find((e: { symbol: string }) => e.symbol === 'FLAT').closes_only).toEqual([['2021-03-01', '2021-03-03']]);
  });

  test('verify sets exit code 1 on corruption; repair fixes it', async () => {
    const dir = await tempDir();
    await cli(['lakehouse', 'seed', '--synthetic', '--symbols', '8', '--days', '60', '--lakehouse', dir]);
    const file = join(dir, 'ohlcv', 'synthetic-spot', 'XAUTUSDT.arrow');
    const buf = await readFile(file);
    buf[buf.length - 20] ^= 0xff;
    await writeFile(file, buf);
    const v = await cli(['lakehouse', 'verify', '--lakehouse', dir]);
    expect(v.exitCode).toBe(1);
    expect(v.out).toContain('CORRUPT synthetic-spot/XAUTUSDT');
    const r = await cli(['lakehouse', 'repair', '--lakehouse', dir]);
    expect(r.out).toContain('synthetic-spot/XAUTUSDT: now STABLE');
    expect((await cli(['lakehouse', 'verify', '--lakehouse', dir])).exitCode).toBeUndefined();
  });

  test('bad input is a FractalError with exit code 2', async () => {
    const dir = await tempDir();
    expect((await cli(['lakehouse', 'seed', '--lakehouse', dir])).error).toMatchObject({ exitCode: 2, message: expect.stringContaining('--synthetic') });
    expect((await cli(['lakehouse', 'seed', '--synthetic', '--days', 'x', '--lakehouse', dir])).error).toMatchObject({ exitCode: 2 });
    expect((await cli(['lakehouse', 'import', CRYPTO, '--layout', 'long', '--lakehouse', dir])).error).toMatchObject({ exitCode: 2 });
    expect((await cli(['lakehouse', 'status', '--lakehouse', join(dir, 'missing')])).error).toMatchObject({ code: 'LAKEHOUSE_MISSING', exitCode: 2 });
  });

  test('the path defaults to FRACTAL_LAKEHOUSE', async () => {
    const dir = await tempDir();
    process.env.FRACTAL_LAKEHOUSE = dir;
    try {
      await cli(['lakehouse', 'seed', '--synthetic', '--symbols', '8', '--days', '40']);
      expect(JSON.parse((await cli(['lakehouse', 'status', '--json'])).out).root).toBe(dir);
    } finally {
      delete process.env.FRACTAL_LAKEHOUSE;
    }
  });
});
