/**
 * Tracing: OpenTelemetry spans for runs, stages, backtest window batches, sleeves and tournament cells, and the trace
 * context carried across threads and queues. While tracing is off nothing is loaded: a span is a no-op object and the
 * work runs as it would without it. `@opentelemetry/api` loads when `startTracing()` runs (`--trace`, the OTEL_*
 * environment, or the API's `run({ trace })`, which also loads the SDK from tracing-sdk.ts), or when the process has
 * already registered OpenTelemetry globals of its own (a program with its own tracer provider gets the spans).
 *
 * For whoever moves work elsewhere (a worker thread, a BullMQ job): put `injectTraceContext()` in the job's data,
 * and on the other side run the work inside `withTraceContext(carrier, () => withSpan(...))`; the spans made there
 * join the run's trace. A worker thread that has no exporter of its own hands its finished spans back to the parent
 * (`collectedSpans()` in the worker, `adoptSpans()` in the parent).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Attributes, Span } from '@opentelemetry/api';

export type { Attributes, Span };

type OtelApi = typeof import('@opentelemetry/api');
let api: OtelApi | undefined;
/** Where @opentelemetry/api 1.x keeps its registered globals (tracer provider, propagator, context manager). */
const OTEL_GLOBALS = Symbol.for('opentelemetry.js.api.1');

/**
 * Work that must record no span although tracing is on in this process (an API run asked without tracing while an
 * earlier one started the SDK): its spans would otherwise reach the earlier run's exporters.
 */
const untraced = new AsyncLocalStorage<true>();
export const withoutTracing = <T>(fn: () => T): T => untraced.run(true, fn);

/** The API when tracing is on here or the process registered OpenTelemetry globals; undefined otherwise (nothing loaded). */
async function otel(): Promise<OtelApi | undefined> {
  if (untraced.getStore()) return undefined;
  if (api) return api;
  if ((globalThis as Record<symbol, unknown>)[OTEL_GLOBALS] === undefined) return undefined;
  return (api = await import('@opentelemetry/api'));
}

/** The span while tracing is off: records nothing. */
const NO_SPAN = {
  setAttribute: () => NO_SPAN,
  setAttributes: () => NO_SPAN,
  setStatus: () => NO_SPAN,
  addEvent: () => NO_SPAN,
  recordException: () => {},
  updateName: () => NO_SPAN,
  end: () => {},
  isRecording: () => false,
} as unknown as Span;

/** A trace context as a plain object of strings (W3C `traceparent`, `tracestate`): fits a worker message or job data. */
export type TraceCarrier = Record<string, string>;

const TRACER = 'fractal';

/** Whether this thread started the SDK (startTracing). */
export const tracingStarted = (): boolean => sdk !== undefined;

/**
 * Runs `fn` inside a span named `name` (a child of the active span), ending it when `fn` settles; an error marks the
 * span failed (status ERROR, the exception recorded, `fractal.outcome` = failed) and is rethrown. With tracing off
 * this is the API's no-op span: `fn` runs as it would without it.
 */
export async function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const o = untraced.getStore() ? undefined : (api ?? (await otel()));
  if (!o) return fn(NO_SPAN);
  return o.trace.getTracer(TRACER).startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A stopwatch whose interval is the span's: `start` when the span started, `stop()` ends the timed interval. */
export interface SpanClock {
  readonly start: number;
  /** performance.now() at the end of the timed work; the span ends exactly then. */
  stop(): number;
}

/**
 * withSpan whose span covers exactly the interval `fn` times with the clock it is given (performance.now() at the
 * start, `clock.stop()` at the end), so the span's duration is the figure a manifest records.
 */
export async function withTimedSpan<T>(name: string, attributes: Attributes, fn: (span: Span, clock: SpanClock) => Promise<T> | T): Promise<T> {
  const o = untraced.getStore() ? undefined : (api ?? (await otel()));
  const start = performance.now();
  let end: number | undefined;
  const clock: SpanClock = { start, stop: () => (end ??= performance.now()) };
  if (!o) return fn(NO_SPAN, clock);
  return o.trace.getTracer(TRACER).startActiveSpan(name, { attributes, startTime: hrTimeAt(start) }, async (span) => {
    try {
      return await fn(span, clock);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end(hrTimeAt(clock.stop()));
    }
  });
}

/**
 * performance.now() as an OpenTelemetry HrTime. Not `timeOrigin + t` in milliseconds: at epoch scale a double's step
 * is 0.24 µs, which moved a span's duration off the manifest's figure by more than its 0.05 ms rounding. Adding the
 * whole seconds and nanoseconds apart keeps the duration exact to the nanosecond.
 */
export function hrTimeAt(t: number): [number, number] {
  const origin = performance.timeOrigin;
  const originS = Math.floor(origin / 1e3);
  const s = Math.floor(t / 1e3);
  const ns = Math.round((origin - originS * 1e3) * 1e6) + Math.round((t - s * 1e3) * 1e6);
  return [originS + s + Math.floor(ns / 1e9), ns % 1e9];
}

/** Marks a span failed: status ERROR, the exception recorded, `fractal.outcome` = failed, the error's code. */
function failed(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: 2 /* SpanStatusCode.ERROR */, message: err instanceof Error ? err.message : String(err) });
  span.setAttribute('fractal.outcome', 'failed');
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') span.setAttribute('fractal.error.code', code);
}

