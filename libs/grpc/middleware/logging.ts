import type { Logger } from '../../log.js';
import type { Middleware } from '../context.js';
import { toServiceError } from '../status.js';
import * as grpc from '@grpc/grpc-js';

/** One structured line per call: method, peer, status and duration. */
export function logging(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
      logger.debug({ method: ctx.method, peer: ctx.peer, code: 'OK', ms: Math.round(performance.now() - started) }, 'rpc');
    } catch (err) {
      const status = toServiceError(err);
      const code = grpc.status[status.code ?? grpc.status.UNKNOWN];
      const level = status.code === grpc.status.INTERNAL ? 'error' : 'info';
      logger[level]({ method: ctx.method, peer: ctx.peer, code, error: status.details, ms: Math.round(performance.now() - started) }, 'rpc failed');
      throw err;
    }
  };
}
