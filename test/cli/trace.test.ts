/**
 * `pipeline-run trace <run> SYMBOL` explains an absence (issue 17): every step of discovery records the symbols it
 * drops with why (venue, liquidity with its value and floor, freshness, the exclusion rule, identity dedup with the
 * kept twin, the limit), and trace reads it back. The liquidity figure is recomputed here from the CSV text. Also the
 * filter verdicts: a veto at the strict thresholds only reads "passed once relaxed", and a winner's overridden veto
 * says which relaxation stage overrode it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { DATA_DIR } from '../data.js';
import { cli } from './helpers.js';

let tmp: string;
let run: string;
const CRYPTO = join(DATA_DIR, 'crypto');

/** The mean close × volume of a symbol's bars in the 30 calendar days to `asOf`, from its CSV. */
function meanQuoteVolume(symbol: string, asOf: string): number {
  const [, ...rows] = readFileSync(join(CRYPTO, `${symbol}.csv`), 'utf8').trim().split(/\r?\n/);
  const end = Date.parse(`${asOf}T00:00:00Z`);
  const v = rows.map((r) => r.split(',')).filter((c) => { const d = Date.parse(`${c[0]}T00:00:00Z`); return d <= end && d > end - 30 * 86_400_000; }).map((c) => Number(c[4]) * Number(c[5]));
  return v.reduce((a, x) => a + x, 0) / v.length;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-trace-'));
  const lh = await openLakehouse(join(tmp, 'lakehouse'));
  await lh.importCsv(CRYPTO, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  // A twin listing of BTC (half the volume), a stablecoin, and a symbol only on another venue.
  const extra = join(tmp, 'extra');
  mkdirSync(extra);
  const btc = readFileSync(join(CRYPTO, 'BTCUSDT.csv'), 'utf8').trim().split('\n');
  writeFileSync(join(extra, 'BTCFDUSD.csv'), [btc[0], ...btc.slice(1).map((l) => { const c = l.split(','); c[5] = String(Number(c[5]) / 2); return c.join(','); })].join('\n'));
  copyFileSync(join(CRYPTO, 'XRPUSDT.csv'), join(extra, 'USDCUSDT.csv'));
  await lh.importCsv(extra, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  const other = join(tmp, 'other');
  mkdirSync(other);
  copyFileSync(join(CRYPTO, 'ETHUSDT.csv'), join(other, 'ETHEUR.csv'));
  await lh.importCsv(other, { layout: 'ohlcv', venue: 'kraken', assetType: 'spot' });
  const file = join(tmp, 'absent.yaml');
  writeFileSync(file, `pipeline: selection
version: "4.0"
name: absent
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { venue: binance_spot, exclude: ["^DOGE"], limit: 10 } }, lookback_days: 120 }
  - type: feature_engineering
    params: { lookback: 60 }
`);
  const r = cli([file, '--out', join(tmp, 'runs'), '--lakehouse', join(tmp, 'lakehouse'), '--json']);
  expect(r.code).toBe(0);
  run = JSON.parse(r.stdout).folder;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const trace = (symbol: string) => cli(['trace', run, symbol]);
const traceJson = (symbol: string) => JSON.parse(cli(['trace', run, symbol, '--json']).stdout);

test('LUNAUSDT: dropped by liquidity, with its point-in-time quote volume and the floor', () => {
  const r = trace('LUNAUSDT');
  expect(r.code).toBe(0);
  const v = meanQuoteVolume('LUNAUSDT', '2025-03-06');
  expect(r.stdout).toContain("discovery  not a candidate as of 2025-03-06: dropped at the 'liquidity' step (scanner 'lakehouse' on binance_spot)");
  expect(r.stdout).toContain(`quote volume ${Math.round(v).toLocaleString('en-US')} below the spot floor of 20,000,000`);
  const j = traceJson('LUNAUSDT');
  expect(j.discovery.candidate).toBeNull();
  expect(j.discovery.dropped.step).toBe('liquidity');
  expect(j.discovery.dropped.value).toBeCloseTo(v, 6);
  expect(j.discovery.dropped.floor).toBe(20_000_000);
});

test('every other step names what it dropped and why', () => {
  const d = (s: string) => traceJson(s).discovery.dropped;
  expect(d('MATICUSDT')).toMatchObject({ step: 'fresh_at_as_of', last_bar: '2024-09-10', reason: 'last bar 2024-09-10, 177 days before 2025-03-06 (freshness 3 days for spot)' });
  expect(d('DOGEUSDT')).toMatchObject({ step: 'exclusions', rule: 'pattern', pattern: '^DOGE' });
  expect(d('USDCUSDT')).toMatchObject({ step: 'exclusions', rule: 'stablecoin' });
  expect(d('BTCFDUSD')).toMatchObject({ step: 'identity_dedup', identity: 'BTC', kept: 'BTCUSDT' });
  expect(d('ETHEUR')).toMatchObject({ step: 'venue', reason: "on kraken, not on the run's venue binance_spot" });
  // Ranked by point-in-time volume (DOGE excluded): BTC ETH SOL XRP BNB ADA LTC TRX RUNE LINK, then CAKE 11th.
  expect(d('CAKEUSDT')).toMatchObject({ step: 'limit', rank: 11, limit: 10 });
  expect(trace('CAKEUSDT').stdout).toContain('ranked 11 by volume_24h, beyond the limit of 10');
  const cands = JSON.parse(readFileSync(join(run, 'candidates.json'), 'utf8'));
  expect(cands.candidates.map((c: { symbol: string }) => c.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'BNBUSDT', 'ADAUSDT', 'LTCUSDT', 'TRXUSDT', 'RUNEUSDT', 'LINKUSDT']);
});

test('a symbol discovery never saw is an input error that points at the run, with a guess', () => {
  const r = trace('LUNAUSDC');
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('error SYMBOL_NOT_IN_RUN: LUNAUSDC is not in the universe of run');
  expect(r.stderr).toContain("Did you mean 'LUNAUSDT'?");
  expect(r.stderr).toContain('candidates.json');
  expect(r.stderr).not.toContain('pipeline-run plugins');
});

test('filter verdicts: vetoed at the strict thresholds only is "passed once relaxed"; an overridden veto says by which stage', () => {
  const r = cli([join(process.cwd(), 'pipelines', 'demo.yaml'), '--out', join(tmp, 'runs'), '--json']);
  const folder = JSON.parse(r.stdout).folder as string;
  const read = (f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));
  const vetoes = read('vetoes.json');
  const winners = read('winners.json');
  const relaxedOnly = Object.keys(vetoes.strict_vetoes).find((s) => !(s in vetoes.vetoes))!;
  expect(relaxedOnly).toBeDefined();
  const strict = vetoes.strict_vetoes[relaxedOnly][0];
  const t = JSON.parse(cli(['trace', folder, relaxedOnly, '--json']).stdout);
  expect(t.filters.find((f: { filter: string }) => f.filter === strict.filter)).toMatchObject({ verdict: 'passed once relaxed', value: strict.value, strict_threshold: strict.threshold });
  expect(cli(['trace', folder, relaxedOnly]).stdout).toMatch(new RegExp(`${strict.filter}\\s+passed once relaxed: ${strict.metric} [0-9.]+ failed the strict threshold`));
  expect(cli(['trace', folder, relaxedOnly]).stdout).not.toContain('vetoed (relaxed thresholds)');

  const forced = winners.winners.find((w: { overridden_vetoes: unknown[] }) => w.overridden_vetoes.length);
  expect(forced).toBeDefined();
  const f = JSON.parse(cli(['trace', folder, forced.symbol, '--json']).stdout).filters.find((x: { filter: string }) => x.filter === forced.overridden_vetoes[0].filter);
  // A representative is forced at HTR stage 3, a fallback member added at stage 4 (the loop may end later than either).
  const stage = { representative: 'HTR stage 3 (representative_forcing)', fallback: 'HTR stage 4 (balanced_fallback)' }[forced.reason as 'representative' | 'fallback'];
  expect(stage).toBeDefined();
  expect(f).toMatchObject({ verdict: 'vetoed', overridden: `overridden: selected by ${forced.reason} at ${stage}` });
});

test('a run id stands for its folder under the runs root (--out), for trace and compare alike', () => {
  const id = basename(run);
  const byFolder = cli(['trace', run, 'LUNAUSDT', '--json']);
  const byId = cli(['trace', id, 'LUNAUSDT', '--json', '--out', join(tmp, 'runs')]);
  expect(byId.code).toBe(0);
  expect(JSON.parse(byId.stdout)).toEqual(JSON.parse(byFolder.stdout));
  const compared = cli(['compare', id, run, '--json', '--out', join(tmp, 'runs')]);
  expect(compared.code).toBe(0);
  expect(JSON.parse(compared.stdout).a.folder).toBe(run);
  // An id no run has: RUN_NOT_FOUND, saying where it was looked up.
  const none = cli(['trace', '20200101T000000Z-abcdef', 'LUNAUSDT', '--out', join(tmp, 'runs')]);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain(`error RUN_NOT_FOUND: no run '20200101T000000Z-abcdef' under ${join(tmp, 'runs')}`);
});
