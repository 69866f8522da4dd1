/**
 * Where a pipeline may read from. Config files (`extends`, sleeves, plugin modules) come from the repository that
 * holds the pipeline file: the nearest folder with `.git`, else the file's own folder. Data files named by params
 * come from that repository or from a data root declared outside the file (--data-root, FRACTAL_DATA, the
 * lakehouse given by --lakehouse or FRACTAL_LAKEHOUSE): a pipeline file cannot widen its own reach. Links are
 * followed before the check, so a symlink out of a root is outside it.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

/** Nearest ancestor holding `.git`, else undefined. */
export function repoRootOf(path: string): string | undefined {
  let dir = resolve(path);
  if (existsSync(dir) && !statSync(dir).isDirectory()) dir = dirname(dir);
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The repository a pipeline file belongs to (its real path). */
export function repositoryOf(pipelineFile: string): string {
  const root = repoRootOf(pipelineFile) ?? dirname(resolve(pipelineFile));
  return existsSync(root) ? realpathSync(root) : root;
}

export const isInside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** The real path of `target` (links followed) when it exists, else its nearest existing ancestor's plus the rest. */
export function realTarget(target: string): string {
  let head = resolve(target);
  const tail: string[] = [];
  while (!existsSync(head)) {
    const up = dirname(head);
    if (up === head) return resolve(target);
    tail.unshift(head.slice(up.length + (up.endsWith(sep) ? 0 : 1)));
    head = up;
  }
  return resolve(realpathSync(head), ...tail);
}

/** The root that holds `target`, or undefined when it is outside every one. */
export function rootHolding(target: string, roots: string[]): string | undefined {
  const real = realTarget(target);
  return roots.map((r) => (existsSync(r) ? realpathSync(r) : resolve(r))).find((r) => isInside(r, real));
}
