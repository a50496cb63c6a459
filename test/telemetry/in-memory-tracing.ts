/**
 * What the OpenTelemetry SDK registers in a service, with spans kept in memory
 * for the test to read: a tracer provider, the AsyncLocalStorage context
 * manager and the W3C trace-context propagator.
 */
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export function inMemoryTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  return exporter;
}

const KIND: Partial<Record<SpanKind, string>> = { [SpanKind.SERVER]: ' (server)', [SpanKind.CLIENT]: ' (client)' };

/** The span and its ancestors up to the root, by name and (for RPCs) side: ['fileserver getFile', …, 'job train']. */
export function ancestry(span: ReadableSpan, spans: readonly ReadableSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const names: string[] = [];
  for (let s: ReadableSpan | undefined = span; s; s = s.parentSpanContext && byId.get(s.parentSpanContext.spanId)) names.push(s.name + (KIND[s.kind] ?? ''));
  return names;
}

/** The trace id part of a W3C traceparent (`00-<trace id>-<span id>-<flags>`). */
export const traceIdOf = (traceparent: string | undefined): string | undefined => traceparent?.split('-')[1];
