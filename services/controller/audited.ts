import type pg from 'pg';
import { actorOf, recordAudit } from '../../libs/auth/audit.js';
import type { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import type { CallContext, ServiceHandlers } from '../../libs/grpc/index.js';
import type { Logger } from '../../libs/log.js';

type Handlers = ServiceHandlers<typeof ControllerServiceService>;
type AnyUnary = (request: unknown, ctx: CallContext) => Promise<unknown>;

/** The calls that change what a project is or runs, and their audit action. */
const AUDITED = {
  createProject: 'project.create',
  deleteProject: 'project.delete',
  updateProjectSettings: 'project.settings',
  startTraining: 'job.start',
  startInference: 'job.start',
  startRanking: 'job.start',
  startWorkflow: 'job.start',
  cancelJob: 'job.cancel',
  deleteModelState: 'model_state.delete',
  setCurrentModelState: 'model_state.set_current',
  shareModelState: 'marketplace.share',
  importFromMarketplace: 'marketplace.import',
} as const satisfies Partial<Record<keyof Handlers, string>>;

interface Touched { project?: string; name?: string; id?: string; modelStateId?: string; entryId?: string }
interface Result { job?: { id: string; kind: number }; state?: { id: string }; entry?: { id: string } }

/** Records who did what after each audited call succeeds (a failed call changed nothing); state transfers too. */
export function audited(handlers: Handlers, pool: pg.Pool, logger: Logger): Handlers {
  const out: Record<string, unknown> = { ...handlers };
  for (const [method, action] of Object.entries(AUDITED)) {
    const handler = handlers[method as keyof typeof AUDITED] as unknown as AnyUnary;
    out[method] = async (request: Touched, ctx: CallContext) => {
      const response = await handler(request, ctx) as Result;
      const target = response.job?.id ?? response.state?.id ?? response.entry?.id ?? request.id ?? request.modelStateId ?? request.entryId ?? '';
      await recordAudit(pool, {
        actor: actorOf(ctx.principal), action, project: request.project ?? request.name ?? '', target,
        details: { method, ...(response.job ? { kind: response.job.kind } : {}) },
      }).catch((err: unknown) => logger.error({ err, action }, 'audit event not recorded'));
      return response;
    };
  }
  const record = (ctx: CallContext, action: string, project: string, target: string) =>
    recordAudit(pool, { actor: actorOf(ctx.principal), action, project, target, details: {} })
      .catch((err: unknown) => logger.error({ err, action }, 'audit event not recorded'));
  out.importModelState = async (requests: Parameters<Handlers['importModelState']>[0], ctx: CallContext) => {
    const response = await handlers.importModelState(requests, ctx);
    await record(ctx, 'model_state.import', response.state?.project ?? '', response.state?.id ?? '');
    return response;
  };
  out.exportModelState = async function* (request: Parameters<Handlers['exportModelState']>[0], ctx: CallContext) {
    yield* handlers.exportModelState(request, ctx);
    await record(ctx, 'model_state.export', request.project, request.id);
  };
  return out as Handlers;
}
