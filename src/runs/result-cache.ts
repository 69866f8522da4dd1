/**
 * The result cache: what a finished child run contributes to its parent (a meta's sleeve, a tournament's cell: its
 * out-of-sample returns, decisions through time, weights, its record), kept in <runs root>/.cache/sleeves/ under a
 * key of its resolved config's hash, its data identity (the very value its run's manifest records as `data_hash`:
 * src/lakehouse/registry.ts `dataIdentity`, found by its scanner without running it; a meta's is its sleeves'), its
 * other inputs (plugin modules, a candidates file) and the engine's own code, so an unchanged run is not recomputed.
 * A selection pipeline and a meta pipeline are cached alike; one whose scanner (or one of whose sleeves' scanners)
 * does not declare itself cacheable (ScannerMeta: a live one) is never cached. The same key is the identity of a
 * cell as a job (a distributed executor can use it as the job id).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fractalVersion } from './manifest.js';
import { CODE_FINGERPRINT_FILE, codeTreeHash } from './code-fingerprint.js';
import { moduleGraph } from '../config/module-graph.js';
import type { SleeveResult } from '../core/context.js';
import type { RunSpec, ScannerMeta, StageEnv } from '../core/plugin.js';
import { isPluginRef } from '../core/params.js';
import type { ResolvedConfig } from '../core/resolved-config.js';
import { canonicalJson } from '../util/hash.js';
import { combinedDataIdentity } from '../lakehouse/registry.js';

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
  const ref = config.stages.find((s) => s.type === 'ingestion')?.params.scanner;
  const scanner = isPluginRef(ref) ? ref : undefined;
  if (!scanner) return undefined;
  try {
    if (!env.plugins.meta<ScannerMeta>('scanner', scanner.name).cacheable) return undefined;
    const plugin = env.plugins.get<IdentifiedScanner>('scanner', scanner.name);
    return plugin.dataIdentity ? await plugin.dataIdentity(scanner.params, { baseDir, lakehousePath: env.lakehousePath, progress: () => {} }) : undefined;
  } catch {
    return undefined; // a scanner from the sleeve's own modules, or a source that cannot be read now: no cache
  }
}

let code: string | undefined;
/**
 * The engine's own code, as a fingerprint (version, and the hash of the code it runs from: the bundle's, written by
 * the build, else src/ and stages/ hashed now): another build invalidates every cached sleeve, so a fixed bug never
 * serves old numbers, and a rebuild of the same code invalidates nothing.
 */
export function codeFingerprint(): string {
  if (code) return code;
  const here = dirname(fileURLToPath(import.meta.url)); // <root>/src/runs, <root>/dist/src/runs or <root>/dist/bundle
  // The bundle the CLI and the API run from (scripts/build.mjs) is its own folder of chunks; else src/ and stages/.
  const bundled = basename(here) === 'bundle';
  const root = bundled ? here : join(here, '..', '..');
  let tree: string;
  try {
    tree = bundled ? readFileSync(join(root, CODE_FINGERPRINT_FILE), 'utf8').trim() : '';
  } catch {
    tree = '';
  }
  if (!tree) tree = codeTreeHash(root, bundled ? [''] : ['src', 'stages'].filter((top) => existsSync(join(root, top))));
  return (code = createHash('sha256').update(`${fractalVersion()}\n${tree}`).digest('hex'));
}

/**
 * The sleeve's inputs that are neither config nor market data: its own plugin modules, with every file they import
 * (a helper a ranker imports changes its scores as much as the ranker does), and a candidates file.
 */
export function inputsFingerprint(config: ResolvedConfig, baseDir: string): string {
  const h = createHash('sha256');
  for (const p of config.plugins ?? []) {
    const entry = resolve(baseDir, p);
    if (!existsSync(entry)) {
      hashPath(h, entry);
      continue;
    }
    // Paths relative to the module (the same key in any checkout), bytes as they are.
    const real = realpathSync(entry);
    for (const f of moduleGraph(real).files) h.update(`${relative(dirname(real), f)}\n`).update(readFileSync(f));
  }
  const ingestion = config.stages.find((s) => s.type === 'ingestion');
  if (typeof ingestion?.params.candidates_path === 'string') hashPath(h, resolve(baseDir, ingestion.params.candidates_path));
  return sha(h);
}

type IdentityEnv = Pick<StageEnv, 'plugins' | 'lakehousePath'>;

/**
 * The data identity a run of `spec` will record (a meta's: its sleeves' combined, as its manifest does), or undefined
 * when one of the scanners involved cannot tell before running. `memo` shares the answers within one parent run.
 */
