import { context, propagation } from '@opentelemetry/api';

/**
 * The active trace context (`traceparent`, `tracestate`) as plain headers, for
 * carriers that are not gRPC metadata (NATS message headers). Empty while no
 * SDK registered a propagator.
 */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}
