/**
 * Holds target weights with drift, on typed arrays. At the rebalance the traded notional Σ|target − current| is
 * charged at the cost rate (equity × (1 − cost)); each day the portfolio earns Σ wᵢ rᵢ (a missing bar is an
 * unchanged price) less the day's carry c (borrow and funding on the start-of-day exposure, src/portfolio/carry.ts), and the
 * weights drift: wᵢ ← wᵢ (1 + rᵢ) / (1 + r_p − c). A day that takes the equity to zero or below liquidates the
 * portfolio: the return is clamped at −100% and every later day is 0. When a holding period ends before the next
 * decision the book is sold at its last close (that trade charged too) and the days until the next decision are cash.
 * Each day's start-of-day gross Σ|wᵢ| and net Σwᵢ are kept as it goes: the realised exposure (stages/backtest/exposure.ts).
 */
import type { ToxicBar } from '../../../src/core/context.js';
import { params } from '../../../src/core/params.js';
import type { SimulatorMeta } from '../../../src/core/plugin.js';
import { carryOfDay, carryRates } from '../../../src/portfolio/carry.js';
import { alignColumns } from '../market-panel.js';
import { windowBounds, type Costs, type DecisionPath, type HoldingPeriod, type HoldingResult, type Simulation, type SimulatedWindow, type Simulator, type SimulatorMarket } from '../../../src/portfolio/simulator.js';
import { codeOf } from '../../../src/util/thrown.js';

export class VectorizedSimulator implements Simulator {
  static readonly meta: SimulatorMeta = {
    kind: 'simulator',
    name: 'vectorized',
    model: 'weights',
    description: 'Holds weights between rebalances with drift, charging costs on traded notional and daily borrow and funding on exposure, on typed arrays.',
    params: params({}),
  };

  async simulate(path: DecisionPath, market: SimulatorMarket, costs: Costs): Promise<Simulation> {
    const { calendar } = path;
    const costRate = (costs.slippageBps + costs.commissionBps) / 10_000;
    const T = calendar.length;
    const dates: number[] = [];
    const daily: number[] = [];
    const gross: number[] = [];
    const net: number[] = [];
    const windows: SimulatedWindow[] = [];
    let held = new Map<string, number>();
    let dead = false;
    for (let k = 0; k < path.rebalances.length; k++) {
      const { at: t, until: lastDay, next: nextDecision } = windowBounds(path, k);
      const asOf = calendar[t];
      const weights = path.rebalances[k].weights.filter((w) => w.weight !== 0);
      const symbols = [...new Set([...weights.map((w) => w.symbol), ...held.keys()])].sort();
      const target = Float64Array.from(symbols, (sym) => weights.find((w) => w.symbol === sym)?.weight ?? 0);
      const current = Float64Array.from(symbols, (sym) => held.get(sym) ?? 0);
      // Realised returns of the window, read after the decision: the decision never saw them.
      const windowDates = calendar.subarray(t + 1, lastDay + 1);
      let realised: Float64Array = new Float64Array(0);
      let toxic: ToxicBar[] = [];
      let funding: Float64Array | undefined;
      if (symbols.length && windowDates.length) {
        // A held symbol delisted before or during the window has no bars there: its price stays where it was.
        const r = await market.readReturns({ symbols, start: windowDates[0], end: windowDates[windowDates.length - 1], allowEmpty: true }).catch((err) => {
          if (codeOf(err) === 'LAKEHOUSE_MISSING_DATA') return undefined; // none of them has a bar
          throw err;
        });
        realised = r ? alignColumns(r.dates, r.symbols, r.values, windowDates, symbols) : new Float64Array(symbols.length * windowDates.length).fill(NaN);
        // Bad prints in the held names: booked as the decisions saw them (the same toxic-bar rule), and recorded.
        if (r) toxic = await market.readToxicBars({ symbols, start: windowDates[0], end: windowDates[windowDates.length - 1], allowEmpty: true });
        const f = await market.readFunding({ symbols, start: windowDates[0], end: windowDates[windowDates.length - 1] });
        if (f) funding = alignColumns(f.dates, f.symbols, f.values, windowDates, symbols);
      }
      const perp = Uint8Array.from(symbols, (sym) => (market.assetType(sym) === 'perp' ? 1 : 0));
      const carry = carryRates(windowDates, asOf, perp, costs.borrowRate, costs.fundingRate, funding);
      const result: HoldingResult = dead
        ? { returns: new Float64Array(windowDates.length), end: new Float64Array(symbols.length), turnover: 0, cost: 0, borrow: 0, funding: 0, liquidated: true }
        : this.hold({ dates: windowDates, symbols, returns: realised, target, current, costRate, carry });
      dead = dead || result.liquidated;
      // When the holding period ends before the next decision (test_window < step_size), the book is sold at
      // its end: that trade is charged too, on the last held day, and the days until the next decision are cash.
      const exits = lastDay < nextDecision && !dead && windowDates.length > 0;
      let exitTurnover = 0;
      if (exits) {
        for (let j = 0; j < symbols.length; j++) exitTurnover += Math.abs(result.end[j]);
        const L = windowDates.length - 1;
        result.returns[L] = (1 + result.returns[L]) * (1 - exitTurnover * costRate) - 1;
      }
      for (let i = 0; i < windowDates.length; i++) {
        dates.push(windowDates[i]);
        daily.push(result.returns[i]);
        gross.push(result.exposure?.gross[i] ?? 0);
        net.push(result.exposure?.net[i] ?? 0);
      }
      for (let i = lastDay + 1; i <= nextDecision && i < T; i++) {
        dates.push(calendar[i]);
        daily.push(0);
        gross.push(0);
        net.push(0);
      }
      held = new Map(symbols.map((sym, j) => [sym, lastDay < nextDecision ? 0 : result.end[j]] as const).filter(([, w]) => w !== 0));
      windows.push({
        turnover: result.turnover + exitTurnover,
        cost: result.cost + exitTurnover * costRate,
        borrow: result.borrow,
        funding: result.funding,
        return: result.returns.reduce((g: number, x: number) => g * (1 + x), 1) - 1,
        liquidated: result.liquidated,
        toxic,
      });
    }
    return { dates: Int32Array.from(dates), returns: Float64Array.from(daily), windows, liquidated: dead, exposure: { gross: Float64Array.from(gross), net: Float64Array.from(net) } };
  }

