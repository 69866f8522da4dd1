/** English for messages. */

/** "a ranker", "an engine". */
export const an = (word: string): string => (/^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`);
