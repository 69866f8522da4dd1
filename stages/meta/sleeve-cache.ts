/**
 * The sleeve cache: a selection sleeve's result (out-of-sample returns, weights) kept under the hash of its
 * resolved config and a fingerprint of its data, in <runs root>/.cache/sleeves/, so an unchanged sleeve is not
 * recomputed. The data fingerprint is what the sleeve's scanner reads: the lakehouse registry (every entry's
 * checksum: any data change invalidates), a CSV file or folder's bytes, or nothing for the synthetic market
 * (a function of its params, which the config hash covers); the key also covers the pipeline's plugin modules
 * and the engine's own code. Sleeves on live scanners (ccxt, tradingview) are never cached.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fractalVersion } from '../../src/runs/manifest.js';
import type { SleeveResult } from '../../src/core/context.js';
import type { PluginRef } from '../../src/core/plugin.js';
import type { ResolvedConfig } from '../../src/config/validate.js';
import { REGISTRY_FILE } from '../../src/lakehouse/registry.js';
import { byCodeUnit } from '../../src/core/order.js';

const sha = (h: ReturnType<typeof createHash>) => h.digest('hex');

function hashPath(h: ReturnType<typeof createHash>, p: string): void {
  if (!existsSync(p)) return void h.update(`missing:${p}`);
  if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) hashPath(h, join(p, f));
  else h.update(readFileSync(p));
}

/** Live scanners read today's exchange or screener: nothing on disk says whether that changed, so no cache. */
export function cacheable(config: ResolvedConfig): boolean {
  const scanner = config.stages.find((s) => s.type === 'ingestion')?.params.scanner as PluginRef | undefined;
  return !['ccxt', 'tradingview'].includes(String(scanner?.name));
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

export function dataFingerprint(config: ResolvedConfig, baseDir: string, lakehousePath: string): string {
  const h = createHash('sha256');
  // The pipeline's own plugin modules are code too.
  for (const p of config.plugins ?? []) hashPath(h, resolve(baseDir, p));
  const ingestion = config.stages.find((s) => s.type === 'ingestion');
  const scanner = ingestion?.params.scanner as PluginRef | undefined;
  if (scanner?.name === 'synthetic') h.update('synthetic');
  else if (scanner?.name === 'csv') hashPath(h, resolve(baseDir, String(scanner.params.path)));
  else hashPath(h, join(lakehousePath, REGISTRY_FILE));
  if (typeof ingestion?.params.candidates_path === 'string') hashPath(h, resolve(baseDir, ingestion.params.candidates_path));
  return sha(h);
}

export const cacheKey = (configHash: string, fingerprint: string) => sha(createHash('sha256').update(`${configHash}:${fingerprint}:${codeFingerprint()}`));

const fileOf = (runsRoot: string, key: string) => join(runsRoot, '.cache', 'sleeves', `${key}.json`);

export function readCached(runsRoot: string, key: string): SleeveResult | undefined {
  const f = fileOf(runsRoot, key);
  if (!existsSync(f)) return undefined;
  try {
    const j = JSON.parse(readFileSync(f, 'utf8'));
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
    const body = JSON.stringify({ ...r, dates: Array.from(r.dates), returns: Array.from(r.returns, (x) => (Number.isFinite(x) ? x : null)), cached: false });
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
