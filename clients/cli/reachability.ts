import * as grpc from '@grpc/grpc-js';
import { isAideError } from '../../libs/errors.js';
import { Unreachable } from './failure.js';

interface Labelled {
  readonly channel: grpc.Client;
}

/**
 * Wraps a generated client so that UNAVAILABLE on a channel that never got
 * connected becomes Unreachable naming the service and its address; an
 * UNAVAILABLE the service itself answers (e.g. no worker free) passes through.
 */
export function reportUnreachable<C extends Labelled>(client: C, service: string, address: string): C {
  const explain = (err: unknown): unknown => {
    const state = client.channel.getChannel().getConnectivityState(false);
    return isAideError(err, 'UNAVAILABLE') && state !== grpc.connectivityState.READY ? new Unreachable(service, address, err) : err;
  };
  async function* relay<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* source;
    } catch (err) {
      throw explain(err);
    }
  }
  return new Proxy(client, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || key === 'close') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (result instanceof Promise) return result.catch((err: unknown) => { throw explain(err); });
        if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) return relay(result as AsyncIterable<unknown>);
        return result;
      };
    },
  });
}
