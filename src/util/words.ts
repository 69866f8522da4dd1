/** English for messages. */

/** "a ranker", "an engine". */
export const an = (word: string): string => (/^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`);

/**
 * `x` rounded to a whole number, its thousands grouped as en-US writes them ("12,345,678"): what
 * Math.round(x).toLocaleString('en-US') gives, without loading ICU's locale data for it (~10 ms at first use).
 */
export function wholeNumber(x: number): string {
  const r = Math.round(x);
  // Past the safe integers, -0, NaN and the infinities: as ICU writes them.
  if (!Number.isSafeInteger(r) || Object.is(r, -0)) return r.toLocaleString('en-US');
  return String(r).replace(/\B(?=(\d{3})+$)/g, ',');
}
