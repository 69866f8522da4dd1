/**
 * A damaged or planted lakehouse never makes Fractal touch a file outside it (found by an adversarial review): a
 * commit journal that names paths out of the root is refused before any rename (every writer replays it), and a
 * registry entry whose file leaves the root, or whose dates are not dates, is LAKEHOUSE_REGISTRY for every reader,
 * verify included, instead of opening the outside file or reading as a venue with no days.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../cli/helpers.js';

let tmp: string;
let pristine: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-damaged-'));
  pristine = join(tmp, 'pristine');
  expect(cli(['lakehouse', 'seed', '--synthetic', '--symbols', '10', '--days', '120', '--lakehouse', pristine]).code).toBe(0);
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the seeded lakehouse, with a file beside it that nothing may touch. */
function copy(name: string): { lh: string; victim: string } {
  const lh = join(tmp, name, 'lh');
  mkdirSync(join(tmp, name), { recursive: true });
  cpSync(pristine, lh, { recursive: true });
  const victim = join(tmp, name, 'victim.txt');
  writeFileSync(victim, 'not the lakehouse\'s\n');
  return { lh, victim };
}
const verify = (lh: string) => cli(['lakehouse', 'verify', '--lakehouse', lh]);

describe('a commit journal', () => {
  test.each([
    ['a path out of the root', [['../victim.txt', '../moved.txt']]],
    ['an absolute path', [['/tmp/x.tmp-1', 'registry.json']]],
    ['a final path out of the root', [['spot/A.arrow.tmp-1', '../victim.txt']]],
    ['a rename that is not a commit\'s temporary file', [['registry.json', 'symbols.json']]],
    ['entries that are not paths', [[1, 2]]],
  ])('naming %s is refused, nothing renamed (LAKEHOUSE_JOURNAL, exit 1)', (_, renames) => {
    const { lh, victim } = copy(`journal-${Math.random().toString(36).slice(2)}`);
    const registry = readFileSync(join(lh, 'registry.json'));
    writeFileSync(join(lh, 'journal.json'), JSON.stringify({ started_at: 'x', pid: 1, renames }));
    const r = verify(lh);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error LAKEHOUSE_JOURNAL: .*journal\.json is damaged: it names /);
    expect(r.stderr).not.toMatch(/INTERNAL_ERROR/);
    expect(readFileSync(victim, 'utf8')).toBe('not the lakehouse\'s\n');
    expect(existsSync(join(lh, '..', 'moved.txt'))).toBe(false);
    expect(readFileSync(join(lh, 'registry.json'))).toEqual(registry);
  });
});

describe('a registry entry', () => {
  const damage = (lh: string, change: (e: Record<string, unknown>) => void) => {
    const reg = JSON.parse(readFileSync(join(lh, 'registry.json'), 'utf8'));
    change(Object.values(reg.entries)[0] as Record<string, unknown>);
    writeFileSync(join(lh, 'registry.json'), JSON.stringify(reg));
  };
  test.each([
    ['whose file leaves the root', (e: Record<string, unknown>) => (e.file = '../../../../../../etc/passwd'), /its file "\.\.\/.*etc\/passwd" is not a path inside the lakehouse/],
    ['whose file is absolute', (e: Record<string, unknown>) => (e.file = '/etc/passwd'), /its file "\/etc\/passwd" is not a path inside the lakehouse/],
    ['whose first date is not a date', (e: Record<string, unknown>) => (e.first_date = 'not-a-date'), /its first_date "not-a-date" is not a date/],
    ['whose last date does not exist', (e: Record<string, unknown>) => (e.last_date = '2099-99-99'), /its last_date "2099-99-99" is not a date/],
  ])('%s: LAKEHOUSE_REGISTRY for verify and for a run, the outside file never opened', (_, change, message) => {
    const { lh } = copy(`registry-${Math.random().toString(36).slice(2)}`);
    damage(lh, change);
    const v = verify(lh);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/error LAKEHOUSE_REGISTRY: .*registry\.json is damaged: entry \S+: /);
    expect(v.stderr).toMatch(message);
    const pipeline = join(lh, '..', 'p.yaml');
    writeFileSync(pipeline, 'pipeline: selection\nversion: "4.0"\nname: p\nstages:\n  - type: ingestion\n    params: { scanner: lakehouse, lookback_days: 60 }\n  - type: allocation\n    params: { engine: equal_weight }\n');
    const r = cli(['run', pipeline, '--lakehouse', lh, '--out', join(lh, '..', 'runs')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error LAKEHOUSE_REGISTRY: /);
    expect(r.stderr).not.toMatch(/root:x:0|BACKTEST_TOO_SHORT|INTERNAL_ERROR/);
  });

  test('registry.json replaced by a folder: LAKEHOUSE_REGISTRY, not INTERNAL_ERROR', () => {
    const { lh } = copy('registry-folder');
    rmSync(join(lh, 'registry.json'));
    mkdirSync(join(lh, 'registry.json'));
    const v = verify(lh);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/error LAKEHOUSE_REGISTRY: .*registry\.json is unreadable: a folder, not a file/);
  });
});
