#!/usr/bin/env node
// Thin launcher: the CLI is compiled and bundled into dist/bundle/ by `npm ci` / `npm install` (the `prepare`
// script) or `npm run build` (scripts/build.mjs).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

// TurboFan inlines at most 200 bytecodes into a function rather than its default 920: a run's hot code runs for
// seconds, not hours, and the compile time of large inlined graphs was not earned back (the optimising compiler took
// ~1 of 7 CPU s at N=2000). Alternating runs of the walk-forward bench on 2 cores: wall -5% at N=500, -3% at N=2000
// and N=5000. Set before any of the engine's code is compiled; worker threads share the process's flags. Only on the
// V8 it was measured on (Node 20's): another V8 keeps its defaults, and one without the flag would print an error.
if (process.versions.v8.startsWith('11.3.')) setFlagsFromString('--max-inlined-bytecode-size-cumulative=200');
const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bundle', 'main.js');
if (!existsSync(entry)) {
  console.error('pipeline-run: the CLI is not built yet; run `npm run build` (or `npm ci`) in the Fractal folder.');
  process.exit(2);
}
// Stack traces (--debug) name the TypeScript sources, through the bundle's source maps; only then, as reading the
// maps costs start-up time.
if (process.argv.includes('--debug') || process.env.FRACTAL_DEBUG === '1') process.setSourceMapsEnabled(true);
// The CLI's code comes in chunks, loaded here: when the process cannot even open them (no file descriptor left under
// a very low `ulimit -n`) nothing of the CLI is there to say so, so the launcher does, in the error catalogue's words
// (src/core/error-catalogue.ts; test/cli/launcher-faults.test.ts checks they are the same), as text on stderr and,
// with --json (or --format json), as the one JSON object on stdout. Any other failure to load is left as it was.
const LOAD_FAULTS = {
  EMFILE: { code: 'TOO_MANY_OPEN_FILES', exit: 1, what: 'too many open files in this process', hint: 'Raise the limit (`ulimit -n`) or run fewer workers.' },
  ENFILE: { code: 'TOO_MANY_OPEN_FILES', exit: 1, what: 'too many open files on the system', hint: 'Raise the limit (`ulimit -n`) or run fewer workers.' },
};
let loaded;
try {
  loaded = await import(pathToFileURL(entry).href);
} catch (err) {
  const fault = typeof err?.code === 'string' && Object.hasOwn(LOAD_FAULTS, err.code) ? LOAD_FAULTS[err.code] : undefined;
  if (!fault) throw err;
  const message = `${fault.what} while loading the CLI${err.path ? ` (${err.syscall ?? 'access'} ${err.path})` : ''}`;
  process.stderr.write(`error ${fault.code}: ${message}\n  hint: ${fault.hint}\n`);
  if (process.argv.includes('--debug') || process.env.FRACTAL_DEBUG === '1') process.stderr.write(`${err.stack ?? ''}\n`);
  const args = process.argv.slice(2);
  const formatAt = args.findIndex((a) => a === '--format' || a.startsWith('--format='));
  if (args.includes('--json') || (formatAt >= 0 && (args[formatAt] === '--format=json' || args[formatAt + 1] === 'json')))
    process.stdout.write(`${JSON.stringify({ outcome: 'error', error: { code: fault.code, exit_code: fault.exit, message, hint: fault.hint } }, null, 2)}\n`);
  process.exitCode = fault.exit;
}
if (loaded) process.exitCode = await loaded.main(process.argv.slice(2));