export async function dataIdentityOf(spec: RunSpec, env: IdentityEnv, memo: Map<string, Promise<string | undefined>> = new Map()): Promise<string | undefined> {
  if (spec.config.pipeline === 'meta') {
    const ids: string[] = [];
    for (const s of spec.config.sleeves ?? []) {
      const child = spec.sleeves?.[s.name];
      const id = child ? await dataIdentityOf(child, env, memo) : undefined;
      if (!id) return undefined;
      ids.push(id);
    }
    return combinedDataIdentity(ids) ?? undefined;
  }
  const ref = spec.config.stages.find((s) => s.type === 'ingestion')?.params.scanner;
  const scanner = isPluginRef(ref) ? ref : undefined;
  const k = canonicalJson({ scanner, baseDir: spec.baseDir, lakehouse: env.lakehousePath });
  if (!memo.has(k)) memo.set(k, sleeveDataIdentity(spec.config, spec.baseDir, env as StageEnv));
  return memo.get(k)!;
}

/** The inputs of `spec` that are neither config nor market data, a meta's sleeves' included. */
export function inputsOf(spec: RunSpec): string {
  if (spec.config.pipeline !== 'meta') return inputsFingerprint(spec.config, spec.baseDir);
  const h = createHash('sha256').update(inputsFingerprint(spec.config, spec.baseDir));
  for (const s of spec.config.sleeves ?? []) h.update(`:${spec.sleeves?.[s.name] ? inputsOf(spec.sleeves[s.name]) : 'missing'}`);
  return sha(h);
}

/** The cache key of a run of `spec` and the data identity it stands for, or undefined when it cannot be cached. */
export async function resultKey(spec: RunSpec, env: IdentityEnv, memo?: Map<string, Promise<string | undefined>>): Promise<{ key: string; data_hash: string } | undefined> {
  const dataHash = await dataIdentityOf(spec, env, memo);
  return dataHash ? { key: cacheKey(spec.hash, dataHash, inputsOf(spec)), data_hash: dataHash } : undefined;
}

/** Whether an unchanged result of `spec` is in the cache under `runsRoot` (its key computable and its entry readable). */
export async function cachedChild(spec: RunSpec, runsRoot: string, env: IdentityEnv, memo?: Map<string, Promise<string | undefined>>): Promise<boolean> {
  const k = await resultKey(spec, env, memo).catch(() => undefined);
  return Boolean(k && readCached(runsRoot, k.key));
}

export const cacheKey = (configHash: string, dataHash: string, inputs: string) => sha(createHash('sha256').update(`${configHash}:${dataHash}:${inputs}:${codeFingerprint()}`));

/**
 * The entry format: 2 adds the run's record (turnover, costs) and meta results; 3 names the run folder relative to
 * the runs root (a root moved or copied whole keeps its entries pointing inside it).
 */
const CACHE_FORMAT = 3;

const fileOf = (runsRoot: string, key: string) => join(runsRoot, '.cache', 'sleeves', `${key}.json`);

export function readCached(runsRoot: string, key: string): SleeveResult | undefined {
  const f = fileOf(runsRoot, key);
  if (!existsSync(f)) return undefined;
  try {
    const j = JSON.parse(readFileSync(f, 'utf8'));
    if (!Array.isArray(j.holdings) || !Array.isArray(j.dates) || j.format !== CACHE_FORMAT || typeof j.run !== 'string') return undefined; // another format: a miss
    // The run the result came from must still be there (its folder is what the parent's sleeves.json points at):
    // removed by hand, or a root copied without it, the entry is a miss and the child runs again.
    const run = resolve(runsRoot, j.run);
    if (!existsSync(join(run, 'manifest.json'))) return undefined;
    const { format: _format, ...r } = j;
    return { ...r, run, dates: Int32Array.from(j.dates), returns: Float64Array.from(j.returns, (x: number | null) => (x === null ? NaN : x)), cached: true };
  } catch {
    return undefined; // a damaged entry is a miss; the next write replaces it
  }
}

/** The result of a child run, under its key (see resultKey); `r.run` its run folder (absolute, inside the runs root). */
export function writeCached(runsRoot: string, key: string, r: SleeveResult): void {
  const run = relative(resolve(runsRoot), resolve(r.run));
  writeEntry(runsRoot, 'sleeves', key, { ...r, run, returns: Array.from(r.returns, (x) => (Number.isFinite(x) ? x : null)), cached: false, format: CACHE_FORMAT });
}

/**
 * Another kind of entry (a tournament's statistics: `comparisons`), a plain JSON value under a content key its
 * writer computes; undefined when absent or unreadable.
 */
export function readEntry<T>(runsRoot: string, kind: string, key: string): T | undefined {
  const f = join(runsRoot, '.cache', kind, `${key}.json`);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Best effort: a unique temporary file, fsynced and renamed; two runs writing one key cannot break each other. */
export function writeEntry(runsRoot: string, kind: string, key: string, value: unknown): void {
  const f = join(runsRoot, '.cache', kind, `${key}.json`);
  const tmp = `${f}.${process.pid}.${threadId}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(f), { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, canonicalJson(value));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, f);
  } catch {
    rmSync(tmp, { force: true }); // the cache is an optimisation: a failed write is a later miss, not an error
  }
}
