import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';

/** The mesh's tracer. Without a registered SDK it hands out non-recording spans that cost next to nothing. */
export const tracer = trace.getTracer('aide-mesh');

export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  /** Default: the active context. A server span passes the context extracted from its caller. */
  parent?: Context;
}

/** Marks the span failed with the error, so a trace viewer shows where a job broke. */
export function recordFailure(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

/** Runs `work` inside a new active span (its children nest under it) and ends the span when the work settles. */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  const run = async (span: Span): Promise<T> => {
    try {
      return await work(span);
    } catch (err) {
      recordFailure(span, err);
      throw err;
    } finally {
      span.end();
    }
  };
  const spanOptions = { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes };
  return options.parent
    ? tracer.startActiveSpan(name, spanOptions, options.parent, run)
    : tracer.startActiveSpan(name, spanOptions, run);
}
