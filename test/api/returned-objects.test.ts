/**
 * The API's boundary (src/api/boundary.ts) covers the objects its functions return, not only the functions: a
 * lakehouse handle's returns panel and the BullMQ executors report errors in the API's words (`openLakehouse`'s
 * `dir`, `out`) where the modules behind them name the command line's flags (`--lakehouse`, `--out`), with the
 * same codes and exit codes. The data they return is the same, not wrapped. What a program sees end to end for the
 * functions themselves: errors-name-options.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify, types } from 'node:util';
import { apiFunction, isApiFunction } from '../../src/api/boundary.js';
import { FractalError } from '../../src/core/errors.js';
import { repo } from '../cli/helpers.js';
import { RedisServer } from '../distributed/harness.js';
import { tinySelection, tinySweep } from '../tiny-pipelines.js';

const BUNDLE = JSON.stringify(join(repo, 'dist', 'bundle', 'index.js'));

/** A flag outside backticks (a command in backticks is one to run in a shell, flags and all). */
const flagsOutsideCode = (text: string) => text.split(/`[^`\n]*`/).flatMap((part) => part.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? []);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fractal-api-returned-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A program importing the package's entry point (the built bundle), as a user's does; what it prints, as JSON. */
async function program(name: string, body: string, args: string[] = []): Promise<Record<string, unknown>> {
  const script = join(dir, `${name}.mjs`);
  writeFileSync(script, `import * as api from ${BUNDLE};\nimport { types } from 'node:util';\nconst caught = (e) => ({ fractal: e instanceof api.FractalError, code: e.code, exitCode: e.exitCode, message: e.message, hint: e.hint, cause: e.cause?.message });\n${body}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FRACTAL_REDIS_URL;
  delete env.FRACTAL_LAKEHOUSE;
  const { stdout } = await promisify(execFile)(process.execPath, [script, ...args], { cwd: dir, env, encoding: 'utf8' });
  return JSON.parse(stdout) as Record<string, unknown>;
}

test("a lakehouse handle's returns panel: its readers' errors name openLakehouse's `dir`; what they read is the handle's, not wrapped", async () => {
  const got = await program(
    'panel',
    `const lh = await api.openLakehouse('lh', { writable: true });
await lh.seedSynthetic({ symbols: 8, days: 200 });
const venue = lh.symbols()[0].venue;
const symbols = lh.symbols().filter((r) => r.venue === venue).map((r) => r.symbol);
const days = await lh.readDates({ symbols, venue, end: lh.symbols()[0].last_date, toxicThreshold: 5 });
const req = { symbols, venue, end: days[days.length - 1], lookbackDays: 30, toxicThreshold: 5 };
const panel = await lh.returnsPanel(venue, symbols, 5);
const fromPanel = await panel.readReturns(req);
const fromHandle = await lh.readReturns(req);
const prices = await panel.readPrices(req);
// A request whose symbols cannot be read: the coded error raised inside the reader's call (as a program's own code,
// or a reader's, may raise) leaves it through the boundary.
const unreadable = { ...req, get symbols() { throw new api.FractalError('LAKEHOUSE_MISSING', 'no lakehouse here: point --lakehouse at one', { cause: new Error('the cause'), hint: 'Pass --lakehouse, or set FRACTAL_LAKEHOUSE.' }); } };
const out = {
  same: panel === (await lh.returnsPanel(venue, symbols, 5)),
  venue: panel.venue,
  values: JSON.stringify([...fromPanel.values]) === JSON.stringify([...fromHandle.values]) && fromPanel.values.length > 0,
  typed: fromPanel.values instanceof Float64Array && fromPanel.dates instanceof Int32Array && prices.close instanceof Float64Array,
  proxies: [fromPanel, fromPanel.values, fromPanel.symbols, prices, prices.close].filter((x) => types.isProxy(x)).length,
};
for (const [name, call] of Object.entries({ readReturns: () => panel.readReturns(unreadable), readDates: () => panel.readDates(unreadable), readPrices: () => panel.readPrices(unreadable), readToxicBars: () => panel.readToxicBars(unreadable) })) {
  out[name] = await call().then(() => null, caught);
}
console.log(JSON.stringify(out));`,
  );
  expect(got).toMatchObject({ same: true, venue: expect.any(String), values: true, typed: true, proxies: 0 });
  for (const name of ['readReturns', 'readDates', 'readPrices', 'readToxicBars']) {
    expect({ name, error: got[name] }).toEqual({
      name,
      error: { fractal: true, code: 'LAKEHOUSE_MISSING', exitCode: 2, message: "no lakehouse here: point openLakehouse's `dir` at one", hint: "Pass openLakehouse's `dir`, or set FRACTAL_LAKEHOUSE.", cause: 'the cause' },
    });
  }
});

