/**
 * Errors reaching a program through the API name the API's options, not the command line's flags (src/api/boundary.ts,
 * option-names.ts): a program importing the package's entry point (the built bundle) is told to set `lakehouse` or
 * `out`, while `pipeline-run` for the same mistake still says `--lakehouse` and `--out`. The codes and exit codes are
 * the same either way.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERRORS } from '../../src/core/error-catalogue.js';
import { cli, repo } from '../cli/helpers.js';
import { tinySelection } from '../tiny-pipelines.js';

/** A flag outside backticks (a command in backticks is one to run in a shell, flags and all). */
const flagsOutsideCode = (text: string) => text.split(/`[^`\n]*`/).flatMap((part) => part.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? []);

let dir: string;
let file: string;
let tiny: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fractal-api-names-'));
  file = join(dir, 'a-file');
  writeFileSync(file, 'not a folder\n');
  tiny = join(dir, 'tiny.yaml');
  writeFileSync(tiny, tinySelection());
  // A pipeline whose own ranker throws (PLUGIN_FAILED): plugin modules load from inside the pipeline's repository.
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, 'boom.js'), "export default class Boom {\n  static meta = { kind: 'ranker', name: 'boom', description: 'throws', params: { type: 'object', additionalProperties: false, properties: {} } };\n  score() {\n    throw new Error('boom');\n  }\n}\n");
  writeFileSync(join(dir, 'boom.yaml'), tinySelection('boom').replace('version: "4.0"\n', 'version: "4.0"\nplugins: [./boom.js]\n').replace('ranker: mps', 'ranker: boom'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Caught {
  case: string;
  fractal: boolean;
  code: string;
  exitCode: number;
  message: string;
  hint?: string;
}

/** The cases below, run by a program that imports the package's entry point (the built bundle) as a user's does. */
function fromProgram(): Record<string, Caught> {
  const script = join(dir, 'program.mjs');
  const cases = {
    lakehouseIsAFile: `openLakehouse(${JSON.stringify(file)})`,
    runsRootMissing: `listRuns(${JSON.stringify(join(dir, 'no-runs'))})`,
    pruneRootMissing: `Promise.resolve().then(() => pruneRuns(${JSON.stringify(join(dir, 'no-runs'))}))`,
    outUnderAFile: `run(${JSON.stringify(tiny)}, { out: ${JSON.stringify(join(file, 'runs'))}, workers: false })`,
    emptyDataRoot: `validate([${JSON.stringify(tiny)}], { dataRoot: [''] })`,
    noRedis: 'queueStatus({})',
    // A method of a lakehouse handle: its writer's option is named, not the seed command's flag.
    seedTooFewSymbols: `openLakehouse(${JSON.stringify(join(dir, 'lh'))}, { writable: true }).then((lh) => lh.seedSynthetic({ symbols: 3 }))`,
    // Not thrown: a run refused by its preflight returns its errors, a failed run its summary's error.
    runLakehouseIsAFile: `run(${JSON.stringify(join(repo, 'pipelines', 'crypto_long.yaml'))}, { lakehouse: ${JSON.stringify(file)}, out: ${JSON.stringify(join(dir, 'runs'))} }).then((r) => { throw new FractalError(r.errors[0].code, r.errors[0].message, { hint: r.errors[0].hint }); })`,
    runLakehouseMissing: `run(${JSON.stringify(join(repo, 'pipelines', 'crypto_long.yaml'))}, { lakehouse: ${JSON.stringify(join(dir, 'no-lakehouse'))}, out: ${JSON.stringify(join(dir, 'runs'))} }).then((r) => { throw new FractalError(r.errors[0].code, r.errors[0].message, { hint: r.errors[0].hint }); })`,
    failedRun: `run(${JSON.stringify(join(dir, 'boom.yaml'))}, { out: ${JSON.stringify(join(dir, 'runs'))}, workers: false }).then((r) => { throw new FractalError(r.summary.error.code, r.summary.error.message, { hint: r.summary.error.hint }); })`,
  };
  writeFileSync(
    script,
    `import { FractalError, listRuns, openLakehouse, pruneRuns, queueStatus, run, validate } from ${JSON.stringify(join(repo, 'dist', 'bundle', 'index.js'))};
