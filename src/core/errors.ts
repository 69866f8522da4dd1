/**
 * Errors a user can act on. Every FractalError has a stable code from the catalogue (error-catalogue.ts); the CLI
 * prints its message (and hint) without a stack trace unless --debug, and maps `exitCode` to the process exit (2
 * invalid input/usage, 1 run failure). An error caused by a param carries the param's path inside its stage's
 * params; the runner turns that into the file:line:col of the pipeline file that set it.
 */
import { ERRORS, isErrorCode, type ErrorCode, type InputErrorCode, type RunErrorCode } from './error-catalogue.js';
import { codeOf } from '../util/thrown.js';

export type { ErrorCode, InputErrorCode, RunErrorCode };

/** A param's path inside its stage's params, e.g. ['symbol_bounds', 'BTCUSDT'] or ['engine', 'params', 'budgets']. */
export type ParamPath = (string | number)[];

/** Where in a config file (1-based line and column), as the config layer's diagnostics say it. */
export interface ErrorLocation {
  file: string;
  line: number;
  column: number;
}

export interface ErrorExtra {
  /** The param that caused the error, relative to the params of the stage that raised it. */
  param?: ParamPath;
  /** Point at the param's key rather than its value (a mapping keyed by an unknown symbol). */
  paramKey?: boolean;
  /** Where the error is, when the raising site already knows (set by the runner from `param`). */
  location?: ErrorLocation;
  cause?: unknown;
  details?: unknown;
}

export interface FractalErrorOptions extends ErrorExtra {
  hint?: string;
  exitCode?: 1 | 2;
  /** The stage (index and type in the pipeline) the error came from, when a replay or a worker knows it. */
  stage?: { index: number; type: string };
  /** Other problems found at the same time (preflight reports every one). */
  more?: FractalError[];
}

export class FractalError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: FractalErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FractalError';
  }
  /** The raising site's hint, else the catalogue's. */
  get hint(): string | undefined {
    return this.options.hint ?? (ERRORS[this.code] as { hint?: string } | undefined)?.hint;
  }
  get exitCode(): 1 | 2 {
    return this.options.exitCode ?? ERRORS[this.code]?.exit ?? 1;
  }
  get param(): ParamPath | undefined {
    return this.options.param;
  }
  get location(): ErrorLocation | undefined {
    return this.options.location;
  }
  get stage(): { index: number; type: string } | undefined {
    return this.options.stage;
  }
  get details(): unknown {
    return this.options.details;
  }
  /** The same error blamed on `param` (relative to the raising stage's params), unless it names one already. */
  atParam(param: ParamPath): FractalError {
    return this.param ? this : new FractalError(this.code, this.message, { ...this.options, param });
  }
  /** The same error, its param path prefixed (an engine's param seen from the allocation stage's params). */
  underParam(prefix: ParamPath): FractalError {
    if (!this.param) return this;
    return new FractalError(this.code, this.message, { ...this.options, param: [...prefix, ...this.param] });
  }
  get more(): FractalError[] {
    return this.options.more ?? [];
  }
  withMore(more: FractalError[]): FractalError {
    return more.length ? new FractalError(this.code, this.message, { ...this.options, more: [...this.more, ...more] }) : this;
  }
  /** The same error with more options (a location, the stage it came from) unless already set. */
  withDefaults(more: Pick<FractalErrorOptions, 'location' | 'stage'>): FractalError {
    const next = { ...more, ...Object.fromEntries(Object.entries(this.options).filter(([, v]) => v !== undefined)) };
    const e = new FractalError(this.code, this.message, next);
    if (this.stack) e.stack = this.stack;
    return e;
  }
}

/** Invalid input or usage: exit code 2. */
export const inputError = (code: InputErrorCode, message: string, hint?: string, extra: ErrorExtra = {}) =>
  new FractalError(code, message, { ...extra, hint, exitCode: 2 });

/** A failure while running: exit code 1. */
export const runError = (code: RunErrorCode, message: string, hint?: string, extra: ErrorExtra = {}) =>
  new FractalError(code, message, { ...extra, hint, exitCode: 1 });

// ---------------------------------------------------------------------------------------------- system errors

const SYSTEM_CODES: Record<string, { code: RunErrorCode; what: string }> = {
  ENOSPC: { code: 'DISK_FULL', what: 'no space left on the device' },
  EDQUOT: { code: 'DISK_FULL', what: 'the disk quota is exhausted' },
  EACCES: { code: 'NO_PERMISSION', what: 'permission denied' },
  EPERM: { code: 'NO_PERMISSION', what: 'operation not permitted' },
  EROFS: { code: 'READ_ONLY_FILESYSTEM', what: 'the file system is read-only' },
  EMFILE: { code: 'TOO_MANY_OPEN_FILES', what: 'too many open files in this process' },
  ENFILE: { code: 'TOO_MANY_OPEN_FILES', what: 'too many open files on the system' },
};

/** A Node system error (errno code) this module turns into a coded error. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  const code = codeOf(err);
  return err instanceof Error && typeof code === 'string' && Object.hasOwn(SYSTEM_CODES, code);
}

/**
 * A file-system failure as a coded error naming the folder it happened in (`where` says what was being done, e.g.
 * "writing the run folder /x/.r.partial"). Errors that are not such system errors are returned unchanged.
 */
export function systemError(err: unknown, where?: string): unknown {
  if (!isSystemError(err)) return err;
  const spec = SYSTEM_CODES[err.code];
  const path = err.path ? ` (${err.syscall ?? 'access'} ${err.path})` : '';
  return runError(spec.code, `${spec.what}${where ? ` while ${where}` : ''}${path}`, undefined, { cause: err });
}

/** Any thrown value as a FractalError: coded ones as they are, system errors mapped, anything else `fallback`. */
export function asFractalError(err: unknown, fallback: 'STAGE_FAILED' | 'INTERNAL_ERROR' = 'INTERNAL_ERROR', where?: string): FractalError {
  if (err instanceof FractalError) return err;
  const mapped = systemError(err, where);
  if (mapped instanceof FractalError) return mapped;
  const message = (err as Error)?.message ?? String(err);
  return new FractalError(fallback, message, { cause: err, exitCode: 1 });
}

/** A FractalError as plain data (to cross a worker thread), and back. */
export interface SerialisedError {
  code: string;
  message: string;
  hint?: string;
  exitCode?: 1 | 2;
  param?: ParamPath;
  location?: ErrorLocation;
  stage?: { index: number; type: string };
  stack?: string;
}

export function serialiseError(err: unknown): SerialisedError {
  const e = asFractalError(err, 'STAGE_FAILED');
  return {
    code: e.code, message: e.message, exitCode: e.exitCode,
    ...(e.options.hint ? { hint: e.options.hint } : {}),
    ...(e.param ? { param: e.param } : {}),
    ...(e.location ? { location: e.location } : {}),
    ...(e.stage ? { stage: e.stage } : {}),
    ...(e.code === 'STAGE_FAILED' && (err as Error)?.stack ? { stack: (err as Error).stack } : {}),
  };
}

export function deserialiseError(s: SerialisedError, prefix = ''): FractalError {
  const code: ErrorCode = isErrorCode(s.code) ? s.code : 'STAGE_FAILED';
  const e = new FractalError(code, `${prefix}${s.message}`, { hint: s.hint, exitCode: s.exitCode, param: s.param, location: s.location, stage: s.stage });
  if (s.stack) e.stack = s.stack;
  return e;
}
