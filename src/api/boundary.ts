/**
 * The API's boundary: every function the entry point (index.ts) exports goes through `apiFunction`, which rewrites
 * the coded errors leaving it (thrown, or returned as a run's errors) from the command line's words to the API's:
 * `--lakehouse` becomes `lakehouse` (option-names.ts says which name each flag has). Codes, exit codes, locations
 * and causes are kept. What a function returns that has methods (a lakehouse handle, its returns panel, the BullMQ
 * executors) comes back with its methods on the boundary too, in the words of the function that returned it; data
 * (a run's result, arrays, typed arrays) comes back as it is. The command line calls the modules behind the entry
 * point directly, so it prints the errors as they are written.
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

/** How a function of the boundary treats what it returns and what it is given. */
export interface ApiFunctionOptions {
  /** What it returns, rewritten before apiValue sees it (a run's errors: apiRunResult). */
  result?: (value: unknown) => unknown;
  /**
   * Whether the objects the API returned, among its arguments and their own properties, reach it as Fractal's own
   * (`run(file, { ...await bullmqExecutors() })`: the run calls the executors itself, and what they throw is recorded
   * in the run folder in the command line's words, as everything there is; run() rewrites what it returns). Not for
   * a function that hands its arguments to the program's own code (a plugin's implementation keeps what it holds).
   */
  unwrapArguments?: boolean;
}

/**
 * `fn` as the API exports it under `name`: what it throws (or its promise rejects with) in the API's words, and what
 * it returns passed through `options.result`, then through `apiValue` (an object with methods, such as a lakehouse
 * handle, comes back with its methods on the boundary too).
 */
export function apiFunction<F extends AnyFunction>(name: string, fn: F, options: ApiFunctionOptions = {}): F {
  const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
  const { result, unwrapArguments = false } = options;
  const done = (value: unknown) => apiValue(result ? result(value) : value, name);
  const api = function (this: unknown, ...args: unknown[]): unknown {
    let out: unknown;
    try {
      out = call.apply(this, unwrapArguments ? ownArguments(args) : args);
    } catch (err) {
      throw apiError(err, name);
    }
    if (out instanceof Promise) {
      return out.then(done, (err: unknown) => {
        throw apiError(err, name);
      });
    }
    return done(out);
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

// ------------------------------------------------------------------------------------ objects the API returns

/** Built-in classes whose instances are data, never wrapped. */
const DATA_CLASSES: (abstract new (...args: never[]) => unknown)[] = [Map, Set, WeakMap, WeakSet, Date, RegExp, Promise, Error, ArrayBuffer, SharedArrayBuffer];
/** The objects the boundary wraps, by the function whose words their errors take: the same object, the same wrapper. */
const wrappers = new Map<string, WeakMap<object, object>>();
/** Each wrapper's object. */
const wrapped = new WeakMap<object, object>();

/** Whether `o` holds an own method as a value (an accessor is not read: it may compute, as a lazy column does). */
function hasOwnMethod(o: object): boolean {
  for (const key of Object.keys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d !== undefined && typeof d.value === 'function') return true;
  }
  return false;
}

/**
 * Whether `value` is an object whose methods the boundary wraps: an instance of a class (a lakehouse handle, a returns
 * panel) other than the built-in data classes, or a plain object holding a method (bullmqExecutors' executors and
 * close()). Data passes as it is, the same object: arrays and typed arrays (never looked into), plain objects without
 * a method of their own (a run's result, a matrix of returns, a registry), functions (a plugin class of defineRanker).
 */
function hasMethods(value: object): boolean {
  if (wrapped.has(value) || Array.isArray(value) || ArrayBuffer.isView(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return hasOwnMethod(value);
  return !DATA_CLASSES.some((C) => value instanceof C);
}

/**
 * `value` as the API returns it from the function `fn`: an object with methods comes back on the boundary (apiObject),
 * anything else as it is.
 */
export function apiValue(value: unknown, fn: string): unknown {
  return typeof value === 'object' && value !== null && hasMethods(value) ? apiObject(value, fn) : value;
}

/**
 * `target` with its methods on the boundary, reporting errors in the words of the function `fn` that returned it
 * (openLakehouse's for a lakehouse handle and what its methods return). A proxy: `instanceof`, getters and fields
 * read as the object's own; each method is bound to the object itself, so private fields (#x) and `this` work; what a
 * method returns goes through apiValue (deep: a handle's returns panel is wrapped in turn), and so does a property
 * holding an object with methods (an executor of bullmqExecutors()). A property that must read as it is (frozen) does.
 */
function apiObject(target: object, fn: string): object {
  let byTarget = wrappers.get(fn);
  if (!byTarget) wrappers.set(fn, (byTarget = new WeakMap()));
  const known = byTarget.get(target);
  if (known) return known;
  // The wrapper of each member, made when first read, again when the member is another.
  const members = new Map<PropertyKey, { from: unknown; to: unknown }>();
  const proxy = new Proxy(target, {
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      if (prop === 'constructor' || ((typeof v !== 'object' || v === null) && typeof v !== 'function')) return v;
      const m = members.get(prop);
      if (m !== undefined && m.from === v) return m.to;
      const to = typeof v === 'function' ? apiMethod(v as AnyFunction, t, prop, fn) : apiValue(v, fn);
      // Data is read as it is, and not kept here.
      if (to === v) return v;
      // A frozen property must read as it is (a proxy may not report another value for it).
      const own = Reflect.getOwnPropertyDescriptor(t, prop);
      const frozen = own?.configurable === false && own.writable === false;
      members.set(prop, { from: v, to: frozen ? v : to });
      return frozen ? v : to;
    },
    // A setter runs on the object itself (its private fields are there, not on the proxy).
    set: (t, prop, value) => Reflect.set(t, prop, value, t),
  });
  byTarget.set(target, proxy);
  wrapped.set(proxy, target);
  return proxy;
}

/** The method `f` of `target` on the boundary: bound to the object itself, named as the property. */
function apiMethod(f: AnyFunction, target: object, prop: PropertyKey, fn: string): unknown {
  const method = apiFunction(fn, f.bind(target));
  Object.defineProperty(method, 'name', { value: String(prop) });
  return method;
}

/**
 * The arguments of a call with the objects the API returned as Fractal's own: an argument that is one, or an own
 * property of a plain argument that is one (`{ ...executors }` in run's options).
 */
function ownArguments(args: unknown[]): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a !== 'object' || a === null) continue;
    const own = wrapped.get(a) ?? ownProperties(a);
    if (own !== a) (out ??= [...args])[i] = own;
  }
  return out ?? args;
}

/** A plain object with the wrapped objects among its own values as Fractal's own (a copy then; else `o` itself). */
function ownProperties(o: object): object {
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return o;
  let described: PropertyDescriptorMap | undefined;
  for (const key of Object.keys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    const own = typeof d?.value === 'object' && d.value !== null ? wrapped.get(d.value as object) : undefined;
    if (own !== undefined) (described ??= Object.getOwnPropertyDescriptors(o))[key] = { ...d, value: own };
  }
  // The copy has the same prototype and properties (a getter stays one, unread; a frozen property stays frozen).
  return described ? (Object.create(proto as object | null, described) as object) : o;
}
