import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { clientTracing } from './client-tracing.js';
import { withChunkCodecs } from './chunk-codec.js';
import { fromServiceError } from './status.js';
import { MAX_MESSAGE_BYTES } from './limits.js';

type ReqOf<M> = M extends { requestSerialize: (v: infer R) => Buffer } ? R : never;
type ResOf<M> = M extends { responseDeserialize: (b: Buffer) => infer R } ? R : never;

export interface CallOptions {
  signal?: AbortSignal;
  /** Absolute time, or milliseconds from now. */
  deadline?: Date | number;
  metadata?: grpc.Metadata;
}

type Source<T> = AsyncIterable<T> | Iterable<T>;

export type ClientMethod<M> = M extends { requestStream: true; responseStream: true }
  ? (requests: Source<ReqOf<M>>, opts?: CallOptions) => AsyncIterable<ResOf<M>>
  : M extends { requestStream: true }
    ? (requests: Source<ReqOf<M>>, opts?: CallOptions) => Promise<ResOf<M>>
    : M extends { responseStream: true }
      ? (request: ReqOf<M>, opts?: CallOptions) => AsyncIterable<ResOf<M>>
      : (request: ReqOf<M>, opts?: CallOptions) => Promise<ResOf<M>>;

export type Client<S> = { [K in keyof S]: ClientMethod<S[K]> } & { readonly channel: grpc.Client; close(): void };

export interface ClientOptions {
  credentials?: grpc.ChannelCredentials;
  /** Added to every call (e.g. the authorization header). */
  metadata?: grpc.Metadata;
  /** Deadline of unary calls without their own. */
  defaultDeadlineMs?: number;
  /** Retries of unary calls on UNAVAILABLE (service config); 1 = none. */
  maxAttempts?: number;
  channelOptions?: grpc.ChannelOptions;
  /** A client span per call with its traceparent in the metadata (default; a no-op while no tracing SDK runs). */
  tracing?: boolean;
}

function serviceName(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0]!.path;
  return first.split('/')[1]!;
}

function retryConfig(definition: grpc.ServiceDefinition, maxAttempts: number): string | undefined {
  if (maxAttempts < 2) return undefined;
  const service = serviceName(definition);
  const unary = Object.values(definition).filter((m) => !m.requestStream && !m.responseStream)
    .map((m) => ({ service, method: m.path.split('/')[2] }));
  return JSON.stringify({
    methodConfig: [{
      name: unary,
      retryPolicy: { maxAttempts, initialBackoff: '0.1s', maxBackoff: '2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] },
    }],
  });
}

/** Ends the call when the caller's signal aborts; returns the detach function. */
function linkAbort(signal: AbortSignal | undefined, call: { cancel(): void }): () => void {
  if (!signal) return () => {};
  if (signal.aborted) { call.cancel(); return () => {}; }
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

async function* readAll<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>, detach: () => void): AsyncGenerator<T> {
  try {
    for await (const message of call) yield message as T;
  } catch (err) {
    throw fromServiceError(err);
  } finally {
    detach();
    call.cancel();
  }
}

async function writeAll<T>(source: Source<T>, call: grpc.ClientWritableStream<T> | grpc.ClientDuplexStream<T, unknown>): Promise<void> {
  try {
    for await (const message of source) {
      if (!call.write(message)) await once(call, 'drain');
    }
    call.end();
  } catch (err) {
    // The request source failed: abandon the call so the server sees a cancellation, not a truncated stream.
    call.cancel();
    throw err;
  }
}

/** The client's HTTP/2 receive window (per connection and stream): several chunks of a state in flight. */
const FLOW_CONTROL_WINDOW_BYTES = 16 << 20;

/**
 * A promise / async-iterable client of a generated service definition:
 * cancellation by AbortSignal, deadlines, retries of unary calls on
 * UNAVAILABLE, keepalive, and errors thrown as the server's AideError.
 */
export function createClient<S extends grpc.ServiceDefinition>(definition: S, address: string, options: ClientOptions = {}): Client<S> {
  const Ctor = grpc.makeGenericClientConstructor(withChunkCodecs(definition), serviceName(definition));
  const retry = retryConfig(definition, options.maxAttempts ?? 3);
  const channel = new Ctor(address, options.credentials ?? grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // HTTP/2's default 64 KiB receive window makes a large download wait for a window update every 64 KiB.
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
    ...(retry ? { 'grpc.service_config': retry } : {}),
    ...options.channelOptions,
    ...(options.tracing === false ? {} : { interceptors: [clientTracing] }),
  });
  const raw = channel as unknown as Record<string, (...args: unknown[]) => unknown>;
  const client: Record<string, unknown> = { channel, close: () => channel.close() };

  const metadataOf = (opts?: CallOptions) => {
    const md = options.metadata?.clone() ?? new grpc.Metadata();
    if (opts?.metadata) md.merge(opts.metadata);
    return md;
  };
  const deadlineOf = (opts: CallOptions | undefined, unary: boolean): grpc.CallOptions => {
    const d = opts?.deadline ?? (unary ? options.defaultDeadlineMs : undefined);
    return d === undefined ? {} : { deadline: d instanceof Date ? d : Date.now() + d };
  };

  for (const [key, method] of Object.entries(definition)) {
    const fn = raw[key]!.bind(channel);
    if (!method.requestStream && !method.responseStream) {
      client[key] = (request: unknown, opts?: CallOptions) => new Promise((resolve, reject) => {
        opts?.signal?.throwIfAborted();
        const call = fn(request, metadataOf(opts), deadlineOf(opts, true), (err: grpc.ServiceError | null, res: unknown) => {
          detach();
          if (err) reject(fromServiceError(err)); else resolve(res);
        }) as grpc.ClientUnaryCall;
        const detach = linkAbort(opts?.signal, call);
      });
    } else if (!method.requestStream) {
      client[key] = (request: unknown, opts?: CallOptions) => {
        const call = fn(request, metadataOf(opts), deadlineOf(opts, false)) as grpc.ClientReadableStream<unknown>;
        return readAll(call, linkAbort(opts?.signal, call));
      };
    } else if (!method.responseStream) {
      client[key] = (requests: Source<unknown>, opts?: CallOptions) => new Promise((resolve, reject) => {
        const call = fn(metadataOf(opts), deadlineOf(opts, false), (err: grpc.ServiceError | null, res: unknown) => {
          detach();
          if (err) reject(fromServiceError(err)); else resolve(res);
        }) as grpc.ClientWritableStream<unknown>;
        const detach = linkAbort(opts?.signal, call);
        writeAll(requests, call).catch(reject);
      });
    } else {
      client[key] = (requests: Source<unknown>, opts?: CallOptions) => {
        const call = fn(metadataOf(opts), deadlineOf(opts, false)) as grpc.ClientDuplexStream<unknown, unknown>;
        const detach = linkAbort(opts?.signal, call);
        // A failing request source cancels the call, which ends the response iteration with CANCELLED.
        writeAll(requests, call).catch(() => {});
        return readAll(call, detach);
      };
    }
  }
  return client as Client<S>;
}
