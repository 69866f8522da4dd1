/**
 * Holds target weights with drift, on typed arrays. At the rebalance the traded notional Σ|target − current| is
 * charged at the cost rate (equity × (1 − cost)); each day the portfolio earns Σ wᵢ rᵢ (a missing bar is an
 * unchanged price) less the day's carry c (borrow and funding on the start-of-day exposure, carry.ts), and the
 * weights drift: wᵢ ← wᵢ (1 + rᵢ) / (1 + r_p − c). A day that takes the equity to zero or below liquidates the
 * portfolio: the return is clamped at −100% and every later day is 0.
 */
import { params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { carryOfDay } from '../carry.js';
import type { HoldingPeriod, HoldingResult, Simulator } from '../simulator.js';

export class VectorizedSimulator implements Simulator {
  static readonly meta: PluginMeta = {
    kind: 'simulator',
    name: 'vectorized',
    description: 'Holds weights between rebalances with drift, charging costs on traded notional and daily borrow and funding on exposure, on typed arrays.',
    params: params({}),
  };

  hold(p: HoldingPeriod): HoldingResult {
    const T = p.dates.length;
    const n = p.symbols.length;
    const w = Float64Array.from(p.target);
    let turnover = 0;
    for (let j = 0; j < n; j++) turnover += Math.abs(p.target[j] - p.current[j]);
    const cost = turnover * p.costRate;
    const out = new Float64Array(T);
    let liquidated = false;
    let borrow = 0;
    let funding = 0;
    for (let t = 0; t < T; t++) {
      if (liquidated) continue; // out[t] stays 0: nothing left to earn on
      let rp = 0;
      for (let j = 0; j < n; j++) {
        const r = p.returns[j * T + t];
        if (w[j] !== 0 && Number.isFinite(r)) rp += w[j] * r;
      }
      const c = p.carry ? carryOfDay(w, t, T, p.carry) : { borrow: 0, funding: 0 };
      const grow = 1 + rp - c.borrow - c.funding;
      const net = t === 0 ? (1 - cost) * grow - 1 : grow - 1;
      if (net <= -1 || grow <= 0) {
        out[t] = -1;
        liquidated = true;
        w.fill(0);
        continue;
      }
      out[t] = net;
      borrow += c.borrow;
      funding += c.funding;
      for (let j = 0; j < n; j++) {
        const r = p.returns[j * T + t];
        if (w[j] !== 0) w[j] = (w[j] * (1 + (Number.isFinite(r) ? r : 0))) / grow;
      }
    }
    return { returns: out, end: w, turnover, cost, borrow, funding, liquidated };
  }
}
