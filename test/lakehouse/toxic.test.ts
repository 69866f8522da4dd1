/**
 * The toxic-bar rule (src/lakehouse/toxic.ts) on hand-made price paths whose every return is worked out here:
 * a spike above the threshold is not booked, the bar that gives it back is booked from the last good close, a
 * rise that persists stays unbooked, and a recovery from a crash is not a spike.
 */
import { toxicBars } from '../../src/lakehouse/toxic.js';

test('a +620% print and its reversal: the spike is not booked, the reversal is booked from the last good close', () => {
  // 100 -> 720 (+620%) -> 106 (gross 106/720 = 0.147 < 1/6): the real move between good closes is 100 -> 106 = +6%.
  const bars = toxicBars([100, 100, 720, 106, 107], 5);
  expect(bars).toHaveLength(2);
  expect(bars[0]).toMatchObject({ index: 2, kind: 'spike' });
  expect(bars[0].value).toBeCloseTo(6.2, 12);
  expect(bars[0].booked).toBeNaN();
  expect(bars[1]).toMatchObject({ index: 3, kind: 'reversal' });
  expect(bars[1].value).toBeCloseTo(106 / 720 - 1, 12);
  expect(bars[1].booked).toBeCloseTo(0.06, 12);
});

test('boundaries: exactly +500% is kept; a next-day gross of exactly 1/(1+threshold) is not a reversal', () => {
  expect(toxicBars([1, 6], 5)).toEqual([]);
  expect(toxicBars([1, 6.000001], 5).map((b) => b.kind)).toEqual(['spike']);
  // threshold 3: spike x5, then gross exactly 0.25 (kept as an ordinary return) or just below (a reversal).
  expect(toxicBars([1, 5, 1.25], 3).map((b) => b.kind)).toEqual(['spike']);
  const below = toxicBars([1, 5, 1.25 - 1e-9], 3);
  expect(below.map((b) => b.kind)).toEqual(['spike', 'reversal']);
  expect(below[1].booked).toBeCloseTo(0.25 - 1e-9, 12);
});

test('a rise that persists stays unbooked; the series goes on from the new level', () => {
  const bars = toxicBars([10, 10, 80, 84, 42], 5);
  expect(bars).toHaveLength(1);
  expect(bars[0]).toMatchObject({ index: 2, kind: 'spike' });
  // -50% afterwards is a real move on the new level, not a reversal (gross 0.5 > 1/6).
});

test('a recovery from a crash is booked: the crash was booked when it happened', () => {
  // 100 -> 12 (-88%, gross 0.12 < 1/6) -> 96 (x8): the x8 gives the fall back; dropping it would keep a -88% loss.
  expect(toxicBars([100, 12, 96, 97], 5)).toEqual([]);
});

test('two spikes in a row then a fall: the reversal is bridged from the close before the first spike', () => {
  // 100 -> 700 -> 4900 -> 640: gross 640/4900 < 1/6, bridged 640/100 - 1 = +540% is above the threshold: not booked.
  const bars = toxicBars([100, 700, 4900, 640], 5);
  expect(bars.map((b) => [b.index, b.kind])).toEqual([[1, 'spike'], [2, 'spike'], [3, 'reversal']]);
  expect(bars[2].booked).toBeNaN();
  // ... and when the bridged move is ordinary it is booked: 100 -> 700 -> 4900 -> 110 = +10%.
  const ok = toxicBars([100, 700, 4900, 110], 5);
  expect(ok[2].booked).toBeCloseTo(0.1, 12);
});

test('causal: appending bars never changes what was decided about earlier bars', () => {
  const path = [100, 101, 720, 106, 107, 900, 1000, 150, 151];
  const all = toxicBars(path, 5);
  for (let n = 2; n <= path.length; n++) expect(toxicBars(path.slice(0, n), 5)).toEqual(all.filter((b) => b.index < n));
});
