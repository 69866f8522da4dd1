/**
 * The API's boundary: every function the entry point (index.ts) exports goes through `apiFunction`, which rewrites
 * the coded errors leaving it (thrown, or returned as a run's errors) from the command line's words to the API's:
 * `--lakehouse` becomes `lakehouse` (option-names.ts says which name each flag has). Codes, exit codes, locations
 * and causes are kept. The command line calls the modules behind the entry point directly, so it prints the errors as
 * they are written.
 */
import { FractalError } from '../core/errors.js';
import { CLI_FLAGS, CLI_PHRASES } from './option-names.js';
import type { RunResult } from './types.js';

/** A flag as a word of its own (not inside a longer word, nor a path's component: `/data/--out/lh` stays). */
const FLAG = /(?<![\w\-/\\.])--[a-z][a-z0-9-]*(?![\w/\\])/g;
const ONE_FLAG = /^--[a-z][a-z0-9-]*$/;

/** The API's name for `flag` in the function `fn`, or undefined when the table has none (the flag is kept). */
function apiName(flag: string, fn: string | undefined): string | undefined {
  const row = Object.hasOwn(CLI_FLAGS, flag) ? CLI_FLAGS[flag] : undefined;
  if (row === undefined || row === null || typeof row === 'string') return row ?? undefined;
  return (fn !== undefined && Object.hasOwn(row.in, fn) ? row.in[fn] : undefined) ?? row.api;
}

/**
 * A message or hint in the API's words, as the function `fn` reports it. Commands in backticks (`pipeline-run
 * lakehouse verify --lakehouse X`) are commands to run in a shell and stay whole; a backticked flag alone is renamed.
 */
export function apiText(text: string, fn?: string): string {
  let t = text;
  for (const [phrase, replacement] of CLI_PHRASES) t = t.replace(phrase, replacement);
  return t
    .split(/(`[^`\n]*`)/)
    .map((part, i) => {
      if (i % 2 === 0) return part.replace(FLAG, (flag) => apiName(flag, fn) ?? flag);
      const inner = part.slice(1, -1);
      return ONE_FLAG.test(inner) ? apiName(inner, fn) ?? part : part;
    })
    .join('');
}

/** A coded error in the API's words (the same object when nothing changes); anything else as it is. */
export function apiError(err: unknown, fn?: string): unknown {
  if (!(err instanceof FractalError)) return err;
  const message = apiText(err.message, fn);
  // The catalogue's hint too, when the raising site gave none: it is set on the copy.
  const hint = err.hint === undefined ? undefined : apiText(err.hint, fn);
  const more = err.more.map((m) => apiError(m, fn) as FractalError);
  if (message === err.message && hint === err.hint && more.every((m, i) => m === err.more[i])) return err;
  const e = new FractalError(err.code, message, { ...err.options, hint, ...(more.length ? { more } : {}) });
  if (err.stack) e.stack = err.stack.replace(err.message, () => message);
  return e;
}

/** An error as data (a run's `errors`, its summary's `error`) in the API's words. */
export function apiErrorInfo<T extends { message: string; hint?: string }>(info: T, fn?: string): T {
  return { ...info, message: apiText(info.message, fn), ...(info.hint === undefined ? {} : { hint: apiText(info.hint, fn) }) };
}

type AnyFunction = (...args: never[]) => unknown;
const boundaries = new WeakSet<object>();

/** Whether `f` is a function of the API's boundary (test/api/option-names.test.ts checks every export is). */
export const isApiFunction = (f: unknown): boolean => typeof f === 'function' && boundaries.has(f);

/**
 * `fn` as the API exports it under `name`: what it throws (or its promise rejects with) in the API's words, and what
 * it returns passed through `result` (a run's errors, a lakehouse handle's methods).
 */
export function apiFunction<F extends AnyFunction>(name: string, fn: F, result?: (value: unknown) => unknown): F {
  const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
  const api = function (this: unknown, ...args: unknown[]): unknown {
    let out: unknown;
    try {
      out = call.apply(this, args);
    } catch (err) {
      throw apiError(err, name);
    }
    if (out instanceof Promise) {
      return out.then(
        (value: unknown) => (result ? result(value) : value),
        (err: unknown) => {
          throw apiError(err, name);
        },
      );
    }
    return result ? result(out) : out;
  };
  Object.defineProperty(api, 'name', { value: fn.name || name });
  boundaries.add(api);
  return api as unknown as F;
}

/** A run's result with its errors (the preflight's, or the failed run's) in the API's words. */
export function apiRunResult(value: unknown): unknown {
  const r = value as RunResult;
  if (r.outcome === 'invalid') return { ...r, errors: r.errors.map((e) => apiErrorInfo(e, 'run')) };
  return r.summary.error ? { ...r, summary: { ...r.summary, error: apiErrorInfo(r.summary.error, 'run') } } : r;
}

/** A lakehouse handle whose methods (readReturns, importCsv, verify, ...) report errors in the API's words. */
export function apiLakehouse(value: unknown): unknown {
  const target = value as object;
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      if (typeof v !== 'function' || prop === 'constructor') return v;
      if (!methods.has(prop)) methods.set(prop, apiFunction('openLakehouse', (v as AnyFunction).bind(t)));
      return methods.get(prop);
    },
  });
}
