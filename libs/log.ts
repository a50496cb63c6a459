import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger };

/** The active span's ids on every line, so a log line leads to its trace (nothing while tracing is off). */
export function traceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}

/** Structured JSON logs (pino); one child logger per service or component. */
export function createLogger(name: string, level = process.env.AIDE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { service: name }, mixin: traceIds });
}
