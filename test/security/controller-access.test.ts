/**
 * Every public ControllerService RPC, called through the controller's own
 * authentication with real API tokens: no token, a token for another project,
 * a role one step too weak, and the role the table names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { ROLES, type Role } from '../../libs/auth/roles.js';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { createClient } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { startController } from '../../services/controller/main.js';
import { CONTROLLER_ACCESS, type Access } from '../../services/controller/roles.js';
import { createJob } from '../../services/controller/store/jobs.js';
import { tokenMetadata, withTokens } from '../support/auth.js';
import { databaseTargets, withTestSchema } from '../support/postgres.js';

type Method = keyof typeof ControllerServiceService;
type Outcome = 'UNAUTHENTICATED' | 'PERMISSION_DENIED' | 'allowed' | `failed: ${string}`;

/**
 * What the handler itself answers to an all-zero request once the role check let it through (no such object,
 * a missing field, nothing to work with). Anything else — INTERNAL, UNKNOWN, a transport error — is a failure
 * the test must see, not a pass.
 */
const HANDLER_REFUSALS = new Set(['NOT_FOUND', 'INVALID_ARGUMENT', 'FAILED_PRECONDITION', 'ALREADY_EXISTS', 'OUT_OF_RANGE']);

/** A default request of the method (every field zero), aimed at `project`. */
function requestFor(method: Method, project: string): Record<string, unknown> {
  const def = ControllerServiceService[method] as grpc.MethodDefinition<unknown, unknown>;
  const request = def.requestDeserialize(Buffer.alloc(0)) as Record<string, unknown>;
  if (method === 'createProject') request.name = `${project}-new`;
  else if ('project' in request) request.project = project;
  return request;
}

/** Calls any method with a default request; returns how the call ended. */
async function call(address: string, metadata: grpc.Metadata | undefined, method: Method, project: string): Promise<Outcome> {
  const client = createClient(ControllerServiceService, address, { metadata }) as unknown as Record<string, (...args: unknown[]) => unknown> & { close(): void };
  const def = ControllerServiceService[method];
  const request = requestFor(method, project);
  try {
    if (def.requestStream) {
      await client[method]!([{ payload: { $case: 'header', value: { project, modelLibrary: 'x', labelClassMap: {}, stats: {}, size: 1, numImages: 0 } } }]);
    } else if (def.responseStream) {
      for await (const _ of client[method]!(request) as AsyncIterable<unknown>) { /* drain */ }
    } else {
      await client[method]!(request);
    }
    return 'allowed';
  } catch (err) {
    if (isAideError(err, 'UNAUTHENTICATED')) return 'UNAUTHENTICATED';
    if (isAideError(err, 'PERMISSION_DENIED')) return 'PERMISSION_DENIED';
    if (isAideError(err) && HANDLER_REFUSALS.has(err.kind)) return 'allowed'; // past the role check: the handler's own answer
    return `failed: ${isAideError(err) ? err.kind : 'not a gRPC status'}: ${(err as Error).message}`;
  } finally {
    client.close();
  }
}

const below = (access: Access): string | undefined => {
  if (access === 'global-admin') return 'admin'; // admin of the project only, not of '*'
  if (access === 'authenticated') return undefined;
  const i = ROLES.indexOf(access);
  return i > 0 ? ROLES[i - 1] : undefined;
};
const needed = (access: Access): Record<string, Role> =>
  access === 'global-admin' ? { '*': 'admin' } : access === 'authenticated' ? { other: 'viewer' } : { 'proj-a': access };

const [target] = await databaseTargets();
test('every ControllerService RPC: no token, wrong project, too weak a role, the right role', async (t) => {
  const pick = target!.unavailable ? (await databaseTargets()).find((x) => !x.unavailable)! : target!;
  const database = await withTestSchema(t, pick);
  if (!database) return;
  const logger = createLogger('test', 'silent');
  const controller = await startController(
    Config.load({ env: { AIDE_SECURITY_PLAINTEXT: 'true', AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0' } }), logger,
    { database, jobs: { start: (kind, project, options) => createJob(database.pool, { project, kind, options: { ...options } }) } },
  );
  t.after(() => controller.shutdown(1000));
  const tokens = await withTokens(database.pool);
  const root = tokenMetadata(await tokens.secretFor({ '*': 'admin' }));
  const admin = createClient(ControllerServiceService, controller.address, { metadata: root });
  for (const name of ['proj-a', 'proj-b']) {
    await admin.createProject({ name, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_LABELS, settings: undefined });
  }
  admin.close();
  const otherProject = tokenMetadata(await tokens.secretFor({ 'proj-b': 'admin' }));

  const methods = Object.keys(CONTROLLER_ACCESS) as Method[];
  assert.equal(methods.length, Object.keys(ControllerServiceService).length);
  // deleteProject last: with the right role it really deletes proj-a.
  methods.sort((a, b) => Number(a === 'deleteProject') - Number(b === 'deleteProject'));
  for (const method of methods) {
    const access = CONTROLLER_ACCESS[method];
    const got = {
      none: await call(controller.address, undefined, method, 'proj-a'),
      otherProject: access === 'authenticated' ? 'n/a' : await call(controller.address, otherProject, method, 'proj-a'),
      tooWeak: below(access) ? await call(controller.address, tokenMetadata(await tokens.secretFor(access === 'global-admin' ? { 'proj-a': 'admin' } : { 'proj-a': below(access) as Role })), method, 'proj-a') : 'n/a',
      right: await call(controller.address, tokenMetadata(await tokens.secretFor(needed(access))), method, 'proj-a'),
    };
    assert.deepEqual(got, {
      none: 'UNAUTHENTICATED',
      otherProject: access === 'authenticated' ? 'n/a' : 'PERMISSION_DENIED',
      tooWeak: below(access) ? 'PERMISSION_DENIED' : 'n/a',
      right: 'allowed',
    }, `${method} (${access})`);
  }
});
