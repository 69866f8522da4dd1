/** Shared test helpers: temporary lakehouses, a compiled copy of the sources for child processes, a replayed Binance. */
import { mkdtemp, mkdir, readdir, writeFile, readFile, symlink, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, relative } from 'node:path';

import { DATA_DIR, REPO_DIR } from '../data.js';

export const REPO = REPO_DIR;
export const DATA = DATA_DIR;
export const CRYPTO = join(DATA, 'crypto');
export const STOCKS = join(DATA, 'pypfopt', 'stock_prices.csv');

const created: string[] = [];
export async function tempDir(prefix = 'fractal-lh-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}
// Registered while the importing test file loads: remove its temporary folders when it finishes.
afterAll(async () => {
  await Promise.all(created.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

let built: Promise<string> | undefined;
/**
 * Child processes cannot run TypeScript on Node 20: compile src/ with swc into a temp folder (with node_modules
 * linked) once per test file, plus a small runner: `node runner.mjs <op> <lakehouse> [arg]`.
 */
export function buildChildRunner(): Promise<string> {
  built ??= (async () => {
    const { transformFile } = await import('@swc/core');
    const out = await tempDir('fractal-lh-build-');
    async function* walk(dir: string): AsyncGenerator<string> {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const f = join(dir, e.name);
        if (e.isDirectory()) yield* walk(f);
        else if (e.name.endsWith('.ts')) yield f;
      }
    }
    for (const top of ['src/util', 'src/lakehouse', 'src/core', 'src/cli', 'src/math']) {
      for await (const file of walk(join(REPO, top))) {
        const target = join(out, relative(REPO, file).replace(/\.ts$/, '.js'));
        const { code } = await transformFile(file, {
          swcrc: false, filename: file,
          jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' },
          module: { type: 'es6' },
        });
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, code);
      }
    }
    await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
    if (!existsSync(join(out, 'node_modules'))) await symlink(join(REPO, 'node_modules'), join(out, 'node_modules'));
    await writeFile(join(out, 'runner.mjs'), `
import { openLakehouse } from './src/lakehouse/index.js';
const [op, path, arg] = process.argv.slice(2);
const lh = await openLakehouse(path);
if (op === 'import') await lh.importCsv(arg, { venue: process.env.VENUE || 'csv' });
else if (op === 'seed') await lh.seedSynthetic({ symbols: 40, days: 400, seed: Number(arg) });
process.stdout.write('done\\n');
`);
    await writeFile(join(out, 'sleeper.mjs'), 'setTimeout(() => {}, 60000);\n');
    return out;
  })();
  return built;
}

/** A Binance spot API replayed from recorded responses, honouring startTime/limit like the real one. */
export async function binanceReplay(): Promise<{ fetch: (url: string) => Promise<Response>; log: string[]; fixture: Fixture }> {
  const fixture = JSON.parse(await readFile(join(REPO, 'test', 'lakehouse', 'fixtures', 'binance-spot.json'), 'utf8')) as Fixture;
  const log: string[] = [];
  const json = (x: unknown, status = 200) => new Response(JSON.stringify(x), { status, headers: { 'content-type': 'application/json' } });
  return {
    fixture,
    log,
    fetch: async (url: string) => {
      log.push(url);
      const u = new URL(url);
      if (u.pathname === '/api/v3/exchangeInfo') return json(fixture.exchangeInfo);
      if (u.pathname === '/api/v3/ticker/24hr') {
        const want = u.searchParams.get('symbols');
        const list = want ? (JSON.parse(want) as string[]) : undefined;
        return json(fixture.ticker24hr.filter((t) => !list || list.includes(t.symbol as string)));
      }
      if (u.pathname === '/api/v3/klines') {
        const rows = fixture.klines[u.searchParams.get('symbol') ?? ''];
        if (!rows) return json({ code: -1121, msg: 'Invalid symbol.' }, 400);
        const start = Number(u.searchParams.get('startTime') ?? 0);
        const limit = Number(u.searchParams.get('limit') ?? 500);
        return json(rows.filter((k) => (k[0] as number) >= start).slice(0, limit));
      }
      return json({ code: -1, msg: `not recorded: ${u.pathname}` }, 404);
    },
  };
}

export interface Fixture {
  exchangeInfo: unknown;
  ticker24hr: Record<string, unknown>[];
  klines: Record<string, (number | string)[][]>;
}
