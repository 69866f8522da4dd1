// Compiles src/, stages/ and bench/ to dist/ with swc (type-checking is `npm run typecheck`; swc is ~50x faster than tsc emit),
// and, alongside, the public API's declarations (dist/src/api/index.d.ts and what its types reach) with tsc
// (tsconfig.api.json: TypeScript 7 emits declarations; it runs while swc compiles).
// Writes into a fresh temporary folder and renames it over dist/, so a failed build never leaves a half-built CLI.
import { transformFile } from '@swc/core';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile, rename, readFile } from 'node:fs/promises';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  await rm(join(root, 'dist'), { recursive: true, force: true });
  await rename(tmp, join(root, 'dist'));
} catch (err) {
  await rm(tmp, { recursive: true, force: true });
  console.error(`build failed: ${err.message ?? err}`);
  process.exit(1);
}
if (!process.env.CI) console.error(`built ${count} files (and ${validators} precompiled schema validators) into dist/ in ${Date.now() - started} ms`);
