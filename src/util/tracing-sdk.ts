/**
 * The OpenTelemetry SDK behind tracing.ts, loaded only when tracing is on: a NodeTracerProvider (AsyncLocalStorage
 * context, W3C trace-context propagation) whose span processor fans out to the exporters in force. Exporters come from
 * OTEL_TRACES_EXPORTER (a comma list: `otlp`, the default, over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, batched per OTEL_BSP_*; `console`, one JSON line per span on stderr, so stdout
 * keeps --json's one object; `none`) and from the caller (a test's InMemorySpanExporter). The resource is
 * service.name `fractal` (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override and add), service.version.
 *
 * A worker thread started with `collect` keeps its finished spans (drain) for the parent, which adopts them: they are
 * exported by the parent's exporters, with the parent's resource, exactly as the worker made them (ids, times,
 * attributes, status).
 */
import { context, propagation, trace, type Attributes, type HrTime } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { PlainSpan, TracingOptions } from './tracing.js';

/**
 * Fans every span out to the processors in force: the thread's own (the environment's exporters, a worker's
 * collector) take every span; a caller's exporter (the API's `trace: { exporter }`) takes only the spans of the traces
 * bound to it (its run's), and leaves when its run ends, so a long-lived process neither duplicates spans across runs
 * nor keeps every exporter it was ever given.
 */
