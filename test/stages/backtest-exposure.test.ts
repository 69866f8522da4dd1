/**
 * Realised exposure (metrics.json's realised_gross_exposure / realised_net_exposure): the book actually held day by
 * day, not the targets a decision set. Checked on the crypto example's short sleeve (pipelines/crypto_short.yaml on
 * the Binance closes of ../shared/data/crypto), whose drifted book reached 3.45× gross at the start of 2022-08-11
 * after the MATIC and FTM shorts rallied, against an independent route: the run's own decisions (weights.arrow) held
 * here by hand on the raw closes of the CSV files, with the run's costs and borrow. The daily returns that route
 * gives must be returns.arrow's, so the weights it drifts are the ones the simulator held.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { DATA_DIR, REPO_DIR } from '../data.js';
import { cryptoLakehouse, readJson, runYaml } from './pipeline-helpers.js';

let tmp: string;
let lakehouse: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-exposure-'));
  lakehouse = await cryptoLakehouse(join(tmp, 'lh'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DAY = 86_400_000;
const iso = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);
const dayOf = (s: string) => Math.round(Date.parse(`${s}T00:00:00Z`) / DAY);

/** A symbol's closes from its CSV: day → close. */
function closes(symbol: string): Map<number, number> {
  const [, ...rows] = readFileSync(join(DATA_DIR, 'crypto', `${symbol}.csv`), 'utf8').trim().split('\n');
  return new Map(rows.map((r) => {
    const c = r.split(',');
    return [dayOf(c[0]!), Number(c[4])] as const;
  }));
}

