import { connect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { isAideError, type AideError } from '../../libs/errors.js';
import { Unreachable } from './failure.js';

interface Labelled {
  readonly channel: grpc.Client;
}

/** How the CLI tried to reach a service: named in the error when it cannot. */
export interface Target {
  service: string;
  address: string;
  plaintext: boolean;
  /** The profile file the address came from, if it did. */
  profile?: string;
}

/** OpenSSL's words for a TLS client that got a plaintext (HTTP/2) answer. */
const PLAINTEXT_ANSWER = /wrong version number|packet length too long|unknown protocol/i;
const PROBE_MS = 2000;

/** Whether host:port completes a TLS handshake (any certificate): the one way to tell a TLS server from a dead one. */
function speaksTls(address: string): Promise<boolean> {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) return Promise.resolve(false);
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (tls: boolean) => { socket.destroy(); resolve(tls); };
    socket.setTimeout(PROBE_MS, () => done(false));
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** What to do about it: the other transport, or the profile that named a mesh no longer there. */
async function hintFor(target: Target, cause: AideError): Promise<string | undefined> {
  if (!target.plaintext && PLAINTEXT_ANSWER.test(cause.message)) {
    return 'the server speaks plaintext: use --plaintext (or AIDE_PLAINTEXT=1)';
  }
  if (target.plaintext && await speaksTls(target.address)) {
    return 'the server speaks TLS: drop --plaintext / AIDE_PLAINTEXT (and give --tls-ca unless its certificate is from a public CA)';
  }
  if (target.profile) return `the address came from ${target.profile}, written by \`npm start\`: is it still running?`;
  return undefined;
}

/**
 * Wraps a generated client so that UNAVAILABLE on a channel that never got
 * connected becomes Unreachable naming the service, its address and, where it
 * can tell, the fix; an UNAVAILABLE the service itself answers (e.g. no worker
 * free) passes through.
 */
export function reportUnreachable<C extends Labelled>(client: C, target: Target): C {
  const explain = async (err: unknown): Promise<unknown> => {
    const state = client.channel.getChannel().getConnectivityState(false);
    if (!isAideError(err, 'UNAVAILABLE') || state === grpc.connectivityState.READY) return err;
    return new Unreachable(target.service, target.address, err, await hintFor(target, err));
  };
  async function* relay<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* source;
    } catch (err) {
      throw await explain(err);
    }
  }
  return new Proxy(client, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || key === 'close') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (result instanceof Promise) return result.catch(async (err: unknown) => { throw await explain(err); });
        if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) return relay(result as AsyncIterable<unknown>);
        return result;
      };
    },
  });
}
