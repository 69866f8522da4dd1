/**
 * Whether a path can be a lakehouse, as every command and run says it: the one check `lakehouse status` (Store.open)
 * and `run` (src/api/run.ts, before any run folder exists) share, so both give the same code for the same path (a run
 * said LAKEHOUSE_MISSING where status said LAKEHOUSE_NOT_A_FOLDER for --lakehouse /etc/passwd). No heavy imports:
 * `run` asks before it loads the lakehouse.
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { inputError, type FractalError } from '../core/errors.js';

/** LAKEHOUSE_NOT_A_FOLDER when `path`, or a folder it would be under, is a file; undefined otherwise. */
export function notAFolder(path: string): FractalError | undefined {
  const root = resolve(path);
  for (let p = root; ; p = dirname(p)) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) return inputError('LAKEHOUSE_NOT_A_FOLDER', `the lakehouse path ${root} is not a folder (${p} is a file)`, 'Point --lakehouse / FRACTAL_LAKEHOUSE at a folder.');
    if (st || dirname(p) === p) return undefined;
  }
}

/** Why `path` holds no lakehouse a reader can open (not a folder, or no registry.json), or undefined when it may. */
export function noLakehouse(path: string): FractalError | undefined {
  const root = resolve(path);
  const bad = notAFolder(root);
  if (bad) return bad;
  // Anything at registry.json: what it is (a folder, a FIFO) is for the reader to say (LAKEHOUSE_REGISTRY).
  try {
    statSync(join(root, 'registry.json'));
    return undefined;
  } catch {
    /* missing below */
  }
  const why = statSync(root, { throwIfNoEntry: false }) ? 'has no registry.json' : 'does not exist';
  return inputError('LAKEHOUSE_MISSING', `No lakehouse at ${root}: the folder ${why}.`, 'Fill it first: `pipeline-run lakehouse seed --synthetic`, `lakehouse import <csv>` or `lakehouse ingest --exchange ID`; or point --lakehouse / FRACTAL_LAKEHOUSE at it.');
}
