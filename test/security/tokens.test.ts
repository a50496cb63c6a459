import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { actorOf, listAuditEvents, recordAudit } from '../../libs/auth/audit.js';
import { authenticate } from '../../libs/auth/middleware.js';
import { requireRole } from '../../libs/auth/roles.js';
import { isAideError } from '../../libs/errors.js';
import { FileServiceService, type StatFileRequest } from '../../libs/gen/aide/v1/fileserver.js';
import { createClient, implement, logging, startServer, type CallContext, type Principal } from '../../libs/grpc/index.js';
import { databaseTargets, withTestSchema } from '../support/postgres.js';
import { tokenMetadata, withTokens } from '../support/auth.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const target of await databaseTargets()) {
  test(`API tokens and audit (${target.name})`, async (t) => {
    const db = await withTestSchema(t, target);
    if (!db) return;
    const { store, secretFor } = await withTokens(db.pool);

    await t.test('create → verify gives the roles; the secret is shown once and names its id', async () => {
      const { token, secret } = await store.createToken({ name: 'alice', roles: new Map([['proj', 'annotator'], ['*', 'viewer']]) }, 'cli:root');
      assert.match(secret, new RegExp(`^aide_${token.id}_[A-Za-z0-9_-]{43}$`));
      assert.equal(token.expiresAt, null);
      const principal = await store.verify(secret);
      assert.deepEqual(principal, { kind: 'token', tokenId: token.id, name: 'alice', roles: new Map([['proj', 'annotator'], ['*', 'viewer']]) });
      assert.ok(!(await store.listTokens()).some((t) => 'secret' in t || 'hash' in t));
    });

    await t.test('wrong, malformed or forged secrets verify to null', async () => {
      const secret = await secretFor({ proj: 'viewer' });
      const last = secret.at(-1) === 'A' ? 'B' : 'A';
      for (const bad of [secret.slice(0, -1) + last, '', 'aide_', secret.replace(/^aide_[0-9a-f]{16}/, 'aide_0000000000000000'), `${secret} `, secret.toUpperCase()]) {
        assert.equal(await store.verify(bad), null, `accepted ${JSON.stringify(bad)}`);
      }
    });

    await t.test('revoked is refused at the next call; revoking an unknown id is NOT_FOUND', async () => {
      const { token, secret } = await store.createToken({ name: 'bob', roles: new Map([['proj', 'admin']]) }, 'cli:root');
      assert.ok(await store.verify(secret));
      await store.revokeToken(token.id, 'cli:root');
      assert.equal(await store.verify(secret), null);
      const listed = (await store.listTokens()).find((x) => x.id === token.id)!;
      assert.ok(listed.revokedAt instanceof Date);
      await assert.rejects(store.revokeToken('0123456789abcdef', 'cli:root'), (e: unknown) => isAideError(e, 'NOT_FOUND'));
    });

    await t.test('expired is refused as soon as its ttl passes', async () => {
      const secret = await secretFor({ proj: 'viewer' }, { ttlSeconds: 1 });
      assert.ok(await store.verify(secret));
      await sleep(1100);
      assert.equal(await store.verify(secret), null);
    });

    await t.test('invalid specs are INVALID_ARGUMENT', async () => {
      for (const spec of [
        { name: '', roles: new Map([['p', 'viewer' as const]]) },
        // The name becomes the author of what the token writes: bounded.
        { name: 'x'.repeat(1 << 20), roles: new Map([['p', 'viewer' as const]]) },
        { name: 'x', roles: new Map() },
        { name: 'x', roles: new Map([['p', 'owner' as never]]) },
        { name: 'x', roles: new Map([['p', 'viewer' as const]]), ttlSeconds: -1 },
      ]) {
        await assert.rejects(store.createToken(spec, 'test'), (e: unknown) => isAideError(e, 'INVALID_ARGUMENT'));
      }
    });

    await t.test('secrets never reach the database or the logs in clear', async () => {
      const secret = await secretFor({ proj: 'viewer' }, { name: 'grep-me' });
      const random = secret.split('_').slice(2).join('_');
      const lines: string[] = [];
      const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
      const logger = pino({ level: 'trace' }, sink);
      const server = await startServer({
        name: 'grep', port: 0, host: '127.0.0.1', logger,
        services: [{
          name: 'aide.v1.FileService', definition: FileServiceService,
          implementation: implement(FileServiceService, {
            statFile: async (req: StatFileRequest, ctx: CallContext) => { requireRole(ctx.principal, req.project, 'viewer'); return { info: undefined }; },
          } as never, { middleware: [logging(logger), authenticate({ tokens: store, acceptPeers: false })] }),
        }],
      });
      const client = createClient(FileServiceService, server.address);
      try {
        await client.statFile({ project: 'proj', path: 'x' }, { metadata: tokenMetadata(secret) });
        await store.revokeToken((await store.verify(secret))!.tokenId, 'test');
        await assert.rejects(client.statFile({ project: 'proj', path: 'x' }, { metadata: tokenMetadata(secret) }),
          (e: unknown) => isAideError(e, 'UNAUTHENTICATED'));
      } finally {
        client.close();
        await server.server.forceShutdown();
      }
      const rows = await db.pool.query(`
        SELECT row_to_json(x)::text AS row FROM auth_tokens x UNION ALL
        SELECT row_to_json(x)::text FROM auth_token_roles x UNION ALL
        SELECT row_to_json(x)::text FROM auth_audit_events x`);
      assert.ok(rows.rows.length > 3);
      assert.ok(lines.length >= 2, 'the calls were logged');
      for (const text of [...rows.rows.map((r) => r.row as string), ...lines]) {
        assert.ok(!text.includes(random), `secret in clear: ${text}`);
      }
    });

    await t.test('token creation and revocation are audited with their actor', async () => {
      const { token } = await store.createToken({ name: 'audited', roles: new Map([['p1', 'trainer']]), ttlSeconds: 60 }, 'token:abc');
      await store.revokeToken(token.id, 'peer:spiffe://aide/controller');
      const { events } = await listAuditEvents(db.pool);
      const mine = events.filter((e) => e.target === token.id);
      assert.deepEqual(mine.map((e) => [e.action, e.actor]), [['token.revoke', 'peer:spiffe://aide/controller'], ['token.create', 'token:abc']]);
      assert.deepEqual(mine[1]!.details, { name: 'audited', roles: { p1: 'trainer' }, ttlSeconds: 60 });
    });

    await t.test('audit events page newest first, filter by project, and cannot be changed', async () => {
      for (let i = 0; i < 5; i++) await recordAudit(db.pool, { actor: 'a', action: 'job.start', project: 'paged', target: `job${i}` });
      await recordAudit(db.pool, { actor: 'a', action: 'job.start', project: 'other', target: 'x' });
      const first = await listAuditEvents(db.pool, { project: 'paged', pageSize: 2 });
      const second = await listAuditEvents(db.pool, { project: 'paged', pageSize: 2, pageToken: first.nextPageToken });
      const third = await listAuditEvents(db.pool, { project: 'paged', pageSize: 2, pageToken: second.nextPageToken });
      assert.deepEqual([...first.events, ...second.events, ...third.events].map((e) => e.target), ['job4', 'job3', 'job2', 'job1', 'job0']);
      assert.equal(third.nextPageToken, '');
      await assert.rejects(listAuditEvents(db.pool, { pageToken: 'garbage!' }), (e: unknown) => isAideError(e, 'INVALID_ARGUMENT'));
      for (const sql of ["UPDATE auth_audit_events SET actor = 'me'", 'DELETE FROM auth_audit_events', 'TRUNCATE auth_audit_events']) {
        await assert.rejects(db.pool.query(sql), /append-only/, sql);
      }
      assert.equal((await listAuditEvents(db.pool, { project: 'paged' })).events.length, 5);
    });

    await t.test('actorOf names every kind of principal', () => {
      const principals: Principal[] = [{ kind: 'anonymous' }, { kind: 'peer', identity: 'spiffe://aide/worker' }, { kind: 'token', tokenId: 'abc', name: 'n', roles: new Map() }];
      assert.deepEqual(principals.map(actorOf), ['anonymous', 'peer:spiffe://aide/worker', 'token:abc']);
    });
  });
}

