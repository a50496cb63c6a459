import type * as grpc from '@grpc/grpc-js';
import { ANY_PROJECT, requireAuthenticated, requireRole } from '../../libs/auth/roles.js';
import { AideError, invalidArgument } from '../../libs/errors.js';
import type { CallContext, Principal, ServiceHandlers } from '../../libs/grpc/index.js';
import type { Access, AccessTable } from './roles.js';

type AnyHandler = (input: unknown, ctx: CallContext) => unknown;

function check(principal: Principal, access: Access, project: string | undefined): void {
  if (access === 'authenticated') return requireAuthenticated(principal);
  if (access === 'global-admin') return requireRole(principal, ANY_PROJECT, 'admin');
  if (project === undefined) throw new AideError('INTERNAL', `access table: role '${access}' on a call without a project`);
  requireRole(principal, project, access);
}

/** The request stream, checked at its first message (which names the project) before the handler sees it. */
async function* checkedStream(
  requests: AsyncIterable<unknown>, ctx: CallContext, access: Access, projectOf: (first: never) => string | undefined,
): AsyncGenerator<unknown> {
  let first = true;
  for await (const message of requests) {
    if (first) {
      const project = projectOf(message as never);
      if (project === undefined) throw invalidArgument('the first message must name the project');
      check(ctx.principal, access, project);
      first = false;
    }
    yield message;
  }
}

/**
 * Wraps a service's handlers so each call is authorised by `table` before its
 * handler runs: the role on the request's `project` field, or for
 * client-streaming calls on the project `streamProject` reads from the first message.
 */
export function secured<S extends grpc.ServiceDefinition>(
  definition: S,
  handlers: ServiceHandlers<S>,
  table: AccessTable<S>,
  streamProject: { readonly [K in keyof S]?: (first: never) => string | undefined } = {},
): ServiceHandlers<S> {
  const out: Record<string, AnyHandler> = {};
  for (const key of Object.keys(definition) as (keyof S & string)[]) {
    const handler = handlers[key] as unknown as AnyHandler;
    const access = table[key];
    const projectOf = streamProject[key];
    if (definition[key]!.requestStream) {
      if (!projectOf && access !== 'authenticated' && access !== 'global-admin') {
        throw new Error(`secured: client-streaming ${key} needs a streamProject reader`);
      }
      out[key] = (requests, ctx) => {
        if (projectOf) return handler(checkedStream(requests as AsyncIterable<unknown>, ctx, access, projectOf), ctx);
        check(ctx.principal, access, undefined);
        return handler(requests, ctx);
      };
    } else if (definition[key]!.responseStream) {
      // Checked at the first pull, before the handler's generator starts.
      out[key] = (request, ctx) => (async function* () {
        check(ctx.principal, access, (request as { project?: string }).project);
        yield* handler(request, ctx) as AsyncIterable<unknown>;
      })();
    } else {
      out[key] = async (request, ctx) => {
        check(ctx.principal, access, (request as { project?: string }).project);
        return handler(request, ctx);
      };
    }
  }
  return out as unknown as ServiceHandlers<S>;
}
