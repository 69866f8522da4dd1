/**
 * The seeds' capital segmentation: a core of the most resilient assets and an aggressor sleeve of the highest
 * conviction. Scoring (docs/allocation.md): conviction is the champion ranker's score when a ranker ran, else the
 * return-to-risk ratio mu_i / sigma_i; the `aggressors` highest-conviction assets share (1 - core_fraction) of the
 * budget equally; every other asset is core and shares core_fraction in inverse-volatility proportions (the most
 * resilient, i.e. least volatile, get most). Bounds and caps are then met by the nearest feasible portfolio.
 */
import { fraction, int, params, type Static } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { feasibleOrProjected, requireLongOnly, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';

const PARAMS = params({ core_fraction: fraction('Share of capital in the core.', 0.9), aggressors: int('Number of aggressor assets.', 3, { min: 1 }) });
export type BarbellParams = Static<typeof PARAMS>;

export class BarbellEngine implements AllocationEngine<BarbellParams> {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'barbell',
    needs: 'variances',
    honours: ['groups', 'linear'],
    longOnly: true,
    description: 'The seeds\' capital segmentation: a core of the most resilient assets and an aggressor sleeve of the highest conviction.',
    params: PARAMS,
  };

  run(p: AllocationProblem, params: BarbellParams): EngineResult {
    requireLongOnly(p, 'barbell');
    const coreFraction = params.core_fraction ?? 0.9;
    const k = Math.min(params.aggressors ?? 3, Math.max(0, p.n - 1));
    const vol = Float64Array.from({ length: p.n }, (_, i) => Math.sqrt(p.cov[i * p.n + i]!));
    const score = p.conviction ?? Float64Array.from({ length: p.n }, (_, i) => p.mu[i]! / vol[i]!);
    const ranked = Array.from({ length: p.n }, (_, i) => i).sort((a, b) => (score[b]! - score[a]!) || a - b);
    const aggressors = new Set(ranked.slice(0, k));
    const w = new Float64Array(p.n);
    let coreInv = 0;
    for (let i = 0; i < p.n; i++) if (!aggressors.has(i)) coreInv += 1 / vol[i]!;
    const core = aggressors.size ? coreFraction : 1;
    for (let i = 0; i < p.n; i++) w[i] = aggressors.has(i) ? ((1 - coreFraction) * p.budget) / aggressors.size : (core * p.budget * (1 / vol[i]!)) / coreInv;
    const out = feasibleOrProjected(p, w);
    return { weights: out.weights, diagnostics: { ...out.diagnostics, aggressors: [...aggressors].map((i) => p.symbols[i]), core_fraction: coreFraction } };
  }
}
