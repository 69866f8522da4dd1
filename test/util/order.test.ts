/** stableOrder against the comparator sort it replaces (Array.prototype.sort is stable), ties and signed zeros included. */
import { stableOrder } from '../../src/util/order.js';

const byComparator = (keys: Float64Array): number[] => Array.from(keys.keys()).sort((a, b) => keys[a]! - keys[b]!);

test('stableOrder is the stable ascending argsort', () => {
  const cases = [
    [],
    [1],
    [3, 1, 2],
    [0.5, 0.5, 0.1, 0.5, 0.1],
    [0, -0, 0, -0, -1, 1],
    [2, Infinity, -Infinity, 2, 0],
  ].map((c) => Float64Array.from(c));
  let seed = 7;
  const draw = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  // Many ties: keys on a coarse grid.
  cases.push(Float64Array.from({ length: 500 }, () => Math.floor(draw() * 20) / 4));
  for (const keys of cases) expect(Array.from(stableOrder(keys))).toEqual(byComparator(keys));
});
