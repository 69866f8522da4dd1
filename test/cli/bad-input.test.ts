/**
 * Bad input, from the user's side (issue 11): a pipeline file, a CSV or a command line, and the exit code, coded
 * message and location it must give, and what must not be on disk afterwards. Items: 1 files outside the allowed
 * roots, 5 odd numbers in CSVs, 7 input errors found before or while running, 8 other holes, 9 degenerate estimates.
 * (Item 2 is test/stages/prototype-names.test.ts; items 3, 4 and 6 are test/cli/faults.test.ts.)
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cli } from './helpers.js';

let root: string; // holds the repository and a folder outside it
let repo: string;
let outside: string;
let lakehouse: string;
const SECRET = 'TOPSECRET-do-not-echo-this-line-anywhere-0123456789-abcdefghijklmnopqrstuvwxyz';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'fractal-bad-'));
  repo = join(root, 'repo');
  outside = join(root, 'outside');
  mkdirSync(join(repo, '.git'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.csv'), `${SECRET},x\n${SECRET},1\n`);
  writeFileSync(join(outside, 'candidates.json'), `[{"symbol": "${SECRET}"}]\n`);
  writeFileSync(join(outside, 'base.yaml'), `# ${SECRET}\npipeline: selection\nversion: "4.0"\nstages: [{ type: ingestion }]\n`);
  lakehouse = join(repo, 'lakehouse');
  const seed = cli(['lakehouse', 'seed', '--synthetic', '--symbols', '20', '--days', '400', '--lakehouse', lakehouse]);
  expect(seed.code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes a pipeline file into the repository and returns its path. */
function pipeline(name: string, stages: string, extra = ''): string {
  const f = join(repo, `${name}.yaml`);
  writeFileSync(f, `pipeline: selection\nversion: "4.0"\nname: ${name}\n${extra}stages:\n${stages}`);
  return f;
}
/** `file:line:col` of the n-th occurrence of `needle` in a file, as a diagnostic prints it (relative to the repository). */
function pos(file: string, needle: string, nth = 1, offset = 0): string {
  const text = readFileSync(file, 'utf8');
  let i = -1;
  for (let k = 0; k < nth; k++) i = text.indexOf(needle, i + 1);
  if (i < 0) throw new Error(`${needle} not in ${file}`);
  i += offset;
  const before = text.slice(0, i).split('\n');
  return `${file.slice(repo.length + 1)}:${before.length}:${before[before.length - 1].length + 1}`;
}
const run = (args: string[], env: Record<string, string> = {}) => cli(args, { cwd: repo, env: { FRACTAL_DATA: '', FRACTAL_LAKEHOUSE: '', ...env } });
const runsOf = (name: string) => (existsSync(join(repo, 'runs', name)) ? readdirSync(join(repo, 'runs', name)) : []);
const output = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr;
/** The single JSON object --json must print. */
const json = (r: { stdout: string }) => JSON.parse(r.stdout) as Record<string, any>;

const LAKEHOUSE_SCAN = '  - type: ingestion\n    params: { scanner: lakehouse, lookback_days: 200 }\n';

