/** A word as a POSIX shell reads it back: as it is when plain, else single-quoted (for commands a message suggests). */
export const shellArg = (x: string): string => (/^[\w./@:+-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`);