test("the BullMQ executors a program is given: a worker's refusal names `out`, not --out, whether it is a cell's or a sleeve's", async () => {
  const server = new RedisServer(mkdtempSync(join(dir, 'redis-')));
  try {
    await server.start();
    // The worker's runs root has another identity than the submitter's: every job it takes is refused, at once.
    writeFileSync(join(dir, 'tiny.yaml'), tinySelection());
    writeFileSync(join(dir, 'sweep.yaml'), tinySweep);
    const got = await program(
      'executors',
      `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
const redis = process.argv[2];
const submitter = resolve('runs');
const elsewhere = resolve('worker-runs');
mkdirSync(join(elsewhere, '.jobs'), { recursive: true });
writeFileSync(join(elsewhere, '.jobs', 'ROOT'), 'another-root\\n');
const stop = new AbortController();
let ready;
const started = new Promise((r) => (ready = r));
const worker = api.startWorker({ redis, lakehouse: resolve('lh'), out: elsewhere, signal: stop.signal, handleSignals: false, log: (m) => /^worker /.test(m) && ready() });
await started;
const q = await api.bullmqExecutors({ redis });
const task = (name) => ({ name, kind: 'selection', file: resolve('child.yaml'), expectHash: name.repeat(64), key: null, outRoot: join(submitter, 'parent'), cacheRoot: submitter, lakehousePath: resolve('lh') });
const out = { identities: [q.cellExecutor.identities, q.sleeveExecutor.identities] };
out.cell = await q.cellExecutor.run([task('c')], { threads: 1 }).then(() => null, caught);
out.sleeve = await q.sleeveExecutor.run([task('s')], { threads: 1 }).then(() => null, caught);
// Handed to run(): the runner calls them itself; the run folder keeps the command line's words, what run() returns
// is in the API's.
const sweep = await api.run(resolve('sweep.yaml'), { ...q, out: 'runs', workers: false });
out.run = { outcome: sweep.outcome, error: sweep.summary?.error };
out.failedFile = readFileSync(join(sweep.summary.folder, 'FAILED'), 'utf8');
out.closed = await q.close().then(() => true, caught);
stop.abort();
out.worker = await worker;
console.log(JSON.stringify(out));`,
      [server.url],
    );
    expect(got).toMatchObject({ identities: [true, true], closed: true, worker: 0 });
    for (const [role, name] of [['cell', 'c'], ['sleeve', 's']] as const) {
      const e = got[role] as { fractal: boolean; code: string; exitCode: number; message: string; hint: string };
      expect({ role, fractal: e.fractal, code: e.code, exitCode: e.exitCode }).toEqual({ role, fractal: true, code: 'QUEUE_OUT_MISMATCH', exitCode: 1 });
      expect(e.message).toMatch(new RegExp(`^${role} ${name}: this worker's \`out\` .*worker-runs is not the submitter's runs root \\(it holds another runs root's identity\\)`));
      expect(e.hint).toBe("The submitter's `out` and every worker's `out` must be the same shared folder (docs/distributed.md).");
      expect({ role, flags: [...flagsOutsideCode(e.message), ...flagsOutsideCode(e.hint)] }).toEqual({ role, flags: [] });
    }
    expect(got.run).toMatchObject({ outcome: 'failed', error: { code: 'QUEUE_OUT_MISMATCH', message: expect.stringMatching(/^cell \S+: this worker's `out` /) } });
    expect(got.failedFile).toMatch(/QUEUE_OUT_MISMATCH/);
    expect(got.failedFile).toMatch(/this worker's --out /);
  } finally {
    await server.stop('SIGKILL');
  }
}, 120_000);

/** What the boundary must keep of a class instance it wraps: its class, private fields, accessors and `this`. */
class Reader {
  #rows: number[];
  static made = 0;
  constructor(rows: number[]) {
    this.#rows = rows;
    Reader.made++;
  }
  get count(): number {
    return this.#rows.length;
  }
  set count(n: number) {
    this.#rows = this.#rows.slice(0, n);
  }
  rows(): number[] {
    return this.#rows;
  }
  values(): Float64Array {
    return Float64Array.from(this.#rows);
  }
  self(): this {
    return this;
  }
  async read(at: number): Promise<number> {
    if (!(at < this.#rows.length)) throw new FractalError('OUT_NOT_WRITABLE', `row ${at} of ${this.count}: point --out elsewhere`, { cause: new Error('the cause') });
    return this.#rows[at];
  }
}

test('a class instance a function returns keeps its class, private fields, accessors and `this`; its methods rewrite errors; data is not wrapped', async () => {
  const rows = [1, 2, 3];
  const make = apiFunction('run', (r: number[]) => new Reader(r));
  const reader = make(rows);
  expect(types.isProxy(reader)).toBe(true);
  expect(reader).toBeInstanceOf(Reader);
  expect(isApiFunction(reader.read)).toBe(true);
  expect(reader.read).toBe(reader.read);
  // Private fields through the methods and accessors; `this` is the object, and the same wrapper comes back for it.
  await expect(reader.read(1)).resolves.toBe(2);
  expect(reader.count).toBe(3);
  expect(reader.self()).toBe(reader);
  const { read } = reader;
  await expect(read(0)).resolves.toBe(1);
  reader.count = 2;
  expect(reader.count).toBe(2);
  // What the methods return as data is the object's own: the array itself, a typed array unwrapped.
  expect(reader.rows()).toEqual([1, 2]);
  expect(types.isProxy(reader.rows())).toBe(false);
  const values = reader.values();
  expect(types.isProxy(values)).toBe(false);
  expect(values).toBeInstanceOf(Float64Array);
  // An error: the same code, exit code and cause, in the API's words.
  const err = (await reader.read(5).catch((e: unknown) => e)) as FractalError;
  expect(err).toBeInstanceOf(FractalError);
  expect({ code: err.code, exitCode: err.exitCode, message: err.message, hint: err.hint, cause: (err.cause as Error).message }).toEqual({
    code: 'OUT_NOT_WRITABLE',
    exitCode: 2,
    message: 'row 5 of 2: point `out` elsewhere',
    hint: '`out` must be a folder you can write to (it is created when missing).',
    cause: 'the cause',
  });
  // Data a function returns is the same value; a class it returns (defineRanker's) is the class itself.
  const data = { a: [1], b: new Int32Array(2), c: { d: 1 } };
  expect(apiFunction('run', () => data)()).toBe(data);
  const typed = new Float64Array(3);
  expect(apiFunction('run', () => typed)()).toBe(typed);
  expect(apiFunction('run', () => Reader)()).toBe(Reader);
});

test("a plain object with methods is wrapped deep (bullmqExecutors' shape); handed back to the API, Fractal gets its own object", async () => {
  const fail = () => Promise.reject(new FractalError('QUEUE_OUT_MISMATCH', "this worker's --out is not the submitter's runs root"));
  const executors = { cellExecutor: { identities: true, run: fail }, sleeveExecutor: { identities: true, run: fail }, close: async () => {} };
  const q = apiFunction('bullmqExecutors', async () => executors)();
  const given = await q;
  expect(types.isProxy(given.cellExecutor)).toBe(true);
  expect(given.cellExecutor.identities).toBe(true);
  await expect(given.cellExecutor.run()).rejects.toMatchObject({ code: 'QUEUE_OUT_MISMATCH', exitCode: 1, message: "this worker's `out` is not the submitter's runs root" });
  await expect(given.sleeveExecutor.run()).rejects.toMatchObject({ message: "this worker's `out` is not the submitter's runs root" });
  // run(file, { ...q }) and run(file, q): the runner calls the executors themselves, whose errors keep the command
  // line's words in the run folder's files (run() rewrites what it returns).
  let seen: unknown[] = [];
  const take = (_file: string, options: Record<string, unknown>) => {
    seen = [options.cellExecutor, options.sleeveExecutor];
  };
  const run = apiFunction('run', take, { unwrapArguments: true });
  run('f', { ...given, out: 'runs' });
  expect(seen[0]).toBe(executors.cellExecutor);
  expect(seen[1]).toBe(executors.sleeveExecutor);
  run('f', given as unknown as Record<string, unknown>);
  expect(seen[0]).toBe(executors.cellExecutor);
  expect(seen[1]).toBe(executors.sleeveExecutor);
  run('f', Object.freeze({ ...given }));
  expect(seen[0]).toBe(executors.cellExecutor);
  // A function that hands its arguments to the program's own code (a plugin's implementation) passes them as given.
  apiFunction('defineRanker', take)('f', { ...given });
  expect(seen[0]).toBe(given.cellExecutor);
});
