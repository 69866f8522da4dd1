/**
 * The sleeve cache: a selection sleeve's result (out-of-sample returns, decisions, weights) kept in
 * <runs root>/.cache/sleeves/ under a key of its resolved config's hash, its data identity (the very value its run's
 * manifest records as `data_hash`: src/lakehouse/registry.ts `dataIdentity`, found by its scanner without running
 * it), its other inputs (its plugin modules, a candidates file) and the engine's own code, so an unchanged sleeve is
 * not recomputed. Sleeves whose scanner cannot say what its data is (live ones: ccxt, tradingview) are never cached.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fractalVersion } from '../../src/runs/manifest.js';
import type { SleeveResult } from '../../src/core/context.js';
import type { PluginRef, StageEnv } from '../../src/core/plugin.js';
import type { ResolvedConfig } from '../../src/config/validate.js';
import { byCodeUnit } from '../../src/core/order.js';
import { canonicalJson } from '../../src/config/hash.js';

const sha = (h: ReturnType<typeof createHash>) => h.digest('hex');

function hashPath(h: ReturnType<typeof createHash>, p: string): void {
  if (!existsSync(p)) return void h.update(`missing:${p}`);
  if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) hashPath(h, join(p, f));
  else h.update(readFileSync(p));
}

/** A scanner that can name its data without running (see stages/ingestion/scanner.ts). */
interface IdentifiedScanner {
  dataIdentity?(params: Record<string, unknown>, env: Pick<StageEnv, 'baseDir' | 'lakehousePath' | 'progress'>): Promise<string>;
}

/**
 * The data identity a selection sleeve's run will record, or undefined when its scanner cannot tell before running
 * (a live source) or is not known here.
 */
export async function sleeveDataIdentity(config: ResolvedConfig, baseDir: string, env: StageEnv): Promise<string | undefined> {
  const scanner = config.stages.find((s) => s.type === 'ingestion')?.params.scanner as PluginRef | undefined;
  if (!scanner) return undefined;
  try {
    const plugin = env.plugins.get<IdentifiedScanner>('scanner', scanner.name);
    return plugin.dataIdentity ? await plugin.dataIdentity(scanner.params, { baseDir, lakehousePath: env.lakehousePath, progress: () => {} }) : undefined;
  } catch {
    return undefined; // a scanner from the sleeve's own modules, or a source that cannot be read now: no cache
  }
}

let code: string | undefined;
/**
 * The engine's own code, as a fingerprint (version, and path/size/mtime of every module it runs from): a new
 * build invalidates every cached sleeve, so a fixed bug never serves old numbers.
 */
export function codeFingerprint(): string {
  if (code) return code;
  const h = createHash('sha256').update(fractalVersion());
  const here = dirname(fileURLToPath(import.meta.url)); // <root>/stages/meta or <root>/dist/stages/meta
  const root = join(here, '..', '..');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => byCodeUnit(a.name, b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|ts)$/.test(e.name)) {
        const st = statSync(p);
        h.update(`${p.slice(root.length)}:${st.size}:${st.mtimeMs}\n`);
      }
    }
  };
  for (const top of ['src', 'stages']) if (existsSync(join(root, top))) walk(join(root, top));
  return (code = h.digest('hex'));
}

/** The sleeve's inputs that are neither config nor market data: its own plugin modules and a candidates file. */
export function inputsFingerprint(config: ResolvedConfig, baseDir: string): string {
  const h = createHash('sha256');
  for (const p of config.plugins ?? []) hashPath(h, resolve(baseDir, p));
  const ingestion = config.stages.find((s) => s.type === 'ingestion');
  if (typeof ingestion?.params.candidates_path === 'string') hashPath(h, resolve(baseDir, ingestion.params.candidates_path));
  return sha(h);
}

export const cacheKey = (configHash: string, dataHash: string, inputs: string) => sha(createHash('sha256').update(`${configHash}:${dataHash}:${inputs}:${codeFingerprint()}`));

const fileOf = (runsRoot: string, key: string) => join(runsRoot, '.cache', 'sleeves', `${key}.json`);

export function readCached(runsRoot: string, key: string): SleeveResult | undefined {
  const f = fileOf(runsRoot, key);
  if (!existsSync(f)) return undefined;
  try {
    const j = JSON.parse(readFileSync(f, 'utf8'));
    if (!Array.isArray(j.holdings) || !Array.isArray(j.dates)) return undefined; // another format: a miss
    return { ...j, dates: Int32Array.from(j.dates), returns: Float64Array.from(j.returns, (x: number | null) => (x === null ? NaN : x)), cached: true };
  } catch {
    return undefined; // a damaged entry is a miss; the next write replaces it
  }
}

/** Best effort: a unique temporary file, fsynced and renamed; two runs writing one key cannot break each other. */
export function writeCached(runsRoot: string, key: string, r: SleeveResult): void {
  const f = fileOf(runsRoot, key);
  const tmp = `${f}.${process.pid}.${threadId}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(join(runsRoot, '.cache', 'sleeves'), { recursive: true });
    const body = canonicalJson({ ...r, returns: Array.from(r.returns, (x) => (Number.isFinite(x) ? x : null)), cached: false });
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, f);
  } catch {
    rmSync(tmp, { force: true }); // the cache is an optimisation: a failed write is a later miss, not an error
  }
}
