import { generateSynthetic, openLakehouse } from '../../src/lakehouse/index.js';
import { SPOT_VENUE, PERP_VENUE, Rng } from '../../src/lakehouse/sources/synthetic.js';
import { tempDir } from './helpers.js';

const gen = generateSynthetic({ symbols: 60, days: 1000, seed: 42 });
const spot = gen.writes.filter((w) => w.meta.venue === SPOT_VENUE);
const bySymbol = (s: string, venue = SPOT_VENUE) => gen.writes.find((w) => w.meta.symbol === s && w.meta.venue === venue)!;
const returns = (c: Float64Array) => Array.from(c.subarray(1), (x, i) => x / c[i] - 1);

function corr(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

describe('synthetic source', () => {
  test('deterministic for a seed: same files, same checksums; another seed differs', async () => {
    const a = await openLakehouse(await tempDir());
    const b = await openLakehouse(await tempDir());
    await a.seedSynthetic({ symbols: 20, days: 200, seed: 5 });
    await b.seedSynthetic({ symbols: 20, days: 200, seed: 5 });
    const sums = (lh: typeof a) => Object.values(lh.registry().entries).map((e) => `${e.venue}/${e.symbol}:${e.checksum}`).sort();
    expect(sums(a)).toEqual(sums(b));
    const c = generateSynthetic({ symbols: 20, days: 200, seed: 6 });
    expect(c.writes.map((w) => w.meta.symbol)).not.toEqual(generateSynthetic({ symbols: 20, days: 200, seed: 5 }).writes.map((w) => w.meta.symbol));
  });

  test('as many symbols and days as asked, on spot and perpetual venues', () => {
    expect(spot).toHaveLength(60);
    const perps = gen.writes.filter((w) => w.meta.venue === PERP_VENUE);
    expect(perps).toHaveLength(20);
    expect(perps.every((p) => p.meta.asset_type === 'perp')).toBe(true);
    expect(Math.max(...spot.map((w) => w.data.date.length))).toBe(1000);
    expect(new Date(spot[0].data.date[spot[0].data.date.length - 1] * 86400e3).toISOString().slice(0, 10)).toBe('2025-12-31');
    // perps track spot closely
    const p = perps[0];
    const s = bySymbol(p.meta.symbol);
    const dev = Array.from(p.data.close, (x, i) => Math.abs(x / s.data.close[i] - 1));
    expect(Math.max(...dev)).toBeLessThan(0.01);
  });

  test('one toxic spike above +500% in a day', () => {
    const toxic = spot.filter((w) => returns(w.data.close).some((r) => r > 5));
    expect(toxic.map((w) => w.meta.symbol)).toEqual(['PUMPUSDT']);
  });

  test('a stablecoin pinned at 1 and a gold-pegged token with its own low volatility', () => {
    const usd = bySymbol('USDXUSDT');
    expect(usd.meta.sector).toBe('Stablecoin');
    expect(Math.max(...Array.from(usd.data.close, (x) => Math.abs(x - 1)))).toBeLessThan(0.01);
    const gold = bySymbol('XAUTUSDT');
    const sd = (r: number[]) => Math.sqrt(r.reduce((s, x) => s + x * x, 0) / r.length);
    expect(sd(returns(gold.data.close))).toBeLessThan(0.015);
    expect(gold.data.close[0]).toBeGreaterThan(1500);
  });

  test('a symbol delisted part-way, staggered listings and a few gaps', () => {
    const dead = bySymbol('DEADUSDT');
    expect(dead.data.date.length).toBe(600);
    expect(spot.filter((w) => w.data.date[0] > spot[0].data.date[0]).length).toBeGreaterThan(3);
    const gapped = spot.filter((w) => w.data.date.some((d, i) => i > 0 && d - w.data.date[i - 1] > 1));
    expect(gapped.length).toBe(3);
  });

  test('sectors correlate: same-sector pairs more than cross-sector pairs; a market factor ties all', () => {
    const full = spot.slice(4).filter((w) => w.data.date.length === 1000);
    let inSum = 0, inN = 0, outSum = 0, outN = 0;
    for (let i = 0; i < full.length; i++) {
      for (let j = i + 1; j < full.length; j++) {
        const c = corr(returns(full[i].data.close), returns(full[j].data.close));
        if (full[i].meta.sector === full[j].meta.sector) { inSum += c; inN++; } else { outSum += c; outN++; }
      }
    }
    expect(outSum / outN).toBeGreaterThan(0.2);
    expect(inSum / inN).toBeGreaterThan(outSum / outN + 0.1);
  });

  test('regimes: calm, turbulent and crisis all occur, and fat tails (kurtosis > 3)', () => {
    expect(new Set(gen.regimes)).toEqual(new Set([0, 1, 2]));
    const rng = new Rng(1);
    const xs = Array.from({ length: 50000 }, () => rng.t4());
    const m2 = xs.reduce((s, x) => s + x * x, 0) / xs.length;
    const m4 = xs.reduce((s, x) => s + x ** 4, 0) / xs.length;
    expect(m2).toBeGreaterThan(0.9);
    expect(m2).toBeLessThan(1.1);
    expect(m4 / (m2 * m2)).toBeGreaterThan(4);
  });

  test('bad options are input errors', () => {
    expect(() => generateSynthetic({ symbols: 3 })).toThrow(expect.objectContaining({ code: 'SYNTHETIC_SYMBOLS', exitCode: 2 }));
    expect(() => generateSynthetic({ end: '2025-02-30' })).toThrow(expect.objectContaining({ code: 'SYNTHETIC_END' }));
  });
});

describe('seeding over a stored market (found in a walkthrough: a second seed of another size mixed two markets)', () => {
  test('the same market again is rewritten as it is; another seed or size over its symbols is refused, nothing written', async () => {
    const lh = await openLakehouse(await tempDir());
    const stored = () => Object.fromEntries(Object.entries(lh.registry().entries).map(([k, e]) => [k, e.checksum]));
    await lh.seedSynthetic({ symbols: 12, days: 120, seed: 5 });
    const first = stored();
    await lh.seedSynthetic({ symbols: 12, days: 120, seed: 5 });
    expect(stored()).toEqual(first);
    const before = JSON.stringify(lh.registry());
    for (const other of [{ symbols: 12, days: 60, seed: 5 }, { symbols: 12, days: 120, seed: 6 }]) {
      await expect(lh.seedSynthetic(other)).rejects.toMatchObject({ code: 'LAKEHOUSE_SOURCE_CLASH', exitCode: 2, message: expect.stringContaining(`now from synthetic seed ${other.seed} (12 symbols × ${other.days} days`) });
      expect(JSON.stringify(lh.registry()) === before).toBe(true);
    }
    // --replace is the way to overwrite them.
    await lh.seedSynthetic({ symbols: 12, days: 60, seed: 5, replace: true });
    expect(lh.registry().entries['synthetic-spot/PUMPUSDT']).toMatchObject({ rows: 60, source: { kind: 'synthetic', seed: 5, days: 60 } });
  });
});
