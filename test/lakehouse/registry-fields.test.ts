/**
 * Every field of every registry entry is checked as registry.json loads (src/lakehouse/registry.ts entryProblem),
 * found by a fault-injection review: an entry with `source: null` crashed runs, `status` and `repair` with
 * INTERNAL_ERROR while `verify` said OK; an entry filed under `__proto__` or under another symbol's key failed deep in
 * the scanner; `symbol` or `venue` edited blamed the pipeline (LAKEHOUSE_DUPLICATE, SCAN_VENUE); `rows: "999"` gave
 * "it holds 999 rows, the registry says 999"; `asset_type: "bond"`, `status: 5` and the like ran and were copied into
 * candidates.json; an unknown registry version was read as this one. Each is now LAKEHOUSE_REGISTRY (exit 1) naming
 * the entry and the field, for every reader, `verify`, `status` and `repair` included.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { cli } from '../cli/helpers.js';

let tmp: string;
let pristine: string;
const KEY = 'synthetic-spot/PIVEUSDT';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-reg-fields-'));
  pristine = join(tmp, 'pristine');
  expect(cli(['lakehouse', 'seed', '--synthetic', '--symbols', '10', '--days', '120', '--lakehouse', pristine]).code).toBe(0);
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Json = Record<string, unknown>;
let n = 0;
/** A copy of the seeded lakehouse with its registry edited by `edit` (the registry, and KEY's entry). */
function damaged(edit: (reg: Json & { entries: Record<string, Json> }, e: Json) => void): string {
  const lh = join(tmp, `case-${++n}`, 'lh');
  mkdirSync(join(lh, '..'), { recursive: true });
  cpSync(pristine, lh, { recursive: true });
  const reg = JSON.parse(readFileSync(join(lh, 'registry.json'), 'utf8'));
  edit(reg, reg.entries[KEY]);
  writeFileSync(join(lh, 'registry.json'), JSON.stringify(reg));
  return lh;
}

const move = (to: string) => (reg: { entries: Record<string, Json> }) => {
  // Defined, not assigned: `entries.__proto__ = x` would set the object's prototype, not a key.
  Object.defineProperty(reg.entries, to, { value: reg.entries[KEY], enumerable: true, writable: true, configurable: true });
  delete reg.entries[KEY];
};

const CASES: [string, (reg: Json & { entries: Record<string, Json> }, e: Json) => void, RegExp][] = [
  ['source null', (_, e) => (e.source = null), /entry synthetic-spot\/PIVEUSDT: its source null is not a source/],
  ['source of an unknown kind', (_, e) => (e.source = { kind: 'ftp' }), /entry synthetic-spot\/PIVEUSDT: its source\.kind "ftp" is not synthetic, csv or ccxt/],
  ['a synthetic source without its seed', (_, e) => delete (e.source as Json).seed, /its source\.seed \(missing\) is not a whole number/],
  ['filed under __proto__', move('__proto__'), /entry __proto__: its venue and symbol say "synthetic-spot\/PIVEUSDT", not its key/],
  ['filed under another symbol', move('synthetic-spot/XBTUSDT'), /entry synthetic-spot\/XBTUSDT: its venue and symbol say "synthetic-spot\/PIVEUSDT", not its key/],
  ['symbol changed to another entry\'s', (_, e) => (e.symbol = 'MUPEUSDT'), /entry synthetic-spot\/PIVEUSDT: its venue and symbol say "synthetic-spot\/MUPEUSDT", not its key/],
  ['venue null', (_, e) => (e.venue = null), /entry synthetic-spot\/PIVEUSDT: its venue null is not a name/],
  ['rows as a string', (_, e) => (e.rows = String(e.rows)), /its rows "\d+" is not a whole number from 1/],
  ['rows more than its bytes can hold', (_, e) => (e.rows = 1e9), /its rows 1000000000 do not fit in its bytes/],
  ['asset_type bond', (_, e) => (e.asset_type = 'bond'), /its asset_type "bond" is not one of spot, perp, equity, etf/],
  ['status 5', (_, e) => (e.status = 5), /its status 5 is not STABLE or DEGRADED/],
  ['volume_24h "lots"', (_, e) => (e.volume_24h = 'lots'), /its volume_24h "lots" is not a number from 0, or null/],
  ['market_cap_rank 0.5', (_, e) => (e.market_cap_rank = 0.5), /its market_cap_rank 0\.5 is not a whole number from 1/],
  ['lot_size -3', (_, e) => (e.lot_size = -3), /its lot_size -3 is not a positive number, or null/],
  ['min_notional "5"', (_, e) => (e.min_notional = '5'), /its min_notional "5" is not a number from 0, or null/],
  ['sector a number', (_, e) => (e.sector = 7), /its sector 7 is not a text or null/],
  ['a stamp that is a string', (_, e) => (e.stamp = 'x'), /its stamp "x" is not a file stamp/],
  ['a stamp whose inode is a number', (_, e) => ((e.stamp as Json).ino = 5), /its stamp\.ino 5 is not a whole number as a string/],
  ['a stamp whose size is not its bytes', (_, e) => ((e.stamp as Json).size = 1), /its stamp\.size 1 is not its bytes \d+/],
  ['offsets that are a list', (_, e) => (e.offsets = [1, 2]), /its offsets \[1,2\] is not an object of byte offsets/],
  ['an offset that is a string', (_, e) => ((e.offsets as Json).close = '64'), /its offsets\.close "64" is not a byte offset/],
  ['bytes above the limit', (_, e) => (e.bytes = 2 ** 40), /its bytes 1099511627776 is not a whole number from 1 to 1073741824/],
  ['a checksum that is not sha256', (_, e) => (e.checksum = 'md5:00'), /its checksum "md5:00" is not "sha256:" and 64 hex digits/],
  ['reasons that are not texts', (_, e) => (e.reasons = [1]), /its reasons \[1\] is not a list of texts/],
  ['findings missing', (_, e) => delete e.findings, /its findings \(missing\) is not a list of texts/],
  ['first_date after last_date', (_, e) => ([e.first_date, e.last_date] = [e.last_date, e.first_date]), /its first_date \S+ is after its last_date/],
  ['a declared field that is not declarable', (_, e) => (e.declared = { symbol: 'X' }), /its declared field "symbol" is not one a symbols file declares/],
  ['a declared asset_type bond', (_, e) => (e.declared = { asset_type: 'bond' }), /its declared\.asset_type "bond" is not one of/],
  ['an entry that is not an object', (reg) => (reg.entries[KEY] = 'x' as unknown as Json), /entry synthetic-spot\/PIVEUSDT: it is "x", not an object/],
  ['version 99', (reg) => (reg.version = 99), /registry\.json is a version 99 registry; this Fractal reads version 1 only/],
];

