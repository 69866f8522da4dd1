/**
 * A seeded synthetic crypto market, for the demo and for tests, fully offline and deterministic for a seed.
 *
 * Returns follow a factor model r = beta * market + gamma * sector + idiosyncratic, with Student-t(4) shocks (fat
 * tails) and a Markov regime (calm, turbulent, crisis) that scales volatility and drift, so correlations rise in
 * crises. On top: a stablecoin (USDXUSDT), a gold-pegged token (XAUTUSDT), one toxic spike above +500% (PUMPUSDT), a
 * symbol delisted part-way (DEADUSDT), staggered listings, a few gaps, and perpetuals for the largest symbols on a
 * second venue (synthetic-perp) whose prices track spot with a small basis.
 */
import type { SymbolWrite } from '../store.js';
import type { SymbolMeta } from '../registry.js';
import { inputError } from '../../core/errors.js';
import { parseIsoDay } from '../../util/dates.js';
import { Rng } from '../../math/rng.js';

export interface SyntheticOptions {
  /** Spot symbols (>= 8 so every special symbol fits). */
  symbols?: number;
  days?: number;
  seed?: number;
  /** Last date (YYYY-MM-DD); fixed by default so a seed always gives the same files. */
  end?: string;
}

export const SYNTHETIC_DEFAULTS = { symbols: 60, days: 1000, seed: 42, end: '2025-12-31' } as const;
export const SPOT_VENUE = 'synthetic-spot';
export const PERP_VENUE = 'synthetic-perp';
export const SECTORS = ['Layer1', 'DeFi', 'Exchange', 'Meme', 'Infrastructure', 'Gaming', 'AI'] as const;

export { Rng };

type Regime = 0 | 1 | 2;
export const REGIMES = ['calm', 'turbulent', 'crisis'] as const;
const TRANSITION: number[][] = [
  [0.975, 0.022, 0.003],
  [0.05, 0.93, 0.02],
  [0.0, 0.12, 0.88],
];
const VOL_MULT = [1, 1.5, 2.2];
const MARKET_DRIFT = [0.0012, -0.0004, -0.006];

const CONSONANTS = 'BCDFGHJKLMNPRSTVXZ';
const VOWELS = 'AEIOU';
const SPECIAL = ['USDX', 'XAUT', 'PUMP', 'DEAD'];

function makeNames(rng: Rng, n: number): string[] {
  const used = new Set(SPECIAL);
  const out: string[] = [];
  while (out.length < n) {
    const len = 3 + rng.int(2);
    let s = '';
    for (let k = 0; k < len; k++) s += k % 2 === 0 ? CONSONANTS[rng.int(CONSONANTS.length)] : VOWELS[rng.int(VOWELS.length)];
    if (!used.has(s)) {
      used.add(s);
      out.push(s);
    }
  }
  return out;
}

interface Bars { date: number[]; open: number[]; high: number[]; low: number[]; close: number[]; volume: number[] }