/** The active trace context as a plain carrier (empty when tracing is off). */
export function injectTraceContext(): TraceCarrier {
  const carrier: TraceCarrier = {};
  if (untraced.getStore() || !api) return carrier;
  api.propagation.inject(api.context.active(), carrier);
  // A program's own provider may have registered no propagator: the W3C traceparent of the active span, written here.
  const active = api.trace.getSpanContext(api.context.active());
  if (!carrier.traceparent && active && api.isSpanContextValid(active)) carrier.traceparent = `00-${active.traceId}-${active.spanId}-0${active.traceFlags & 1}`;
  return carrier;
}

/** Runs `fn` with the trace context of `carrier` active (spans made inside are its children); as is when there is none. */
export function withTraceContext<T>(carrier: TraceCarrier | undefined, fn: () => T): T {
  if (!api || !carrier || !Object.keys(carrier).length) return fn();
  return api.context.with(api.propagation.extract(api.ROOT_CONTEXT, carrier), fn);
}

/** A finished span as plain data (what a worker thread hands its parent). */
export interface PlainSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  traceFlags: number;
  parentSpanId?: string;
  startTime: [number, number];
  endTime: [number, number];
  duration: [number, number];
  status: { code: number; message?: string };
  attributes: Attributes;
  events: { name: string; time: [number, number]; attributes?: Attributes }[];
}

export interface TracingOptions {
  /**
   * Where spans go besides what the environment names (OTEL_TRACES_EXPORTER): an SDK SpanExporter, such as the
   * SDK's InMemorySpanExporter in a test. Typed loosely so this module does not load the SDK's types.
   */
  exporter?: unknown;
  /** A worker thread: keep finished spans for the parent (collectedSpans) instead of exporting them. */
  collect?: boolean;
  /** Fractal's version (the resource's service.version). */
  version?: string;
}

/** The SDK, once started in this thread (tracing-sdk.ts). */
let sdk: import('./tracing-sdk.js').TracingSdk | undefined;

/**
 * Starts recording spans in this thread (loads the SDK); again with another exporter adds it. Exporters: the one
 * given, and those of OTEL_TRACES_EXPORTER (otlp, the default, to OTEL_EXPORTER_OTLP_ENDPOINT; console; none).
 * When a program already registered its own tracer provider, Fractal's spans go there and nothing is started.
 */
export async function startTracing(opts: TracingOptions = {}): Promise<import('./tracing-sdk.js').ScopedExporter | undefined> {
  api ??= await import('@opentelemetry/api');
  const { startSdk } = await import('./tracing-sdk.js');
  sdk = startSdk(sdk, opts);
  return sdk.scoped;
}

/**
 * Exports what is pending (before a process or a worker ends). An exporter that cannot deliver (no collector at the
 * endpoint) never fails the run: one line on stderr says so.
 */
export async function flushTracing(): Promise<void> {
  const started = performance.now();
  try {
    await sdk?.flush();
  } catch (err) {
    // The exporter retries until its timeout (10 s unless set): say how long that was and what bounds it.
    const waited = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(`tracing: spans not exported: ${(err as Error)?.message ?? String(err)} (after ${waited} s of retries; OTEL_EXPORTER_OTLP_TIMEOUT, in ms, bounds the wait)\n`);
  }
}

/** Stops this thread's exporters (the process's end). */
export async function stopTracing(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}

/** A worker thread's finished spans since the last call (its parent adopts them). */
export function collectedSpans(): PlainSpan[] {
  return sdk?.drain() ?? [];
}

/**
 * Spans a worker thread finished, exported through this thread's exporters as if made here; in a program with a
 * tracer provider of its own (no SDK of Fractal's here), made again in that provider.
 */
export function adoptSpans(spans: PlainSpan[] | undefined): void {
  if (!spans?.length) return;
  // Where this thread's spans went: Fractal's provider when it is the registered one, else the program's.
  if (sdk?.global) sdk.adopt(spans);
  else if (api && !untraced.getStore()) remake(api, spans);
}

/**
 * A worker's finished spans made again through the API, for a program's own tracer provider: the same names, kinds,
 * times, attributes, events and status, each under its parent (this thread's span, or one made again here), so the
 * tree and the trace hold; the provider gives them span ids of its own.
 */
function remake(otel: OtelApi, spans: PlainSpan[]): void {
  const tracer = otel.trace.getTracer(TRACER);
  const byId = new Map(spans.map((s) => [s.spanId, s] as const));
  const made = new Map<string, Span>();
  const making = new Set<string>();
  const make = (p: PlainSpan): Span => {
    const done = made.get(p.spanId);
    if (done) return done;
    making.add(p.spanId);
    // A parent among the spans comes first; one that is being made (ids that loop) is taken as remote.
    const local = p.parentSpanId && !making.has(p.parentSpanId) ? byId.get(p.parentSpanId) : undefined;
    const parent = local
      ? otel.trace.setSpan(otel.ROOT_CONTEXT, make(local))
      : p.parentSpanId
        ? otel.trace.setSpanContext(otel.ROOT_CONTEXT, { traceId: p.traceId, spanId: p.parentSpanId, traceFlags: p.traceFlags, isRemote: true })
        : otel.ROOT_CONTEXT;
    const span = tracer.startSpan(p.name, { kind: p.kind, startTime: p.startTime, attributes: p.attributes }, parent);
    for (const e of p.events) span.addEvent(e.name, e.attributes, e.time);
    span.setStatus(p.status);
    span.end(p.endTime);
    made.set(p.spanId, span);
    making.delete(p.spanId);
    return span;
  };
  for (const p of spans) make(p);
}

/** Whether tracing is asked for by the environment: OTEL_TRACES_EXPORTER names an exporter (not `none`) and OTEL_SDK_DISABLED is not true. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return false;
  const e = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  return Boolean(e && e !== 'none');
}
