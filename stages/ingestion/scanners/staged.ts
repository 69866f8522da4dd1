/**
 * Sources that are not a lakehouse (a CSV file, a synthetic market) are staged in a temporary lakehouse, so they
 * are read, health-checked, aligned and hashed by exactly the code that reads the real one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lakehouse } from '../../../src/lakehouse/index.js';

export async function stageTemporary(label: string, fill: (writable: Lakehouse) => Promise<unknown>): Promise<{ lakehouse: Lakehouse; close: () => Promise<void> }> {
  const { openLakehouse } = await import('../../../src/lakehouse/index.js');
  const dir = mkdtempSync(join(tmpdir(), `fractal-${label}-`));
  const close = async () => rmSync(dir, { recursive: true, force: true });
  try {
    // Deleted when the run closes it, and never read after a crash: written whole, not flushed to the disk.
    await fill(await openLakehouse(dir, { create: true, durable: false }));
    return { lakehouse: await openLakehouse(dir, { readOnly: true }), close };
  } catch (err) {
    await close();
    throw err;
  }
}