describe('1. nothing outside the repository and the declared data roots is read', () => {
  const cases: [string, string, string][] = [
    ['absolute', `  - type: ingestion\n    params:\n      scanner: { name: csv, params: { path: ${'__OUT__/secret.csv'} } }\n`, '__OUT__/secret.csv'],
    ['dotdot', `  - type: ingestion\n    params:\n      scanner: { name: csv, params: { path: ../outside/secret.csv } }\n`, '../outside'],
    ['candidates', `  - type: ingestion\n    params:\n      scanner: lakehouse\n      candidates_path: ${'__OUT__/candidates.json'}\n`, '__OUT__/candidates.json'],
  ];
  test.each(cases)('%s: refused at validate with file:line:col, and nothing of the file is echoed', (name, stages, needle) => {
    const f = pipeline(`out_${name}`, stages.replace('__OUT__', outside));
    const v = run(['validate', f]);
    expect(v.code).toBe(2);
    expect(v.stdout).toContain(`${pos(f, needle.replace('__OUT__', outside))}: error REF_PATH_OUTSIDE_ROOTS`);
    expect(output(v)).not.toContain('TOPSECRET');
    const r = run(['run', f, '--json']);
    expect(r.code).toBe(2);
    expect(json(r).diagnostics.map((d: { code: string }) => d.code)).toEqual(['REF_PATH_OUTSIDE_ROOTS']);
    expect(output(r)).not.toContain('TOPSECRET');
    expect(runsOf(`out_${name}`)).toEqual([]);
  });

  test('a link inside the repository to a file outside it is outside', () => {
    symlinkSync(join(outside, 'secret.csv'), join(repo, 'link.csv'));
    const f = pipeline('out_link', '  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ./link.csv } } }\n');
    const v = run(['validate', f]);
    expect(v.code).toBe(2);
    expect(v.stdout).toContain(`${pos(f, './link.csv')}: error REF_PATH_OUTSIDE_ROOTS`);
    expect(output(v)).not.toContain('TOPSECRET');
  });

  test('a folder inside the repository holding a link to a file outside it is refused at validate (its files are read one by one)', () => {
    const dir = join(repo, 'ohl');
    mkdirSync(dir);
    writeFileSync(join(dir, 'BTCUSDT.csv'), 'date,open,high,low,close,volume\n2024-01-01,1,1,1,1,1\n');
    symlinkSync(join(outside, 'secret.csv'), join(dir, 'SECRETUSDT.csv'));
    const f = pipeline('out_folder_link', '  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ./ohl, layout: ohlcv } } }\n');
    const v = run(['validate', f]);
    expect(v.code).toBe(2);
    expect(v.stdout).toContain(`${pos(f, './ohl')}: error REF_PATH_OUTSIDE_ROOTS path: './ohl' holds a link to files outside the pipeline's repository`);
    expect(v.stdout).toContain('SECRETUSDT.csv');
    expect(output(v)).not.toContain('TOPSECRET');
    const r = run(['run', f, '--json']);
    expect(r.code).toBe(2);
    expect(output(r)).not.toContain('TOPSECRET');
    expect(runsOf('out_folder_link')).toEqual([]);
    // The same folder is read when the link's target is a declared data root.
    expect(run(['validate', f, '--data-root', outside]).code).toBe(0);
  });

  test('a profile, or a pipeline file found in a folder, that is a link to a file outside the repository is named, never read', () => {
    mkdirSync(join(repo, 'profiles'), { recursive: true });
    symlinkSync(join(outside, 'base.yaml'), join(repo, 'profiles', 'evil.yaml'));
    const f = pipeline('profile_link', LAKEHOUSE_SCAN);
    const p = run(['validate', f, '--profile', 'evil']);
    expect(p.code).toBe(2);
    expect(p.stdout).toMatch(/error REF_PROFILE_OUTSIDE_REPO profile 'evil': profiles\/evil\.yaml leads outside .*repo, the folder whose profiles\/ holds it/);
    expect(output(p)).not.toContain('TOPSECRET');
    const dir = join(repo, 'linked');
    mkdirSync(dir);
    writeFileSync(join(dir, 'ok.yaml'), 'pipeline: selection\nversion: "4.0"\nname: ok\nstages:\n  - type: ingestion\n');
    symlinkSync(join(outside, 'base.yaml'), join(dir, 'zz_link.yaml'));
    const v = run(['validate', dir]);
    expect(v.code).toBe(2);
    expect(v.stdout).toMatch(/linked\/zz_link\.yaml:1:1: error FILE_OUTSIDE_REPO .*is a link to a file outside its repository/);
    expect(v.stderr).toContain('2 files checked: 1 invalid');
    expect(output(v)).not.toContain('TOPSECRET');
    // A folder given to validate that is itself a link out of the repository: its files are named, not read.
    symlinkSync(outside, join(repo, 'linked_out'));
    const l = run(['validate', join(repo, 'linked_out')]);
    expect(l.code).toBe(2);
    expect(l.stdout).toMatch(/linked_out\/base\.yaml:1:1: error FILE_OUTSIDE_REPO /);
    expect(output(l)).not.toContain('TOPSECRET');
  });

  test('extends and sleeves outside the repository are refused before they are read', () => {
    const ext = join(repo, 'out_extends.yaml');
    writeFileSync(ext, 'extends: ../outside/base.yaml\nname: out_extends\n');
    const e = run(['validate', ext]);
    expect(e.code).toBe(2);
    expect(e.stdout).toContain(`${pos(ext, '../outside')}: error REF_EXTENDS_OUTSIDE_REPO`);
    expect(output(e)).not.toContain('TOPSECRET');
    const meta = join(repo, 'out_meta.yaml');
    writeFileSync(meta, 'pipeline: meta\nversion: "4.0"\nsleeves:\n  - { name: a, pipeline: ../outside/base.yaml }\nstages: [{ type: meta_returns }, { type: meta_optimize }, { type: meta_flatten }]\n');
    const m = run(['validate', meta]);
    expect(m.code).toBe(2);
    expect(m.stdout).toContain(`${pos(meta, '../outside')}: error REF_SLEEVE_OUTSIDE_REPO`);
    expect(output(m)).not.toContain('TOPSECRET');
  });

  test("an empty --data-root (an unset shell variable) is refused, not taken for the current folder", () => {
    const f = pipeline('empty_root', `  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${join(outside, 'secret.csv')} } } }\n`);
    for (const args of [['validate', f, '--data-root', ''], ['run', f, '--data-root', ' ']]) {
      const r = cli(args, { cwd: outside, env: { FRACTAL_DATA: '', FRACTAL_LAKEHOUSE: '' } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("error CLI_BAD_OPTION: --data-root '' names no folder");
      expect(output(r)).not.toContain('TOPSECRET');
    }
    // An empty entry of FRACTAL_DATA (a trailing ':') is no root either: the file stays outside.
    const e = cli(['validate', f], { cwd: outside, env: { FRACTAL_DATA: ':', FRACTAL_LAKEHOUSE: '' } });
    expect(e.code).toBe(2);
    expect(e.stdout).toContain('REF_PATH_OUTSIDE_ROOTS');
  });

  test('a data root declared outside the file (--data-root, FRACTAL_DATA) lets it be read; an error quotes at most the offending cell, cut', () => {
    const f = pipeline('data_root', `  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${join(outside, 'secret.csv')} } } }\n`);
    for (const r of [run(['run', f, '--data-root', outside]), run(['run', f], { FRACTAL_DATA: outside })]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error CSV_INVALID: ${pos(f, outside)}: Refused`);
      // The header cell is quoted, cut to 40 characters; the rest of the line never is.
      expect(r.stderr).toContain(`"${SECRET.slice(0, 40)}…"`);
      expect(output(r)).not.toContain(SECRET.slice(0, 41));
    }
  });
});

describe('5. one rule for every CSV number, refused with file:line; non-finite values never reach the store', () => {
  const wide = (cell: string) => `date,AAA,BBB\n2024-01-01,10,20\n2024-01-02,11,${cell}\n2024-01-03,12,22\n`;
  test.each(['1e400', '-1e400', 'NaN', 'nan', 'NA', 'null', '-', 'inf', 'Infinity', '0', '-5', '1,5'])('%s is refused at its line, nothing written', (cell) => {
    const dir = mkdtempSync(join(root, 'num-'));
    const csv = join(dir, 'p.csv');
    writeFileSync(csv, wide(cell.includes(',') ? `"${cell}"` : cell));
    const r = run(['lakehouse', 'import', csv, '--lakehouse', join(dir, 'lh')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error CSV_INVALID');
    expect(r.stderr).toContain(`${csv}:3: BBB: bad price ${JSON.stringify(cell)}`);
    expect(r.stderr).toContain('nothing was written');
    expect(existsSync(join(dir, 'lh', 'registry.json'))).toBe(false);
  });

  test('an empty cell is the one way to say missing', () => {
    const dir = mkdtempSync(join(root, 'num-'));
    const csv = join(dir, 'p.csv');
    writeFileSync(csv, 'date,AAA,BBB\n2024-01-01,10,\n2024-01-02,11,\n2024-01-03,12,22\n2024-01-04,12,23\n');
    expect(run(['lakehouse', 'import', csv, '--lakehouse', join(dir, 'lh')]).code).toBe(0);
    const st = json(run(['lakehouse', 'status', '--json', '--lakehouse', join(dir, 'lh')]));
    expect(st.entries.find((e: { symbol: string }) => e.symbol === 'BBB')).toMatchObject({ rows: 2, first_date: '2024-01-03' });
  });

  test('an OHLCV volume that overflows is refused too', () => {
    const dir = mkdtempSync(join(root, 'num-'));
    writeFileSync(join(dir, 'XUSDT.csv'), 'date,open,high,low,close,volume\n2024-01-01,1,1,1,1,5\n2024-01-02,1,1,1,1,1e999\n');
    const r = run(['lakehouse', 'import', dir, '--layout', 'ohlcv', '--lakehouse', join(dir, 'lh')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'XUSDT.csv')}:3: bad volume "1e999": out of range`);
  });
});

describe('7. input errors exit 2 with the hint and the file:line:col of the param', () => {
  test('what the symbols table can tell is refused before the run folder exists, every problem at once', () => {
    const f = pipeline('pre', `${LAKEHOUSE_SCAN.replace('lookback_days: 200', 'lookback_days: 200, as_of: "1990-01-01"')}  - type: allocation\n    params:\n      bounds: [0, 0.01]\n      symbol_bounds: { NOPEUSDT: [0, 0.5] }\n  - type: backtest\n    params: { train_window: 5000 }\n`);
    const r = run(['run', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error AS_OF_OUTSIDE_DATA: ${pos(f, '"1990')}: as_of 1990-01-01 is before the first bar`);
    expect(r.stderr).toContain(`error CAPS_BELOW_BUDGET: ${pos(f, '[0, 0.01]')}: allocation: even all 20 symbols of venue synthetic-spot at their caps hold`);
    expect(r.stderr).toContain(`error UNKNOWN_SYMBOL: ${pos(f, 'NOPEUSDT')}: allocation.symbol_bounds names symbols that are not on venue synthetic-spot: NOPEUSDT`);
    expect(r.stderr).toMatch(/hint: /);
    expect(runsOf('pre')).toEqual([]);
    const j = json(run(['run', f, '--json']));
    expect(j.outcome).toBe('invalid');
    // The train window is not judged against an as-of already refused.
    expect(j.errors.map((e: { code: string }) => e.code).sort()).toEqual(['AS_OF_OUTSIDE_DATA', 'CAPS_BELOW_BUDGET', 'UNKNOWN_SYMBOL']);
    expect(j.errors.every((e: { exit_code: number; location?: unknown }) => e.exit_code === 2 && e.location)).toBe(true);
  });

  test('an as-of after the last bar is refused, not silently moved', () => {
    const f = pipeline('future', LAKEHOUSE_SCAN.replace('lookback_days: 200', 'as_of: "2099-01-01"'));
    const r = run(['run', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error AS_OF_OUTSIDE_DATA: ${pos(f, '"2099')}: as_of 2099-01-01 is after the last bar on venue synthetic-spot (2025-12-31)`);
    expect(runsOf('future')).toEqual([]);
  });

  test('a train window longer than the data', () => {
    const f = pipeline('long_train', `${LAKEHOUSE_SCAN}  - type: allocation\n    params: { engine: equal_weight }\n  - type: backtest\n    params: { train_window: 5000 }\n`);
    const r = run(['run', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error BACKTEST_TOO_SHORT: ${pos(f, '5000')}: venue synthetic-spot has at most 400 days of data`);
    expect(r.stderr).toContain('hint: Lower train_window');
  });

  test('a train window longer than a synthetic market is refused before the run, as on a lakehouse', () => {
    const f = pipeline('long_synthetic', `  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 12, days: 90 } } }\n  - type: allocation\n    params: { engine: equal_weight }\n  - type: backtest\n    params: { train_window: 120 }\n`);
    const r = run(['run', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error BACKTEST_TOO_SHORT: ${pos(f, '120')}: venue synthetic-spot has at most 90 days of data`);
    expect(r.stderr).toContain('nothing was run');
    expect(runsOf('long_synthetic')).toEqual([]);
  });

  test('a param set by a profile or --set is located there', () => {
    mkdirSync(join(repo, 'profiles'), { recursive: true });
    writeFileSync(join(repo, 'profiles', 'tight.yaml'), 'allocation:\n  bounds: [0, 0.02]\n');
    const f = pipeline('located', `${LAKEHOUSE_SCAN}  - type: allocation\n`);
    const p = run(['run', f, '--profile', 'tight']);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain(`error CAPS_BELOW_BUDGET: ${pos(join(repo, 'profiles', 'tight.yaml'), '[0, 0.02]')}:`);
    const s = run(['run', f, '--set', 'stages.allocation.symbol_bounds.NOPE=[0,1]']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('error UNKNOWN_SYMBOL: <command line: --set stages.allocation.symbol_bounds.NOPE=[0,1]>:1:1:');
  });

  test('found only while running (a CSV universe): exit 2 with location and hint, and the failed folder says so', () => {
    const csv = join(repo, 'ten.csv');
    const rows = ['date,A,B,C,D,E,F,G,H,I,J'];
    for (let t = 0; t < 60; t++) rows.push(`${new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10)},${Array.from({ length: 10 }, (_, j) => (100 + j + Math.sin(t * (j + 1))).toFixed(4)).join(',')}`);
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const f = pipeline('runtime', '  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ./ten.csv } } }\n  - type: allocation\n    params: { engine: equal_weight, bounds: [0, 0.05] }\n');
    const r = run(['run', f, '--json']);
    expect(r.code).toBe(2);
    const s = json(r);
    expect(s.outcome).toBe('failed');
    const [file, line, column] = pos(f, '[0, 0.05]').split(':');
    expect(s.error).toMatchObject({ code: 'CAPS_BELOW_BUDGET', exit_code: 2, stage: 'allocation', hint: 'Raise the cap or widen the universe.', location: { file, line: Number(line), column: Number(column) } });
    const [folder] = runsOf('runtime');
    expect(folder).toMatch(/\.failed$/);
    const m = JSON.parse(readFileSync(join(repo, 'runs', 'runtime', folder, 'manifest.json'), 'utf8'));
    expect(m.error).toMatchObject({ code: 'CAPS_BELOW_BUDGET', exit_code: 2, location: { line: Number(line), column: Number(column) } });
    expect(readFileSync(join(repo, 'runs', 'runtime', folder, 'FAILED'), 'utf8')).toContain(`${pos(f, '[0, 0.05]')}:`);
  });
});

describe('8. other holes', () => {
  test('a truncated .csv.gz is CSV_INVALID naming the file', () => {
    const dir = mkdtempSync(join(root, 'gz-'));
    const gz = gzipSync(Buffer.from(`date,AAA\n${Array.from({ length: 500 }, (_, t) => `${new Date(Date.UTC(2020, 0, 1 + t)).toISOString().slice(0, 10)},${100 + t}`).join('\n')}\n`));
    writeFileSync(join(dir, 'p.csv.gz'), gz.subarray(0, gz.length - 40));
    const r = run(['lakehouse', 'import', join(dir, 'p.csv.gz'), '--lakehouse', join(dir, 'lh')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error CSV_INVALID');
    expect(r.stderr).toContain(`${join(dir, 'p.csv.gz')}: not a readable .gz file: it is truncated`);
    expect(r.stderr).not.toContain('internal error');
  });

  test('/dev/zero and endless lines are refused at once, with a clear error', () => {
    const t0 = Date.now();
    const z = run(['lakehouse', 'import', '/dev/zero', '--lakehouse', join(root, 'lhz')]);
    expect(z.code).toBe(2);
    expect(z.stderr).toContain('error CSV_TOO_LARGE: /dev/zero is not a regular file');
    expect(Date.now() - t0).toBeLessThan(10_000);
    const dir = mkdtempSync(join(root, 'long-'));
    writeFileSync(join(dir, 'p.csv'), `date,A\n2024-01-01,${'9'.repeat(2 << 20)}\n`);
    const l = run(['lakehouse', 'import', join(dir, 'p.csv'), '--lakehouse', join(dir, 'lh')]);
    expect(l.code).toBe(2);
    expect(l.stderr).toContain(`${join(dir, 'p.csv')}:2: the line is longer than 1048576 characters`);
  });

  test('a 128-character symbol is refused for its length', () => {
    const dir = mkdtempSync(join(root, 'name-'));
    writeFileSync(join(dir, 'p.csv'), `date,${'A'.repeat(128)}\n2024-01-01,1\n2024-01-02,2\n`);
    const r = run(['lakehouse', 'import', join(dir, 'p.csv'), '--lakehouse', join(dir, 'lh')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is 128 characters long, above the limit of 120');
  });

  test('a stage type twice is refused at validate (two backtests, two allocations)', () => {
    const f = pipeline('twice', `${LAKEHOUSE_SCAN}  - type: allocation\n  - type: allocation\n    params: { engine: equal_weight }\n  - type: backtest\n  - type: backtest\n`);
    const v = run(['validate', f]);
    expect(v.code).toBe(2);
    expect(v.stdout).toContain(`${pos(f, 'allocation', 2)}: error GRAPH_DUPLICATE_STAGE stage 'allocation' appears twice (stages 2 and 3)`);
    expect(v.stdout).toContain(`${pos(f, 'backtest', 2)}: error GRAPH_DUPLICATE_STAGE stage 'backtest' appears twice (stages 4 and 5)`);
  });

  test('--json prints exactly one JSON object whatever happens', () => {
    const good = pipeline('json_ok', `${LAKEHOUSE_SCAN}  - type: allocation\n    params: { engine: equal_weight }\n`);
    const failing = pipeline('json_fail', `${LAKEHOUSE_SCAN}  - type: allocation\n    params: { engine: min_variance }\n`.replace('lookback_days: 200', 'lookback_days: 3'));
    const planned = join(repo, 'json_planned.yaml');
    writeFileSync(planned, 'pipeline: tournament\nversion: "4.0"\n');
    const cases: [string[], number, string][] = [
      [['run', good, '--json'], 0, 'succeeded'],
      [['run', failing, '--json'], 1, 'failed'],
      [['run', join(repo, 'nope.yaml'), '--json'], 2, 'invalid'],
      [['run', planned, '--json'], 2, 'invalid'],
      [['run', good, '--json', '--lakehouse', join(root, 'nowhere')], 2, 'invalid'],
      [['run', good, '--json', '--bogus'], 2, 'error'],
      [['runs', '--json', '--out', join(root, 'no-runs')], 2, 'error'],
      [['trace', repo, 'X', '--json'], 2, 'error'],
    ];
    for (const [args, code, outcome] of cases) {
      const r = run(args);
      expect({ args: args.join(' '), code: r.code }).toEqual({ args: args.join(' '), code });
      const j = json(r); // throws unless stdout is exactly one JSON value
      expect({ args: args.join(' '), outcome: j.outcome }).toEqual({ args: args.join(' '), outcome });
    }
  });

  test('trace of a symbol the run never saw points at the run, not at plugins', () => {
    const f = pipeline('traced', `${LAKEHOUSE_SCAN}  - type: allocation\n    params: { engine: equal_weight }\n`);
    const r = run(['run', f]);
    expect(r.code).toBe(0);
    const t = run(['trace', r.stdout.trim(), 'NOPE']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('error SYMBOL_NOT_IN_RUN');
    expect(t.stderr).toMatch(/is not in the universe of run .*: discovery never saw it/);
    expect(t.stderr).toMatch(/hint: .*candidates\.json/);
    expect(t.stderr).not.toContain('pipeline-run plugins');
  });

  test('a manifest that is valid JSON but not a run\'s ({}, []) spoils nothing: runs lists it as unreadable, compare and trace refuse it (NOT_A_RUN)', () => {
    const f = pipeline('damaged_manifest', `${LAKEHOUSE_SCAN}  - type: allocation\n    params: { engine: equal_weight }\n`);
    const good = run(['run', f]);
    expect(good.code).toBe(0);
    const bad = run(['run', f]).stdout.trim();
    for (const text of ['{}', '[]']) {
      writeFileSync(join(bad, 'manifest.json'), text);
      const index = run(['runs', '--out', join(repo, 'runs'), '--json']);
      expect(index.code).toBe(0);
      const rows = JSON.parse(index.stdout) as { run_id: string; outcome: string }[];
      expect(rows.find((r) => bad.endsWith(r.run_id))?.outcome).toBe('unreadable manifest');
      expect(rows.some((r) => good.stdout.trim().endsWith(r.run_id) && r.outcome === 'succeeded')).toBe(true);
      const c = run(['compare', good.stdout.trim(), bad, '--format', 'json']);
      expect(c.code).toBe(2);
      expect(json(c).error).toMatchObject({ code: 'NOT_A_RUN', message: expect.stringContaining("manifest.json is not a run's manifest") });
      const t = run(['trace', bad, 'AUSDT']);
      expect(t.code).toBe(2);
      expect(t.stderr).toContain('error NOT_A_RUN');
      expect(output(c) + output(t) + output(index)).not.toMatch(/INTERNAL_ERROR|undefined/);
    }
    // --format json on a failure prints one JSON object too, as --json does.
    const missing = run(['compare', '/etc', '/tmp', '--format', 'json']);
    expect(missing.code).toBe(2);
    expect(json(missing)).toMatchObject({ outcome: 'error', error: { code: 'NOT_A_RUN' } });
  });

  test('--set may name a symbol called __proto__ (an own key, honoured)', () => {
    const csv = join(repo, 'proto.csv');
    const names = ['__proto__', 'constructor', 'AAA', 'BBB'];
    const rows = [`date,${names.join(',')}`];
    for (let t = 0; t < 80; t++) rows.push(`${new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10)},${names.map((_, j) => (50 + 10 * j + 3 * Math.sin(t / (j + 2))).toFixed(4)).join(',')}`);
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const f = pipeline('proto_set', '  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ./proto.csv } } }\n  - type: allocation\n    params: { engine: min_variance }\n');
    const r = run(['run', f, '--json', '--set', 'stages.allocation.symbol_bounds.__proto__=[0.3,0.3]']);
    expect(r.code).toBe(0);
    const s = json(r);
    const w = JSON.parse(readFileSync(join(s.folder, 'weights.json'), 'utf8')) as { symbol: string; weight: number }[];
    expect(w.find((x) => x.symbol === '__proto__')!.weight).toBeCloseTo(0.3, 9);
    expect(s.config_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(readFileSync(join(s.folder, 'manifest.json'), 'utf8')).config.stages[1].params.symbol_bounds).toEqual(JSON.parse('{"__proto__":[0.3,0.3]}'));
  });
});

describe('9. degenerate estimates are refused or fall back, with the reason in the audit', () => {
  test('lookback_days 2 on 20 assets: min_variance refuses (exit 1), a declared fallback takes over', () => {
    const alone = pipeline('degenerate', `${LAKEHOUSE_SCAN.replace('lookback_days: 200', 'lookback_days: 2')}  - type: allocation\n    params: { engine: min_variance }\n`);
    const r = run(['run', alone, '--json']);
    expect(r.code).toBe(1);
    const s = json(r);
    expect(s.error.code).toBe('TOO_FEW_OBSERVATIONS');
    expect(s.error.message).toMatch(/min_variance needs a covariance matrix, and 2 day\(s\) of returns for [3-9]\d* assets do not determine one/);
    expect(s.error.hint).toContain('Lengthen lookback_days');
    const fb = pipeline('degenerate_fb', `${LAKEHOUSE_SCAN.replace('lookback_days: 200', 'lookback_days: 2')}  - type: allocation\n    params: { engine: min_variance, fallback: [hrp, equal_weight] }\n`);
    const ok = run(['run', fb, '--json']);
    expect(ok.code).toBe(0);
    const folder = json(ok).folder;
    const events = readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const failed = events.filter((e) => e.event === 'engine_failed');
    expect(failed.map((e) => e.data.engine)).toEqual(['min_variance', 'hrp']);
    expect(failed[0].data.attempts[0].code).toBe('TOO_FEW_OBSERVATIONS');
    expect(events.find((e) => e.event === 'fallback_used').data).toEqual({ requested: 'min_variance', used: 'equal_weight', code: 'TOO_FEW_OBSERVATIONS', error: expect.stringContaining('min_variance needs a covariance matrix') });
    expect(JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')).allocation.engine).toBe('equal_weight');
    // And on the console, where a person running it sees it: the run succeeded, but not with the engine asked for.
    const said = run(['run', fb]);
    expect(said.code).toBe(0);
    expect(said.stderr).toMatch(/allocation: min_variance gave no usable weights \(TOO_FEW_OBSERVATIONS: min_variance needs a covariance matrix.*\); the fallback equal_weight decided/);
  });

  test('a zero budget that can only allocate nothing is refused before the run (test/stages/carry-costs.test.ts runs a dollar-neutral one)', () => {
    const f = pipeline('zero_budget', `${LAKEHOUSE_SCAN}  - type: allocation\n    params: { engine: equal_weight, budget: 0 }\n`);
    const r = run(['run', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error ZERO_BUDGET: ${pos(f, 'budget: 0', 1, 8)}: allocation: a budget of 0 where every bound allows 0 allocates nothing`);
    expect(runsOf('zero_budget')).toEqual([]);
    // Shorts allowed but not forced: all-zero weights still satisfy everything; refused too.
    const loose = pipeline('loose_budget', `${LAKEHOUSE_SCAN}  - type: allocation\n    params: { engine: min_variance, budget: 0, bounds: [-0.2, 0.2] }\n`);
    expect(run(['run', loose]).stderr).toContain('error ZERO_BUDGET');
  });
});
