/**
 * A seeded synthetic market (sectors, regimes, fat tails, gaps, a toxic spike, a stablecoin, a gold token, a
 * delisting, spot and perpetual venues), staged in a temporary lakehouse and discovered like the real one.
 * The same seed gives the same market, byte for byte.
 */
import { int, params, type Static } from '../../../src/core/params.js';
import type { PreflightEnv, ScannerMeta, StageEnv, Universe } from '../../../src/core/plugin.js';
import type { ScanEnv, ScanResult, Scanner } from '../scanner.js';
import { DISCOVERY_PARAMS, discoverIn, universeIn } from './lakehouse.scanner.js';
import type { Lakehouse } from '../../../src/lakehouse/index.js';
import { stageOnce, stageTemporary } from './staged.js';

const PARAMS = params({
  symbols: int('Number of spot symbols.', 60, { min: 8 }),
  days: int('Number of days.', 750, { min: 10 }),
  seed: int('Random seed; the same seed gives the same market.', 42),
  ...DISCOVERY_PARAMS,
});
export type SyntheticParams = Static<typeof PARAMS>;

export class SyntheticScanner implements Scanner<SyntheticParams> {
  static readonly meta: ScannerMeta = {
    kind: 'scanner',
    name: 'synthetic',
    live: false,
    pointInTime: true,
    cacheable: true,
    readsLakehouse: false,
    description: 'A seeded synthetic market (sectors, regimes, fat tails, gaps, a toxic spike, a stablecoin, spot and perp venues), discovered like the lakehouse.',
    params: PARAMS,
  };

  async scan(p: SyntheticParams, env: StageEnv): Promise<ScanResult> {
    const { lakehouse, close } = await stage(p, env);
    return discoverIn(lakehouse, p, close);
  }

  /** The identity of the staged market (a function of its params), staged the same way as a scan. */
  async dataIdentity(p: SyntheticParams, env: ScanEnv): Promise<string> {
    const { lakehouse, close } = await stage(p, env);
    try {
      return lakehouse.dataIdentity();
    } finally {
      await close();
    }
  }

  /**
   * The staged market's venue and symbols table, for the preflight (a train window longer than the market is then
   * refused before the run starts). Only for a market staged once per process, which the scan then reuses; a larger
   * one would be staged twice, so its preflight does without.
   */
  async universe(p: SyntheticParams, env: PreflightEnv): Promise<Universe | undefined> {
    if (!sharedSize(p)) return undefined;
    const { lakehouse } = await stage(p, { ...env, progress: () => {} });
    return universeIn(lakehouse, p);
  }
}

/**
 * Symbols × days up to which a market is staged once per process and kept until it exits (a few MiB: the default
 * market is 60 × 750); a larger one is staged for its run alone and deleted with it, as a long-lived process (a queue
 * worker, an API host) would otherwise keep every one it was asked for.
 */
const SHARED_SIZE = 1_000_000;

const sharedSize = (p: SyntheticParams) => p.symbols * p.days <= SHARED_SIZE;

// The market is a function of these three params alone: staged once per process for every run that asks for it.
const stage = (p: SyntheticParams, env: ScanEnv) => {
  const fill = (lh: Lakehouse) => lh.seedSynthetic({ symbols: p.symbols, days: p.days, seed: p.seed, progress: env.progress });
  return sharedSize(p) ? stageOnce('synthetic', JSON.stringify([p.symbols, p.days, p.seed]), fill) : stageTemporary('synthetic', fill);
};
