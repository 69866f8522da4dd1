/**
 * Errors a user can act on. Every FractalError has a stable code; the CLI prints its message (and hint) without a
 * stack trace unless --debug, and maps `exitCode` to the process exit (2 invalid input/usage, 1 run failure).
 */
export class FractalError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly options: { hint?: string; exitCode?: 1 | 2; cause?: unknown; details?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FractalError';
  }
  get hint(): string | undefined {
    return this.options.hint;
  }
  get exitCode(): 1 | 2 {
    return this.options.exitCode ?? 1;
  }
}

/** Invalid input or usage: exit code 2. */
export const inputError = (code: string, message: string, hint?: string, details?: unknown) =>
  new FractalError(code, message, { hint, exitCode: 2, details });

/** A failure while running: exit code 1. */
export const runError = (code: string, message: string, hint?: string, cause?: unknown) =>
  new FractalError(code, message, { hint, exitCode: 1, cause });
