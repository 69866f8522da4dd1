/**
 * A run folder is built in a hidden temporary folder and renamed into place when the run ends:
 *   <out>/<name>/<run_id>/          a completed run (manifest.json outcome "succeeded")
 *   <out>/<name>/<run_id>.failed/   a failed run: FAILED (the error), manifest.json outcome "failed", the audit up to the failure
 *   <out>/<name>/.<run_id>.partial/ only while running, or after a crash (never looks complete)
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { jsonText } from './artifacts.js';
import { inputError } from '../core/errors.js';

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

function writeDurable(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every filesystem lets a directory be fsynced; the rename is still atomic.
  }
}

export class RunFolder {
  readonly parent: string;
  readonly dir: string;
  private done = false;

  constructor(outRoot: string, readonly name: string, readonly runId: string) {
    this.parent = join(outRoot, name);
    this.dir = join(this.parent, `.${runId}.partial`);
    try {
      mkdirSync(this.parent, { recursive: true });
      mkdirSync(this.dir);
    } catch (err) {
      throw inputError('OUT_NOT_WRITABLE', `cannot create the run folder under ${outRoot}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, '--out must be a folder you can write to (it is created when missing).');
    }
  }

  /** Writes the manifest and moves the folder into place; returns the final path. */
  complete(manifest: unknown): string {
    return this.finish(manifest, join(this.parent, this.runId));
  }

  /** Marks the folder failed (FAILED file + manifest) and moves it to <run_id>.failed; returns the path. */
  fail(manifest: unknown, error: string): string {
    writeDurable(join(this.dir, 'FAILED'), `${error}\n`);
    return this.finish(manifest, join(this.parent, `${this.runId}.failed`));
  }

  private finish(manifest: unknown, target: string): string {
    if (this.done) throw new Error('run folder already finished');
    writeDurable(join(this.dir, 'manifest.json'), jsonText(manifest));
    fsyncDir(this.dir);
    renameSync(this.dir, target);
    fsyncDir(this.parent);
    this.done = true;
    return target;
  }
}
