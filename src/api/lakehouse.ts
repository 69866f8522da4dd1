/** openLakehouse(dir): a handle on a lakehouse folder; the store and Arrow load only when it is called. */
import type { Lakehouse } from '../lakehouse/index.js';

export interface OpenLakehouseOptions {
  /** Open for writing (seed, import, ingest, declare symbols): takes the lock per commit. Default: read-only. */
  writable?: boolean;
  /** With `writable`: create the folder when missing (default true for writers). */
  create?: boolean;
}

/**
 * Opens the lakehouse at `dir` (default: FRACTAL_LAKEHOUSE, else ./lakehouse). Read-only handles never write or
 * lock, and fail (FractalError LAKEHOUSE_MISSING, exit 2) when the folder has no registry. Reading: symbols(),
 * registry(), readOhlcv(symbol, venue?), readReturns(req), readPrices(req), readToxicBars(req), readFunding(req),
 * dataIdentity(), status(), verify() (docs/lakehouse.md).
 */
export async function openLakehouse(dir?: string, options: OpenLakehouseOptions = {}): Promise<Lakehouse> {
  const m = await import('../lakehouse/index.js');
  return m.openLakehouse(dir ?? m.resolveLakehousePath(), { readOnly: !options.writable, ...(options.create !== undefined ? { create: options.create } : {}) });
}
