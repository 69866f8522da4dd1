/**
 * Crash-safe file writes. A file is written to a temporary name next to its target, fsynced, then renamed over the
 * target (rename is atomic on POSIX), and the directory is fsynced so the rename itself survives a power cut.
 * A reader therefore sees the old file or the new one, never a torn one.
 */
import { open, rename, mkdir, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Marker in temporary file names; recovery deletes leftovers that carry it. */
export const TMP_MARK = '.tmp-';

export function tempPathFor(target: string): string {
  return join(dirname(target), `${basename(target)}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Writes `data` to a fresh temporary file beside `target` and fsyncs it (unless not `durable`: a lakehouse that does
 * not outlive the process); the caller renames it (or a journal does).
 */
export async function writeTemp(target: string, data: Uint8Array | string, durable = true): Promise<string> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (err) {
    // A full disk mid-write: no partial temporary file is left behind.
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  return tmp;
}

export async function fsyncDir(dir: string): Promise<void> {
  // Directories can be opened read-only and fsynced on Linux/macOS; some filesystems refuse (EINVAL/EISDIR): ignore.
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    /* best effort */
  } finally {
    await fh?.close();
  }
}

/** temp + fsync + rename + fsync(dir); not `durable`: temp + rename (still never torn, not flushed). */
export async function writeFileAtomic(target: string, data: Uint8Array | string, durable = true): Promise<void> {
  const tmp = await writeTemp(target, data, durable);
  try {
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  if (durable) await fsyncDir(dirname(target));
}
