/**
 * wholeNumber writes what Math.round(x).toLocaleString('en-US') writes (ICU, the reference here), without ICU for
 * the numbers it can group itself.
 */
import { wholeNumber } from '../../src/util/words.js';

test('the same text as toLocaleString en-US: signs, rounding, every group boundary, and the cases left to ICU', () => {
  const xs = [0, -0, 0.4, -0.4, 0.5, -0.5, 1, -1, 12, 999, 999.5, 1000, -1000, 1234.49, 99_999, 100_000, 123_456_789, -987_654_321.7, 2 ** 53 - 1, 2 ** 53 + 2, 1e21, 1e22, -1e25, NaN, Infinity, -Infinity];
  for (let k = 0; k < 16; k++) xs.push(10 ** k - 1, 10 ** k, -(10 ** k) + 0.6);
  for (const x of xs) expect({ x, text: wholeNumber(x) }).toEqual({ x, text: Math.round(x).toLocaleString('en-US') });
});
