/**
 * The order-level simulator's open, point in time: whether an order due at a day's open fills there may depend on
 * what is known at that open (its print, the booked prices before it) and never on the day's close. The toxic-bar
 * rule judges a bar by its close, so two markets that differ only in a day's close (a normal close, or a +620% spike
 * the rule does not book) must fill that day's open the same way. Hand-made panels through runOrderBook itself.
 */
import { runOrderBook, type OrderBookSettings } from '../../stages/backtest/order-book.js';
import type { BarPanel } from '../../stages/backtest/market-panel.js';
import { carryRates } from '../../src/portfolio/carry.js';
import type { DecisionPath } from '../../src/portfolio/simulator.js';

const DAYS = [20000, 20001, 20002, 20003, 20004, 20005];
const THRESHOLD = 5;

/**
 * One symbol: closes 100, 101, 102, then day 3 (open 102.5) closes at `day3`, then 103.5 and 104. A spike (a rise
 * above the threshold) is blanked as the toxic rule does (no close, no booked return) and the next close is booked
 * from the last good close (its reversal).
 */
function panel(day3: number): BarPanel {
  const printed = [100, 101, 102, day3, 103.5, 104];
  const spike = day3 / 102 - 1 > THRESHOLD;
  const close = Float64Array.from(printed, (c, t) => (spike && t === 3 ? NaN : c));
  const returns = new Float64Array(6).fill(NaN);
  for (let t = 1; t < 6; t++) {
    const prev = spike && t === 4 ? printed[2] : printed[t - 1];
    returns[t] = spike && t === 3 ? NaN : printed[t] / prev - 1;
  }
  const open = Float64Array.from([100, 100.5, 101.5, 102.5, 103, 103.8]);
  const calendar = Int32Array.from(DAYS);
  return {
    dates: calendar,
    symbols: ['AAA'],
    returns,
    close,
    open,
    volume: new Float64Array(6).fill(1e9),
    toxicThreshold: THRESHOLD,
    toxicBars: spike ? [{ symbol: 'AAA', date: DAYS[3], kind: 'spike', value: day3 / 102 - 1, booked: NaN }, { symbol: 'AAA', date: DAYS[4], kind: 'reversal', value: 103.5 / day3 - 1, booked: 103.5 / 102 - 1 }] : [],
    carry: carryRates(calendar, DAYS[0] - 1, Uint8Array.from([0]), 0, 0),
  };
}

const settings: OrderBookSettings = { capital: 10_000, fill: 'next_open', slippage: 0, commission: 0, feeFixed: 0, lot: Float64Array.from([0]), minNotional: Float64Array.from([0]) };
// Bought at the close of day 0 (the first rebalance is primed at its close); sold by the decision at day 2's close,
// due at day 3's open.
const path: DecisionPath = {
  calendar: Int32Array.from(DAYS),
  rebalances: [
    { at: 0, until: 2, weights: [{ symbol: 'AAA', weight: 1 }] },
    { at: 2, until: 5, weights: [] },
  ],
};

test('a sale due at an open fills at that open whether the day then closes normally or on a spike', () => {
  const normal = runOrderBook(panel(102.8), path, settings);
  const spiked = runOrderBook(panel(102 * 7.2), path, settings);
  const onDay3 = (s: typeof normal) => s.ledger!.fills.filter((f) => f.date === DAYS[3]);
  // The fill at day 3's open: its printed open, known then; not the close that comes after it.
  expect(onDay3(normal)).toEqual([expect.objectContaining({ at: 'open', side: 'sell', reference_price: 102.5 })]);
  expect(onDay3(spiked)).toEqual(onDay3(normal));
  // Every day up to day 3's open books the same: 100 → 101 → 102, and the sale at 102.5 holds cash afterwards.
  expect(Array.from(spiked.returns)).toEqual(Array.from(normal.returns));
  const units = 10_000 / 100;
  expect(normal.ledger!.cash.equity[3]).toBeCloseTo(units * 102.5, 9);
});

test('an open beyond the toxic threshold of the last booked price is not trusted: the order waits for the booked close', () => {
  const p = panel(102.8);
  p.open[3] = 102 * 7; // a +600% open print
  const s = runOrderBook(p, path, settings);
  const fills = s.ledger!.fills.filter((f) => f.date === DAYS[3]);
  expect(fills).toEqual([expect.objectContaining({ at: 'close', reference_price: 102.8 })]);
});

test('the participation cap at an open is decided by the volumes known before it: a later volume changes nothing today', () => {
  // No volume on any bar up to day 4; day 5 prints one (or not). The sale due at day 3's open must fill the same way.
  const fillsOnDay3 = (later: number) => {
    const p = panel(102.8);
    p.volume = Float64Array.from([NaN, NaN, NaN, NaN, NaN, later]);
    return runOrderBook(p, path, { ...settings, maxParticipation: 0.5 }).ledger!.fills.filter((f) => f.date === DAYS[3]);
  };
  const without = fillsOnDay3(NaN);
  // Nothing known to cap by: the whole sale fills at the open.
  expect(without).toEqual([expect.objectContaining({ at: 'open', quantity: 100 })]);
  expect(fillsOnDay3(1e9)).toEqual(without);
});
