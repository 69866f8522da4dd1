/**
 * Reading what a `catch` caught, which TypeScript types as `unknown` (anything can be thrown), without asserting a
 * type it may not have.
 */

/** The message of what was thrown: an Error's `message`, anything else as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The `code` of what was thrown, when it has one (a Node.js system error's ENOENT, EACCES…; a FractalError's). */
export function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}
