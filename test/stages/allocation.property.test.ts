/** Property tests (seeded generator): for random universes and every engine, weights sum to the budget and bounds and caps hold. */
import { EFFICIENT_ENGINES, ENGINES, randomProblem } from './fixtures/allocation/random-problem.js';
import { violation } from '../../src/portfolio/engine.js';
import { riskContributions } from '../../src/math/risk-parity.js';

describe.each(ENGINES.map((E) => [E.meta.name, E] as const))('%s', (name, Engine) => {
  test.each(Array.from({ length: 12 }, (_, k) => k + 1))('seed %i: sum = budget, bounds and cluster caps hold', (seed) => {
    const p = randomProblem(seed);
    const params = EFFICIENT_ENGINES[name]?.(p) ?? {};
    const w = new Engine().run(p, params).weights;
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(p.budget, 9);
    expect(violation(p, w)).toBeLessThanOrEqual(1e-9);
    if (name === 'risk_parity' && p.groups.length === 0 && p.ub.every((u) => u >= 1)) {
      for (const rc of riskContributions(p.cov, p.n, w)) expect(Math.abs(rc - 1 / p.n)).toBeLessThan(1e-9);
    }
  });
});