  hold(p: HoldingPeriod): HoldingResult {
    const T = p.dates.length;
    const n = p.symbols.length;
    const w = Float64Array.from(p.target);
    let turnover = 0;
    for (let j = 0; j < n; j++) turnover += Math.abs(p.target[j] - p.current[j]);
    const cost = turnover * p.costRate;
    const out = new Float64Array(T);
    // The book held over each day: the start-of-day weights, before the day's move (0 once liquidated).
    const gross = new Float64Array(T);
    const netExposure = new Float64Array(T);
    let liquidated = false;
    let borrow = 0;
    let funding = 0;
    for (let t = 0; t < T; t++) {
      if (liquidated) continue; // out[t] stays 0: nothing left to earn on
      let rp = 0;
      let g = 0;
      let x = 0;
      for (let j = 0; j < n; j++) {
        if (w[j] === 0) continue;
        const r = p.returns[j * T + t];
        if (Number.isFinite(r)) rp += w[j] * r;
        g += Math.abs(w[j]);
        x += w[j];
      }
      gross[t] = g;
      netExposure[t] = x;
      const c = p.carry ? carryOfDay(w, t, T, p.carry) : { borrow: 0, funding: 0 };
      const grow = 1 + rp - c.borrow - c.funding;
      const net = t === 0 ? (1 - cost) * grow - 1 : grow - 1;
      // The day's carry is booked whether or not the day liquidates: the book was held over it (and the order-level
      // simulator pays it out of cash before it marks the day's move).
      borrow += c.borrow;
      funding += c.funding;
      if (net <= -1 || grow <= 0) {
        out[t] = -1;
        liquidated = true;
        w.fill(0);
        continue;
      }
      out[t] = net;
      for (let j = 0; j < n; j++) {
        const r = p.returns[j * T + t];
        if (w[j] !== 0) w[j] = (w[j] * (1 + (Number.isFinite(r) ? r : 0))) / grow;
      }
    }
    return { returns: out, end: w, turnover, cost, borrow, funding, liquidated, exposure: { gross, net: netExposure } };
  }
}
