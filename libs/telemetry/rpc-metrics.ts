import * as grpc from '@grpc/grpc-js';
import type { Middleware } from '../grpc/context.js';
import { toServiceError } from '../grpc/status.js';
import { rpcDuration, rpcRequests } from './metrics.js';

/** Server middleware counting every call by method and status code, and timing it. */
export function rpcMetrics(): Middleware {
  return async (ctx, next) => {
    const stop = rpcDuration.startTimer({ method: ctx.method });
    let code = grpc.status.OK;
    try {
      await next();
    } catch (err) {
      code = toServiceError(err).code ?? grpc.status.UNKNOWN;
      throw err;
    } finally {
      stop();
      rpcRequests.inc({ method: ctx.method, code: grpc.status[code] });
    }
  };
}
