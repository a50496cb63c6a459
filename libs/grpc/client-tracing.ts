import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { tracer } from '../telemetry/tracer.js';
import { metadataSetter, rpcAttributes } from './trace-metadata.js';

/**
 * A client span per call, child of the caller's active span, whose context
 * travels in the call's metadata as a W3C traceparent; it ends with the call's
 * status.
 */
export const clientTracing: grpc.Interceptor = (options, nextCall) => {
  const { name, attributes } = rpcAttributes(options.method_definition.path);
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
  const callContext = trace.setSpan(context.active(), span);
  return new grpc.InterceptingCall(nextCall(options), {
    start(metadata, _listener, next) {
      propagation.inject(callContext, metadata, metadataSetter);
      // Only the status is intercepted; metadata and messages pass through untouched.
      next(metadata, {
        onReceiveStatus(status, nextStatus) {
          span.setAttribute('rpc.grpc.status_code', status.code);
          if (status.code !== grpc.status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: status.details });
          span.end();
          nextStatus(status);
        },
      });
    },
  });
};
