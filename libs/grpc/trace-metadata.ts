import type * as grpc from '@grpc/grpc-js';
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/** gRPC metadata as the carrier of W3C trace context (`traceparent`, `tracestate`) between services. */
export const metadataSetter: TextMapSetter<grpc.Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

export const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => metadata.get(key).map(String),
};

/** "/aide.v1.WorkerService/Train" → the span name and the rpc.* attributes of OpenTelemetry's conventions. */
export function rpcAttributes(path: string): { name: string; attributes: Record<string, string> } {
  const [, service = '', method = ''] = path.split('/');
  return { name: `${service}/${method}`, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } };
}