const out = {};
for (const [name, call] of Object.entries({ ${Object.entries(cases).map(([k, v]) => `${k}: () => ${v}`).join(',\n  ')} })) {
  try {
    await call();
    out[name] = null;
  } catch (e) {
    out[name] = { case: name, fractal: e instanceof FractalError, code: e.code, exitCode: e.exitCode, message: e.message, hint: e.hint };
  }
}
console.log(JSON.stringify(out));
`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FRACTAL_REDIS_URL;
  delete env.FRACTAL_LAKEHOUSE;
  const r = spawnSync(process.execPath, [script], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, Caught>;
}

test("a program's errors name the API's options where the command line's name its flags; the codes are the same", () => {
  const got = fromProgram();
  const expected: [string, string, RegExp][] = [
    ['lakehouseIsAFile', 'LAKEHOUSE_NOT_A_FOLDER', /Point openLakehouse's `dir` \/ FRACTAL_LAKEHOUSE at a folder/],
    ['runsRootMissing', 'NO_RUNS', /point `out` at the runs root/],
    ['pruneRootMissing', 'NO_RUNS', /point `out` at the runs root/],
    ['outUnderAFile', 'OUT_NOT_WRITABLE', /^`out` must be a folder you can write to/],
    ['emptyDataRoot', 'CLI_BAD_OPTION', /leave `dataRoot` out/],
    ['noRedis', 'QUEUE_NO_REDIS', /Pass `redis: 'redis:\/\/host:6379'` or set FRACTAL_REDIS_URL/],
    // The code openLakehouse (and `lakehouse status`) gives for the same path: a run said LAKEHOUSE_MISSING.
    ['runLakehouseIsAFile', 'LAKEHOUSE_NOT_A_FOLDER', /Point `lakehouse` \/ FRACTAL_LAKEHOUSE at a folder/],
    ['runLakehouseMissing', 'LAKEHOUSE_MISSING', /or point `lakehouse` \/ FRACTAL_LAKEHOUSE at it/],
  ];
  for (const [name, code, hint] of expected) {
    const e = got[name]!;
    expect({ name, code: e?.code, fractal: e?.fractal, exitCode: e?.exitCode }).toEqual({ name, code, fractal: true, exitCode: ERRORS[code as keyof typeof ERRORS].exit });
    expect({ name, hint: e.hint }).toEqual({ name, hint: expect.stringMatching(hint) });
    expect({ name, flags: [...flagsOutsideCode(e.message), ...flagsOutsideCode(e.hint ?? '')] }).toEqual({ name, flags: [] });
  }
  expect(got.emptyDataRoot!.message).toMatch(/^`dataRoot` '' names no folder/);
  expect(got.noRedis!.message).toMatch(/pass `redis: 'redis:\/\/host:port'`/);
  expect(got.seedTooFewSymbols).toMatchObject({ code: 'SYNTHETIC_SYMBOLS', fractal: true, message: expect.stringMatching(/^`symbols` must be an integer from 8/) });
  // A failed run's summary: the stack is in its FAILED file, as the hint now says, and no --debug.
  expect(got.failedRun).toMatchObject({ code: 'PLUGIN_FAILED', hint: expect.stringContaining("(a failed run's FAILED file holds the whole stack)") });
  expect(got.failedRun!.hint).not.toContain('--debug');
  // The command the hint gives to fill a lakehouse is one to run in a shell: it keeps its flags.
  expect(got.runLakehouseMissing!.hint).toContain('`pipeline-run lakehouse seed --synthetic`');
});

test('the command line, for the same mistakes, still names its flags', () => {
  const env = { FRACTAL_REDIS_URL: '' };
  const cases: [string[], string][] = [
    [['lakehouse', 'status', '--lakehouse', file], 'hint: Point --lakehouse / FRACTAL_LAKEHOUSE at a folder.'],
    [['runs', '--out', join(dir, 'no-runs')], 'hint: Run a pipeline first, or point --out at the runs root.'],
    [['run', tiny, '--out', join(file, 'runs')], 'hint: --out must be a folder you can write to (it is created when missing).'],
    [['validate', '--data-root', '', tiny], "error CLI_BAD_OPTION: --data-root '' names no folder"],
    [['queue', 'status'], 'hint: Pass --redis redis://host:6379 or set FRACTAL_REDIS_URL.'],
    [['run', join(repo, 'pipelines', 'crypto_long.yaml'), '--lakehouse', file, '--out', join(dir, 'runs')], 'hint: Point --lakehouse / FRACTAL_LAKEHOUSE at a folder.'],
    [['run', join(repo, 'pipelines', 'crypto_long.yaml'), '--lakehouse', join(dir, 'no-lakehouse'), '--out', join(dir, 'runs')], 'or point --lakehouse / FRACTAL_LAKEHOUSE at it.'],
    [['run', join(dir, 'boom.yaml'), '--out', join(dir, 'runs')], '(`--debug` prints the whole stack)'],
  ];
  for (const [args, text] of cases) {
    const r = cli(args, { env });
    expect({ args, failed: r.code !== 0, has: r.stderr.includes(text) }).toEqual({ args, failed: true, has: true });
  }
});