/** Generates the market; pure (no I/O). */
export function generateSynthetic(opts: SyntheticOptions = {}): { writes: SymbolWrite[]; regimes: Uint8Array; startDay: number } {
  const N = opts.symbols ?? SYNTHETIC_DEFAULTS.symbols;
  const T = opts.days ?? SYNTHETIC_DEFAULTS.days;
  const seed = opts.seed ?? SYNTHETIC_DEFAULTS.seed;
  const endIso = opts.end ?? SYNTHETIC_DEFAULTS.end;
  if (!Number.isInteger(N) || N < 8 || N > 20000) throw inputError('SYNTHETIC_SYMBOLS', `--symbols must be an integer from 8 to 20000, got ${opts.symbols}.`);
  if (!Number.isInteger(T) || T < 30 || T > 20000) throw inputError('SYNTHETIC_DAYS', `--days must be an integer from 30 to 20000, got ${opts.days}.`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw inputError('SYNTHETIC_SEED', `--seed must be an integer from 0 to 4294967295, got ${opts.seed}.`);
  const endDay = parseIsoDay(endIso);
  if (endDay === undefined) throw inputError('SYNTHETIC_END', `end "${endIso}" is not a YYYY-MM-DD date.`);
  const startDay = endDay - T + 1;
  const rng = new Rng(seed);

  // Regimes and factors, shared by all symbols.
  const regimes = new Uint8Array(T);
  let reg: Regime = 0;
  for (let t = 0; t < T; t++) {
    const u = rng.next();
    const row = TRANSITION[reg];
    reg = (u < row[0] ? 0 : u < row[0] + row[1] ? 1 : 2) as Regime;
    regimes[t] = reg;
  }
  const market = new Float64Array(T);
  for (let t = 0; t < T; t++) market[t] = MARKET_DRIFT[regimes[t]] + VOL_MULT[regimes[t]] * 0.02 * rng.t4();
  const sectorF = SECTORS.map(() => {
    const f = new Float64Array(T);
    for (let t = 0; t < T; t++) f[t] = VOL_MULT[regimes[t]] * 0.012 * rng.t4();
    return f;
  });

  const names = ['USDX', 'XAUT', 'PUMP', 'DEAD', ...makeNames(rng, N - 4)];
  // Market caps (log-normal) give the rank; the stablecoin is deliberately large.
  const caps = names.map((_, i) => (i === 0 ? 5e10 : i === 1 ? 8e8 : Math.exp(rng.uniform(16, 25))));
  const order = caps.map((_, i) => i).sort((a, b) => caps[b] - caps[a]);
  const rank = new Array<number>(N);
  order.forEach((i, r) => (rank[i] = r + 1));

  const spot: { meta: SymbolMeta; bars: Bars; sigma: number }[] = [];
  const gapSymbols = new Map<number, number[]>([[4, [1]], [5, [3]], [6, [5, 2]]]); // symbol index -> gap lengths
  for (let i = 0; i < N; i++) {
    const name = names[i];
    const special = i < 4 ? SPECIAL[i] : undefined;
    const sector = i === 0 ? 'Stablecoin' : i === 1 ? 'Commodity' : i === 2 ? 'Meme' : i === 3 ? 'DeFi' : SECTORS[rng.int(SECTORS.length)];
    const sIdx = Math.max(0, SECTORS.indexOf(sector as (typeof SECTORS)[number]));
    const beta = rng.uniform(0.7, 1.5);
    const gamma = rng.uniform(0.6, 1.3);
    const sigma = rng.uniform(0.012, 0.032);
    // About one symbol in five lists later (in the first half); the specials and the first few exist from day one.
    const listAt = i >= 8 && rng.next() < 0.2 ? 1 + rng.int(Math.floor(T / 2)) : 0;
    const delistAt = special === 'DEAD' ? Math.floor(T * 0.6) : T;
    const spikeAt = special === 'PUMP' ? Math.floor(T * 0.4) : -1;
    let price = i === 0 ? 1 : i === 1 ? 2000 : Math.pow(10, rng.uniform(-3, 4));
    const baseVolQuote = caps[i] * rng.uniform(0.01, 0.08);
    const bars: Bars = { date: [], open: [], high: [], low: [], close: [], volume: [] };
    for (let t = 0; t < T; t++) {
      // Draw every shock every day, listed or not, so one symbol's options never shift another's random stream.
      const eps = rng.t4();
      const noise = rng.normal();
      const wick1 = Math.abs(rng.normal());
      const wick2 = Math.abs(rng.normal());
      const volNoise = rng.normal();
      const vm = VOL_MULT[regimes[t]];
      let r: number;
      if (special === 'USDX') r = (1 + 0.0008 * eps) / price - 1; // pegged: mean-reverts to 1 every day
      else if (special === 'XAUT') r = 0.0002 + 0.009 * eps; // gold: its own low-vol path, not the crypto factors
      else r = beta * market[t] + gamma * sectorF[sIdx][t] + vm * sigma * eps;
      if (special === 'DEAD' && t >= delistAt - 15) r = -0.08 + 0.02 * eps; // bleeds out before delisting
      r = Math.max(r, -0.6); // a floor keeps the fat tails below the toxic threshold: only PUMP is toxic
      if (spikeAt >= 0 && t === spikeAt) r = 6.2; // +620% in a day
      if (spikeAt >= 0 && t === spikeAt + 1) r = 1 / 6.8 - 1; // most of it reverts
      const prev = price;
      price = prev * (1 + r);
      if (t < listAt || t >= delistAt) continue;
      const day = startDay + t;
      const stable = special === 'USDX';
      const open = t === listAt ? price * (1 + 0.01 * noise) : prev * (1 + (stable ? 0.0001 : 0.002) * noise);
      const range = (stable ? 0.0005 : 0.5 * vm * sigma);
      const high = Math.max(open, price) * (1 + range * wick1);
      const low = Math.min(open, price) / (1 + range * wick2);
      const volume = (baseVolQuote * Math.exp(0.35 * volNoise) * (1 + 8 * Math.abs(r))) / price;
      bars.date.push(day); bars.open.push(open); bars.high.push(high); bars.low.push(low); bars.close.push(price); bars.volume.push(volume);
    }
    // Gaps: remove whole days (a one-day gap is tolerated by health, the longer ones are not).
    const gaps = gapSymbols.get(i);
    if (gaps) {
      gaps.forEach((len, g) => {
        const at = Math.floor(bars.date.length * (0.3 + 0.3 * g));
        for (const k of Object.keys(bars) as (keyof Bars)[]) bars[k].splice(at, len);
      });
    }
    spot.push({
      sigma,
      bars,
      meta: {
        symbol: `${name}USDT`, venue: SPOT_VENUE, exchange: 'synthetic', asset_type: 'spot', base: name, quote: 'USDT',
        sector, market_cap_rank: rank[i], volume_24h: bars.close.length ? bars.volume[bars.volume.length - 1] * bars.close[bars.close.length - 1] : null,
      },
    });
  }

  // Perpetuals for the top third by market cap (not the stablecoin), tracking spot with an AR(1) basis.
  const perps: { meta: SymbolMeta; bars: Bars }[] = [];
  const perpCount = Math.ceil(N / 3);
  for (const i of order.filter((k) => k !== 0).slice(0, perpCount)) {
    const s = spot[i];
    let basis = 0;
    const bars: Bars = { date: [], open: [], high: [], low: [], close: [], volume: [] };
    for (let t = 0; t < s.bars.date.length; t++) {
      basis = 0.9 * basis + 0.0006 * rng.normal();
      const m = 1 + basis;
      bars.date.push(s.bars.date[t]);
      bars.open.push(s.bars.open[t] * m);
      bars.high.push(s.bars.high[t] * m);
      bars.low.push(s.bars.low[t] * m);
      bars.close.push(s.bars.close[t] * m);
      bars.volume.push(s.bars.volume[t] * 2.5);
    }
    perps.push({ bars, meta: { ...s.meta, venue: PERP_VENUE, asset_type: 'perp', volume_24h: (s.meta.volume_24h ?? 0) * 2.5 } });
  }

  const source = { kind: 'synthetic' as const, seed, symbols: N, days: T, end: endIso };
  const writes: SymbolWrite[] = [...spot, ...perps]
    .filter((x) => x.bars.date.length > 0)
    .map((x) => ({
      meta: x.meta,
      source,
      data: {
        date: Int32Array.from(x.bars.date),
        open: Float64Array.from(x.bars.open),
        high: Float64Array.from(x.bars.high),
        low: Float64Array.from(x.bars.low),
        close: Float64Array.from(x.bars.close),
        volume: Float64Array.from(x.bars.volume),
      },
    }));
  return { writes, regimes, startDay };
}