describe('a registry entry of the wrong type or key', () => {
  test.each(CASES)('%s: LAKEHOUSE_REGISTRY naming the entry and the field as the registry loads', async (_, edit, message) => {
    const lh = damaged(edit);
    for (const readOnly of [true, false]) {
      const err = await openLakehouse(lh, { readOnly }).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'LAKEHOUSE_REGISTRY', exitCode: 1, message: expect.stringMatching(message) });
    }
  });

  test.each(CASES)('%s: `lakehouse verify` reports it (exit 1), never OK', (_, edit, message) => {
    const lh = damaged(edit);
    const v = cli(['lakehouse', 'verify', '--lakehouse', lh]);
    expect({ code: v.code, stdout: v.stdout }).toEqual({ code: 1, stdout: '' });
    expect(v.stderr).toMatch(/error LAKEHOUSE_REGISTRY: /);
    expect(v.stderr).toMatch(message);
  });

  test.each(CASES.filter(([name]) => ['source null', 'filed under __proto__', 'filed under another symbol', 'symbol changed to another entry\'s', 'venue null', 'rows as a string', 'asset_type bond', 'version 99'].includes(name)))(
    '%s: a run, `status` and `repair` fail with LAKEHOUSE_REGISTRY (exit 1), not a crash or an input error',
    (_, edit, message) => {
      const lh = damaged(edit);
      const pipeline = join(lh, '..', 'p.yaml');
      writeFileSync(pipeline, 'pipeline: selection\nversion: "4.0"\nname: p\nstages:\n  - type: ingestion\n    params: { scanner: lakehouse, lookback_days: 60 }\n  - type: allocation\n    params: { engine: equal_weight }\n');
      for (const args of [['run', pipeline, '--lakehouse', lh, '--out', join(lh, '..', 'runs')], ['lakehouse', 'status', '--lakehouse', lh], ['lakehouse', 'repair', '--lakehouse', lh]]) {
        const r = cli(args);
        expect({ args, code: r.code }).toEqual({ args, code: 1 });
        expect(r.stderr).toMatch(/error LAKEHOUSE_REGISTRY: /);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/INTERNAL_ERROR|STAGE_FAILED|LAKEHOUSE_DUPLICATE|SCAN_VENUE/);
      }
    },
    60_000,
  );

  test('several damaged entries are named together, each with its field', async () => {
    const lh = damaged((reg, e) => {
      e.status = 5;
      (reg.entries['synthetic-spot/MUPEUSDT'] as Json).asset_type = 'bond';
    });
    const err = await openLakehouse(lh).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/entry synthetic-spot\/PIVEUSDT: its status 5/);
    expect(err?.message).toMatch(/entry synthetic-spot\/MUPEUSDT: its asset_type "bond"/);
  });
});

describe('registries a commit writes load as they are', () => {
  test('spot and perp, declared fields, a wide CSV of closes alone, trading rules', async () => {
    const lh = damaged(() => {});
    const csv = join(lh, '..', 'wide.csv');
    writeFileSync(csv, 'date,AAA,BBB\n2024-01-01,1,2\n2024-01-02,1.5,2.5\n2024-01-03,1.2,2.2\n');
    const writer = await openLakehouse(lh);
    await writer.importCsv(csv, { layout: 'wide', venue: 'wide', assetType: 'equity' });
    const symbols = join(lh, '..', 'symbols.csv');
    writeFileSync(symbols, 'symbol,venue,sector,market_cap_rank,lot_size,min_notional,asset_type\nAAA,wide,Tech,3,0.001,5,etf\n');
    await writer.declareSymbols(symbols);
    const reg = (await openLakehouse(lh, { readOnly: true })).registry();
    expect(reg.entries['wide/AAA']).toMatchObject({ asset_type: 'etf', sector: 'Tech', lot_size: 0.001, min_notional: 5, declared: { asset_type: 'etf' }, closes_only: [['2024-01-01', '2024-01-03']] });
    expect(Object.keys(reg.entries)).toHaveLength(16);
    // Keyed by names users choose: no key reaches Object.prototype.
    expect(Object.getPrototypeOf(reg.entries)).toBe(null);
    expect(cli(['lakehouse', 'verify', '--lakehouse', lh]).stdout).toMatch(/^OK: 16 file\(s\) match their checksums/m);
  });
});
