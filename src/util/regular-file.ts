/**
 * Opening files for reading without trusting what sits at their paths (the lakehouse's, a run folder's, a CSV to
 * import). A FIFO in place of a data
 * file or of registry.json made a run hang in a synchronous open that Ctrl-C and SIGTERM could not interrupt (the
 * kernel restarts the call), and a link to /dev/zero read without limit (found by a fault-injection review). So every
 * file is opened with O_NONBLOCK (an open of a FIFO returns at once, whether a writer is there or not) and refused
 * unless fstat says it is a regular file, before a byte is read; and nothing is read past a limit the caller knows
 * (the size the registry records, or a plausible size for the file).
 */
import { closeSync, constants, fstatSync, openSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';

/** O_RDONLY | O_NONBLOCK | O_NOCTTY (the last two where the platform has them): never waits on a FIFO or a device. */
export const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/** What a file that is not a regular file is, as a message says it. */
export function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Thrown when a path is not a regular file (`kind` says what it is); nothing was read from it. */
export class NotRegularFile extends Error {
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path} is ${kind}, not a file`);
    this.name = 'NotRegularFile';
  }
}

/** Thrown when a regular file is larger than its caller can plausibly need; nothing was read from it. */
export class FileTooLarge extends Error {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${path} is ${size} bytes, above the ${limit} bytes it can plausibly hold`);
    this.name = 'FileTooLarge';
  }
}

/**
 * Opens a regular file for reading (READ_FLAGS, and `extraFlags` such as O_NOFOLLOW), with its stat; anything else is
 * closed and NotRegularFile.
 */
export function openRegularSync(path: string, extraFlags = 0): { fd: number; st: BigIntStats } {
  const fd = openSync(path, READ_FLAGS | extraFlags);
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new NotRegularFile(path, kindOf(st));
    return { fd, st };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * A regular file's bytes, at most `limit` of them: opened without blocking (READ_FLAGS), refused unless a regular
 * file (NotRegularFile) no larger than `limit` (FileTooLarge), read to the size fstat gave. System errors (ENOENT,
 * EACCES…) are thrown as they are.
 */
export async function readRegularFile(path: string, limit: number): Promise<Buffer> {
  const fh = await open(path, READ_FLAGS);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFile(path, kindOf(st));
    if (st.size > limit) throw new FileTooLarge(path, st.size, limit);
    const buf = Buffer.allocUnsafe(st.size);
    let n = 0;
    while (n < st.size) {
      const { bytesRead } = await fh.read(buf, n, st.size - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return n === st.size ? buf : buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}
