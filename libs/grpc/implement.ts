import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import { pushable } from 'it-pushable';
import { cancelled } from '../errors.js';
import type * as grpc from '@grpc/grpc-js';
import type { CallContext, Middleware } from './context.js';
import { toServiceError } from './status.js';

type ReqOf<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
type ResOf<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;

/** The plain function that serves one method, shaped by its streaming kind. */
export type HandlerFor<M> = M extends { requestStream: true; responseStream: true }
  ? (requests: AsyncIterable<ReqOf<M>>, ctx: CallContext) => AsyncIterable<ResOf<M>>
  : M extends { requestStream: true }
    ? (requests: AsyncIterable<ReqOf<M>>, ctx: CallContext) => Promise<ResOf<M>>
    : M extends { responseStream: true }
      ? (request: ReqOf<M>, ctx: CallContext) => AsyncIterable<ResOf<M>>
      : (request: ReqOf<M>, ctx: CallContext) => Promise<ResOf<M>>;

export type ServiceHandlers<S> = { [K in keyof S]: HandlerFor<S[K]> };

export interface ImplementOptions {
  middleware?: Middleware[];
  /** Aborted when the server shuts down, so long streams stop. */
  shutdownSignal?: AbortSignal;
}

/** What every kind of server call has in common. */
interface AnyCall {
  on(event: 'cancelled', listener: () => void): unknown;
  metadata: grpc.Metadata;
  getPeer(): string;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

function contextOf(call: AnyCall, method: string, shutdown?: AbortSignal): CallContext {
  const controller = new AbortController();
  // CANCELLED, not an internal error: work stopped because nobody waits for it any more.
  call.on('cancelled', () => controller.abort(cancelled('call cancelled by the client or its deadline')));
  const signal = shutdown ? AbortSignal.any([controller.signal, shutdown]) : controller.signal;
  return {
    signal, metadata: call.metadata, peer: call.getPeer(), peerCertificate: call.getAuthContext().sslPeerCertificate,
    method, principal: { kind: 'anonymous' }, values: new Map(),
  };
}

function runWith(middleware: Middleware[], ctx: CallContext, core: () => Promise<void>): Promise<void> {
  const chain = middleware.reduceRight<() => Promise<void>>((next, mw) => () => mw(ctx, next), core);
  return chain();
}

/**
 * The call's messages as an async iterable with backpressure. Built on events,
 * not on the stream's own iterator: grpc-js destroys a server call whose
 * iterator is closed early (then no status ever reaches the client), and that
 * iterator reports a normal half-close of a duplex call as an abort.
 */
function messagesOf<T>(call: Readable): AsyncGenerator<T> {
  const queue = pushable<T>({ objectMode: true });
  let buffered = 0;
  call.on('data', (message: T) => {
    queue.push(message);
    if (++buffered >= 16) call.pause();
  });
  call.once('end', () => queue.end());
  call.once('error', (err) => queue.end(err));
  call.once('close', () => queue.end(cancelled('the client closed the stream before ending it')));
  return (async function* () {
    for await (const message of queue) {
      if (--buffered < 4 && call.isPaused()) call.resume();
      yield message;
    }
  })();
}

/** Writes an async iterable to a server stream, honouring backpressure and cancellation. */
async function pump<T>(source: AsyncIterable<T>, call: grpc.ServerWritableStream<unknown, T> | grpc.ServerDuplexStream<unknown, T>, signal: AbortSignal): Promise<void> {
  for await (const message of source) {
    signal.throwIfAborted();
    if (!call.write(message)) await once(call, 'drain', { signal });
  }
}

/**
 * Turns plain async functions into a grpc-js service implementation: requests
 * and responses as async iterables, cancellation as ctx.signal, domain errors
 * mapped to status codes, and middleware (auth, logging, tracing) around every call.
 */
export function implement<S extends grpc.ServiceDefinition>(
  definition: S,
  handlers: ServiceHandlers<S>,
  options: ImplementOptions = {},
): grpc.UntypedServiceImplementation {
  const middleware = options.middleware ?? [];
  const impl: grpc.UntypedServiceImplementation = {};
  for (const key of Object.keys(definition)) {
    const method = definition[key]!;
    const handler = handlers[key as keyof S] as unknown as (input: unknown, ctx: CallContext) => unknown;
    const path = method.path;
    if (!method.requestStream && !method.responseStream) {
      impl[key] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const ctx = contextOf(call, path, options.shutdownSignal);
        let result: unknown;
        runWith(middleware, ctx, async () => { result = await handler(call.request, ctx); })
          .then(() => callback(null, result), (err) => callback(toServiceError(err)));
      }) as grpc.handleUnaryCall<unknown, unknown>;
    } else if (method.requestStream && !method.responseStream) {
      impl[key] = ((call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const ctx = contextOf(call, path, options.shutdownSignal);
        let result: unknown;
        runWith(middleware, ctx, async () => { result = await handler(messagesOf(call), ctx); })
          .then(() => callback(null, result), (err) => callback(toServiceError(err)));
      }) as grpc.handleClientStreamingCall<unknown, unknown>;
    } else {
      impl[key] = ((call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => {
        const ctx = contextOf(call, path, options.shutdownSignal);
        const input = method.requestStream ? messagesOf(call as grpc.ServerDuplexStream<unknown, unknown>) : (call as grpc.ServerWritableStream<unknown, unknown>).request;
        runWith(middleware, ctx, () => pump(handler(input, ctx) as AsyncIterable<unknown>, call, ctx.signal))
          .then(() => call.end(), (err) => call.emit('error', toServiceError(err)));
      }) as grpc.handleServerStreamingCall<unknown, unknown>;
    }
  }
  return impl;
}