class FanOut implements SpanProcessor {
  readonly processors: SpanProcessor[] = [];
  readonly scoped = new Map<SpanProcessor, Set<string>>();
  private *to(traceId: string): Iterable<SpanProcessor> {
    yield* this.processors;
    for (const [p, traces] of this.scoped) if (traces.has(traceId)) yield p;
  }
  onStart(span: Parameters<SpanProcessor['onStart']>[0], parent: Parameters<SpanProcessor['onStart']>[1]): void {
    for (const p of this.to(span.spanContext().traceId)) p.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    for (const p of this.to(span.spanContext().traceId)) p.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all([...this.processors, ...this.scoped.keys()].map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all([...this.processors, ...this.scoped.keys()].map((p) => p.shutdown()));
  }
}

/** A caller's exporter, for the traces bound to it until it is released. */
export interface ScopedExporter {
  bind(traceId: string): void;
  release(): Promise<void>;
}

/** Keeps finished spans as plain data (a worker thread's, for its parent). */
class Collector implements SpanExporter {
  spans: PlainSpan[] = [];
  export(spans: ReadableSpan[], done: (r: { code: number }) => void): void {
    for (const s of spans) {
      const c = s.spanContext();
      this.spans.push({
        name: s.name,
        kind: s.kind,
        traceId: c.traceId,
        spanId: c.spanId,
        traceFlags: c.traceFlags,
        ...(s.parentSpanContext ? { parentSpanId: s.parentSpanContext.spanId } : {}),
        startTime: [...s.startTime],
        endTime: [...s.endTime],
        duration: [...s.duration],
        status: { ...s.status },
        attributes: { ...s.attributes },
        events: s.events.map((e) => ({ name: e.name, time: [...e.time] as [number, number], ...(e.attributes ? { attributes: { ...e.attributes } } : {}) })),
      });
    }
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

/** `console` in OTEL_TRACES_EXPORTER: one JSON line per finished span on stderr. */
class StderrExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (r: { code: number }) => void): void {
    for (const s of spans) {
      const c = s.spanContext();
      const ms = (t: HrTime) => t[0] * 1e3 + t[1] / 1e6;
      process.stderr.write(`${JSON.stringify({ trace_id: c.traceId, span_id: c.spanId, parent_span_id: s.parentSpanContext?.spanId ?? null, name: s.name, duration_ms: Math.round(ms(s.duration) * 1000) / 1000, status: s.status.code, attributes: s.attributes })}\n`);
    }
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

export interface TracingSdk {
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  drain(): PlainSpan[];
  adopt(spans: PlainSpan[]): void;
  /**
   * Whether this SDK's provider is the one the API's globals hold (the spans made through the API reach it); false
   * when the program had registered its own first, which then gets every span made here.
   */
  global: boolean;
  /** The caller's exporter of the last startSdk call, scoped to the traces it binds (undefined without one). */
  scoped?: ScopedExporter;
}

function exportersFromEnv(): SpanProcessor[] {
  const names = (process.env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const out: SpanProcessor[] = [];
  for (const n of new Set(names)) {
    if (n === 'otlp') out.push(new BatchSpanProcessor(new OTLPTraceExporter()));
    else if (n === 'console') out.push(new SimpleSpanProcessor(new StderrExporter()));
    else if (n !== 'none') process.stderr.write(`tracing: OTEL_TRACES_EXPORTER '${n}' is not supported here (otlp, console, none); ignored\n`);
  }
  return out;
}

/** A caller's exporter as a processor of `fan` for the traces bound to it. */
function scope(fan: FanOut, exporter: unknown): ScopedExporter {
  const p = new SimpleSpanProcessor(exporter as SpanExporter);
  const traces = new Set<string>();
  fan.scoped.set(p, traces);
  return {
    bind: (traceId) => void traces.add(traceId),
    release: async () => {
      await p.forceFlush().catch(() => {});
      fan.scoped.delete(p);
    },
  };
}

type SdkState = TracingSdk & { fan: FanOut; collector?: Collector; resource: Resource; environment: boolean };

/** Starts (or extends) this thread's SDK. */
export function startSdk(current: TracingSdk | undefined, opts: TracingOptions): TracingSdk {
  const state = current as SdkState | undefined;
  // The environment's exporters, once per thread, unless a caller's exporter is the only one asked for
  // (OTEL_TRACES_EXPORTER unset).
  const wantsEnvironment = !opts.collect && (!opts.exporter || Boolean(process.env.OTEL_TRACES_EXPORTER));
  if (state) {
    if (wantsEnvironment && !state.environment && !state.collector) {
      state.fan.processors.push(...exportersFromEnv());
      state.environment = true;
    }
    return Object.assign(state, { scoped: opts.exporter ? scope(state.fan, opts.exporter) : undefined });
  }
  const fan = new FanOut();
  let collector: Collector | undefined;
  if (opts.collect) {
    collector = new Collector();
    fan.processors.push(new SimpleSpanProcessor(collector));
  } else if (wantsEnvironment) fan.processors.push(...exportersFromEnv());
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'fractal', [ATTR_SERVICE_VERSION]: opts.version ?? 'unknown' }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [fan] });
  // A program that registered its own provider keeps it (the API's globals refuse a second): Fractal's spans go there.
  provider.register();
  const sdk: SdkState = {
    global: (trace.getTracerProvider() as { getDelegate?: () => unknown }).getDelegate?.() === provider,
    fan,
    collector,
    resource,
    environment: wantsEnvironment,
    ...(opts.exporter && !opts.collect ? { scoped: scope(fan, opts.exporter) } : {}),
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
    drain: () => {
      const out = collector?.spans ?? [];
      if (collector) collector.spans = [];
      return out;
    },
    adopt: (spans) => {
      for (const p of spans) fan.onEnd(readable(p, resource));
    },
  };
  return sdk;
}

/** A worker's plain span as the SDK's ReadableSpan, with this thread's resource. */
function readable(p: PlainSpan, resource: Resource): ReadableSpan {
  const spanContext = { traceId: p.traceId, spanId: p.spanId, traceFlags: p.traceFlags };
  return {
    name: p.name,
    kind: p.kind,
    spanContext: () => spanContext,
    ...(p.parentSpanId ? { parentSpanContext: { traceId: p.traceId, spanId: p.parentSpanId, traceFlags: p.traceFlags } } : {}),
    startTime: p.startTime,
    endTime: p.endTime,
    duration: p.duration,
    status: p.status,
    attributes: p.attributes as Attributes,
    links: [],
    events: p.events,
    ended: true,
    resource,
    instrumentationScope: { name: 'fractal' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
