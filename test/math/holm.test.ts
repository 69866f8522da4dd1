/** Holm's (1979) step-down adjustment against worked examples (R's p.adjust(p, "holm") gives the same). */
import { holm } from '../../src/math/multiple-testing.js';

test('a worked example: 0.01, 0.04, 0.03, 0.005 → 0.03, 0.06, 0.06, 0.02', () => {
  // Sorted: 0.005 × 4 = 0.02; 0.01 × 3 = 0.03; 0.03 × 2 = 0.06; 0.04 × 1 = 0.04, raised to the 0.06 before it.
  const got = holm([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((x, i) => expect(got[i]).toBeCloseTo(x, 15));
});

test('capped at 1, ties kept together, one test unchanged, none empty', () => {
  expect(holm([0.5, 0.6, 0.2])).toEqual([1, 1, 0.6000000000000001]);
  expect(holm([0.02, 0.02])).toEqual([0.04, 0.04]);
  expect(holm([0.3])).toEqual([0.3]);
  expect(holm([])).toEqual([]);
});
