/** One file written whole or not at all (run folders: artifacts, FAILED, manifest.json). */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `path` whole or not at all: a temporary file beside it, then a rename; the temporary file is removed when
 * the write fails (a full disk leaves nothing torn). `durable` fsyncs the file before the rename.
 */
export function writeWhole(path: string, data: string | Uint8Array, durable = false): void {
  const tmp = join(dirname(path), `.${basename(path)}.writing`);
  try {
    writeFileSync(tmp, data);
    if (durable) {
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw err;
  }
}
