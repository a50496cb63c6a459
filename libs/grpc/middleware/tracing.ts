import * as grpc from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, propagation } from '@opentelemetry/api';
import { inSpan } from '../../telemetry/tracer.js';
import type { Middleware } from '../context.js';
import { toServiceError } from '../status.js';
import { metadataGetter, rpcAttributes } from '../trace-metadata.js';

/**
 * A server span per call, child of the caller's span when its metadata carries
 * a traceparent. Put it first: the middleware and handler after it run inside
 * the span (their spans nest, their log lines carry its trace id).
 */
export function tracing(): Middleware {
  return (ctx, next) => {
    // From the root, not the active context: only the caller's metadata says whose call this is.
    const parent = propagation.extract(ROOT_CONTEXT, ctx.metadata, metadataGetter);
    const { name, attributes } = rpcAttributes(ctx.method);
    return inSpan(name, { kind: SpanKind.SERVER, attributes, parent }, async (span) => {
      try {
        await next();
        span.setAttribute('rpc.grpc.status_code', grpc.status.OK);
      } catch (err) {
        span.setAttribute('rpc.grpc.status_code', toServiceError(err).code ?? grpc.status.UNKNOWN);
        throw err;
      }
    });
  };
}
