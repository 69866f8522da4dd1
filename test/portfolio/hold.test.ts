/**
 * holdPath (src/portfolio/hold.ts): a decision path on a 9-day calendar held by the vectorized simulator over a
 * market where X gains 1% a day, every figure worked out by hand: half the book in X for two days and the rest cash
 * is 0.5 × 1.01² + 0.5 = 1.01005; then a cash decision. And the holding periods each decision gets.
 */
import type { ReplayDecision } from '../../src/core/plugin.js';
import type { ReturnsMatrix } from '../../src/core/context.js';
import { holdPath, type HoldSettings } from '../../src/portfolio/hold.js';
import type { DecisionPath, Simulation, Simulator, SimulatorMarket } from '../../src/portfolio/simulator.js';
import { isoFromDay } from '../../src/util/dates.js';
import { VectorizedSimulator } from '../../stages/backtest/simulators/vectorized.simulator.js';

const calendar = Int32Array.from({ length: 9 }, (_, i) => 20_000 + i);
const market: SimulatorMarket = {
  toxicThreshold: 10,
  async readReturns(req): Promise<ReturnsMatrix> {
    const dates = calendar.filter((d) => d >= Number(req.start) && d <= Number(req.end));
    return { dates, symbols: ['X'], values: new Float64Array(dates.length).fill(0.01) };
  },
  readToxicBars: async () => [],
  readFunding: async () => undefined,
  readBars: async () => { throw new Error('no bars'); },
  closesAlone: () => [],
  assetType: () => 'spot',
  tradingRules: () => ({}),
};
const costs = { slippageBps: 0, commissionBps: 0, borrowRate: 0, fundingRate: 0 };
const decisions: ReplayDecision[] = [
  { weights: [{ symbol: 'X', weight: 0.5, direction: 'LONG' }, { symbol: 'Y', weight: 0, direction: 'LONG' }], winners: 2, lastSeen: calendar[2], engine: 'hrp' },
  { weights: [], winners: 0, lastSeen: calendar[5], engine: null, cash_reason: 'no winners' },
];
const settings = (simulator: Simulator): HoldSettings => ({ calendar, rebalances: [2, 5], test: 2, costs, market, simulator: { name: 'sim', instance: simulator, params: {} } });

test('held with drift: 1.01005 over the first window, cash after it and through the second', async () => {
  const p = await holdPath(decisions, settings(new VectorizedSimulator()));
  expect(Array.from(p.dates)).toEqual(Array.from(calendar.subarray(3)));
  expect(p.returns[0]).toBeCloseTo(0.005, 15);
  expect((1 + p.returns[0]!) * (1 + p.returns[1]!)).toBeCloseTo(1.01005, 14);
  expect(Array.from(p.returns.subarray(2))).toEqual([0, 0, 0, 0]);
  expect(p.windows[0]).toMatchObject({ window: 0, as_of: isoFromDay(calendar[2]!), start: isoFromDay(calendar[3]!), end: isoFromDay(calendar[4]!), holdings: 1, winners: 2, engine: 'hrp', weights: [{ symbol: 'X', weight: 0.5 }], liquidated: false });
  expect(p.windows[0]!.return).toBeCloseTo(0.01005, 14);
  // Bought 0.5, sold 0.5 × 1.01² / 1.01005 at the end of the holding period.
  expect(p.windows[0]!.turnover).toBeCloseTo(0.5 + (0.5 * 1.0201) / 1.01005, 14);
  expect(p.windows[1]).toMatchObject({ window: 1, as_of: isoFromDay(calendar[5]!), start: isoFromDay(calendar[6]!), end: isoFromDay(calendar[7]!), holdings: 0, engine: null, cash_reason: 'no winners', return: 0 });
  expect(p.weightRows).toEqual([{ date: calendar[2], symbol: 'X', weight: 0.5 }]);
  expect(p.liquidated).toBe(false);
});

test('each decision is held from the next day for test days, never past the next decision or the calendar', async () => {
  let seen: DecisionPath | undefined;
  const spy: Simulator = {
    async simulate(path): Promise<Simulation> {
      seen = path;
      return { dates: new Int32Array(0), returns: new Float64Array(0), liquidated: false, windows: path.rebalances.map(() => ({ turnover: 0, cost: 0, borrow: 0, funding: 0, return: 0, liquidated: false, toxic: [] })) };
    },
  };
  await holdPath([...decisions, decisions[1]!], { ...settings(spy), rebalances: [1, 2, 7], test: 3 });
  // 1: min(1 + 3, next 2) = 2; 2: min(2 + 3, 7) = 5; 7: min(7 + 3, last day 8) = 8. Zero weights are not held.
  expect(seen!.rebalances).toEqual([
    { at: 1, until: 2, weights: [{ symbol: 'X', weight: 0.5 }] },
    { at: 2, until: 5, weights: [] },
    { at: 7, until: 8, weights: [] },
  ]);
});
