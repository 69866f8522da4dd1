// Compiles src/, stages/ and bench/ to dist/ with swc (type-checking is `npm run typecheck`; swc is ~50x faster than tsc emit),
// and, alongside, the public API's declarations (dist/src/api/index.d.ts and what its types reach) with tsc
// (tsconfig.api.json: TypeScript 7 emits declarations; it runs while swc compiles).
// Then bundles what the CLI, the API and the worker threads load (dist/bundle/, esbuild; see bundle() below).
// Writes into a fresh temporary folder and renames it over dist/, so a failed build never leaves a half-built CLI.
import { transformFile } from '@swc/core';
import { build as esbuild } from 'esbuild';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile, rename, readFile } from 'node:fs/promises';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { precompileValidators } from './precompile-validators.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = join(root, `.dist-tmp-${process.pid}`);
const swcrc = JSON.parse(await readFile(join(root, '.swcrc'), 'utf8'));

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield full;
  }
}

const started = Date.now();
let count = 0;
let validators = 0;
/** tsc emitting the API's declarations into the temporary folder; resolves with its output when it fails. */
function declarations() {
  return new Promise((done) => {
    const tsc = spawn(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.api.json'), '--outDir', tmp], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    tsc.stdout.on('data', (d) => (out += d));
    tsc.stderr.on('data', (d) => (out += d));
    tsc.on('error', (err) => done(String(err.message)));
    tsc.on('close', (code) => done(code === 0 ? undefined : out || `tsc exited with ${code}`));
  });
}
/**
 * The entry points a process starts from, bundled with what they import into dist/bundle/ (one folder: chunks are
 * shared, so the CLI, the API a plugin module imports and the workers are one instance of each module). Node 20
 * spends ~1 ms resolving, reading and compiling each ES module file, and the CLI reached ~600 of them (inversify
 * alone ~220) before doing anything: bundled, `--version` and `validate` start in a fraction of that. Dynamic
 * imports stay dynamic (their own chunks), so what a command does not use is still not loaded. The workers' names
 * are what the pools ask for beside themselves (src/exec/*-pool.ts: `new URL('./replay-worker.js', import.meta.url)`).
 * The bundle is made from swc's output (the same transpiled code as dist/src/, decorators included), with swc's
 * source maps chained, so `--debug` stack traces point into src/ and stages/.
 */
const BUNDLE_ENTRIES = { main: 'src/cli/main.js', index: 'src/api/index.js', 'replay-worker': 'src/exec/replay-worker.js', 'sleeve-worker': 'src/exec/sleeve-worker.js' };
// Left to node_modules: the queue (BullMQ and ioredis, with a native msgpack), tracing's SDK and ccxt's exchanges,
// loaded only by the commands and options that use them, where they are large and a bundle would gain little.
const BUNDLE_EXTERNAL = ['bullmq', 'ioredis', '@opentelemetry/*', 'ccxt'];
async function bundle(dir) {
  const out = join(dir, 'bundle');
  const result = await esbuild({
    // Paths in the bundle's comments are relative to the built tree (no temporary folder's name in the output).
    absWorkingDir: dir,
    entryPoints: Object.entries(BUNDLE_ENTRIES).map(([name, file]) => ({ in: join(dir, file), out: name })),
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Packages that ship both take their ES module build (a UMD build hides its requires from the bundler).
    mainFields: ['module', 'main'],
    external: BUNDLE_EXTERNAL,
    // CommonJS packages inside an ES module bundle still call require (node's built-ins): give them one.
    banner: { js: "import { createRequire as __fractalRequire } from 'node:module';\nconst require = __fractalRequire(import.meta.url);" },
    // No keepNames: it re-names every nested function each time it is created (~0.2 s in a walk-forward run). A
    // top-level name two modules share is renamed in the bundle (`sharpe2`); no output depends on such a name.
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
  });
  if (result.errors.length) throw new Error(result.errors.map((e) => e.text).join('; '));
  // ajv.ts requires the precompiled validators from beside itself.
  await copyFile(join(dir, 'src', 'config', 'ajv-precompiled.cjs'), join(out, 'ajv-precompiled.cjs'));
}
try {
  const dts = declarations();
  for (const top of ['src', 'stages', 'bench']) {
    for await (const file of walk(join(root, top))) {
      const rel = relative(root, file);
      const out = join(tmp, rel.replace(/\.ts$/, '.js'));
      const { code, map } = await transformFile(file, { ...swcrc, swcrc: false, filename: file, sourceFileName: relative(dirname(out), file) });
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, `${code}\n//# sourceMappingURL=${out.split('/').pop()}.map\n`);
      if (map) await writeFile(`${out}.map`, map);
      count++;
    }
  }
  const dtsProblem = await dts;
  // A type error is the typecheck's to report (`npm run typecheck`); tsc still writes the declarations. No entry
  // declaration at all is a failed build.
  if (!existsSync(join(tmp, 'src', 'api', 'index.d.ts'))) throw new Error(`no declarations for the API: ${dtsProblem}`);
  await writeFile(join(tmp, 'package.json'), '{ "type": "module" }\n');
  validators = await precompileValidators(tmp);
  await bundle(tmp);
  // The code's identity for caches and checkpoints (src/runs/code-fingerprint.ts): hashed once here, not per run.
  const { CODE_FINGERPRINT_FILE, codeTreeHash } = await import(pathToFileURL(join(tmp, 'src', 'runs', 'code-fingerprint.js')).href);
  await writeFile(join(tmp, 'bundle', CODE_FINGERPRINT_FILE), `${codeTreeHash(join(tmp, 'bundle'), [''])}\n`);
  await rm(join(root, 'dist'), { recursive: true, force: true });
  await rename(tmp, join(root, 'dist'));
} catch (err) {
  await rm(tmp, { recursive: true, force: true });
  console.error(`build failed: ${err.message ?? err}`);
  process.exit(1);
}
if (!process.env.CI) console.error(`built ${count} files (and ${validators} precompiled schema validators) into dist/ in ${Date.now() - started} ms`);