test('the realised gross and net of the drifted book, recomputed from the run\'s weights and the raw closes', async () => {
  const yaml = `${readFileSync(join(REPO_DIR, 'pipelines', 'crypto_short.yaml'), 'utf8').trimEnd()}\n  - type: report\n`;
  const s = await runYaml(tmp, 'crypto_short', yaml, lakehouse, join(tmp, 'runs'));
  expect(s.outcome).toBe('succeeded');
  const bt = readJson(s.folder, 'metrics.json').backtest;
  // What the route below assumes of this run: every decision invested and held to the next one (test_window 30 =
  // step_size 30), spot names (borrow on shorts, no funding), the default 5 + 1 bps and 5% borrow, no toxic bar held.
  expect(bt.cash_windows).toBe(0);
  expect(bt.carry.funding).toBe(0);
  const audit = readFileSync(join(s.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(audit.filter((e) => e.stage === 'backtest' && e.event === 'toxic_bar')).toEqual([]);
  const costRate = (5 + 1) / 10_000;
  const borrowRate = 0.05;

  const ret = tableFromIPC(readFileSync(join(s.folder, 'returns.arrow')));
  const days = Array.from(ret.getChild('date')!.toArray() as ArrayLike<number>, (ms) => Math.round(ms / DAY));
  const got = Array.from(ret.getChild('return')!.toArray() as Float64Array);
  const wt = tableFromIPC(readFileSync(join(s.folder, 'weights.arrow')));
  const decided = new Map<number, Map<string, number>>();
  for (let i = 0; i < wt.numRows; i++) {
    const d = Math.round((wt.getChild('date')!.get(i) as number) / DAY);
    if (!decided.has(d)) decided.set(d, new Map());
    decided.get(d)!.set(wt.getChild('symbol')!.get(i) as string, wt.getChild('weight')!.get(i) as number);
  }
  expect(decided.size).toBe(bt.windows);
  const prices = new Map<string, Map<number, number>>();
  const closeOf = (sym: string) => prices.get(sym) ?? prices.set(sym, closes(sym)).get(sym)!;
  // The last close of `sym` on or before `d` (a missing bar: the price is unchanged).
  const lastClose = (sym: string, d: number) => {
    const c = closeOf(sym);
    for (let x = d; x > d - 400; x--) if (c.has(x)) return c.get(x)!;
    return NaN;
  };

  // Held by hand: the book after day i − 1's close, in weights of the equity; a decision at that close trades to its
  // targets (costs: 6 bps of Σ|target − held| off the first day's equity); each day pays borrow on the short weights
  // for the calendar days since the previous day, earns Σ wᵢ rᵢ, and the weights drift: wᵢ (1 + rᵢ) / (1 + r_p − borrow).
  let book = new Map<string, number>();
  const gross: number[] = [];
  const net: number[] = [];
  let worstReturn = 0;
  for (let i = 0; i < days.length; i++) {
    const prev = i === 0 ? [...decided.keys()][0]! : days[i - 1]!;
    const d = days[i]!;
    let cost = 0;
    const target = decided.get(prev);
    if (target) {
      let turnover = 0;
      for (const sym of new Set([...book.keys(), ...target.keys()])) turnover += Math.abs((target.get(sym) ?? 0) - (book.get(sym) ?? 0));
      cost = turnover * costRate;
      book = new Map(target);
    }
    let g = 0;
    let x = 0;
    let rp = 0;
    let borrow = 0;
    const moves = new Map<string, number>();
    for (const [sym, w] of book) {
      g += Math.abs(w);
      x += w;
      const c = closeOf(sym).get(d);
      const r = c === undefined ? 0 : c / lastClose(sym, prev) - 1;
      moves.set(sym, r);
      rp += w * r;
      if (w < 0) borrow += (-w * borrowRate * (d - prev)) / 365;
    }
    gross.push(g);
    net.push(x);
    const grow = 1 + rp - borrow;
    worstReturn = Math.max(worstReturn, Math.abs((1 - cost) * grow - 1 - got[i]!));
    book = new Map([...book].map(([sym, w]) => [sym, (w * (1 + moves.get(sym)!)) / grow]));
  }
  // The hand route is the simulator's: its daily returns are returns.arrow's.
  expect(worstReturn).toBeLessThan(1e-12);

  const maxAt = gross.indexOf(Math.max(...gross));
  const minNetAt = net.indexOf(Math.min(...net));
  const maxNetAt = net.indexOf(Math.max(...net));
  const mean = (a: number[]) => a.reduce((s2, v) => s2 + v, 0) / a.length;
  expect(iso(days[maxAt]!)).toBe('2022-08-11');
  expect(gross[maxAt]).toBeGreaterThan(3.4);
  const { realised_gross_exposure: rg, realised_net_exposure: rn } = bt;
  expect(rg.max).toBeCloseTo(gross[maxAt]!, 12);
  expect(rg.max_date).toBe(iso(days[maxAt]!));
  expect(rg.mean).toBeCloseTo(mean(gross), 12);
  expect(rn.min).toBeCloseTo(net[minNetAt]!, 12);
  expect(rn.min_date).toBe(iso(days[minNetAt]!));
  expect(rn.max).toBeCloseTo(net[maxNetAt]!, 12);
  expect(rn.max_date).toBe(iso(days[maxNetAt]!));
  expect(rn.mean).toBeCloseTo(mean(net), 12);
  // The decided exposure (the as-of decision's targets) is not what the record held.
  expect(bt.gross_exposure).toBeCloseTo(1, 12);
  // The reports show both, labelled.
  const two = (v: number) => v.toFixed(2);
  const html = readFileSync(join(s.folder, 'report.html'), 'utf8');
  expect(html).toContain(`<td>Realised gross exposure (max / mean)</td><td class="num">${two(gross[maxAt]!)} / ${two(mean(gross))}</td>`);
  expect(html).toContain(`<td>Realised net exposure (min / max)</td><td class="num">${two(net[minNetAt]!)} / ${two(net[maxNetAt]!)}</td>`);
  expect(html).toContain(`gross at most ${two(gross[maxAt]!)} (2022-08-11)`);
  const md = readFileSync(join(s.folder, 'report.md'), 'utf8');
  expect(md).toContain(`| realised gross exposure, max (2022-08-11) / mean | ${two(gross[maxAt]!)} / ${two(mean(gross))} |`);
});
