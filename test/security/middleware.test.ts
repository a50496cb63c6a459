import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { inspect } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { bearerOf } from '../../libs/auth/bearer.js';
import { authenticate, peersOnly, type AuthenticateOptions } from '../../libs/auth/middleware.js';
import { MESH_TOKEN_IDENTITY, MeshToken } from '../../libs/auth/mesh-token.js';
import { peerIdentity } from '../../libs/auth/peer-identity.js';
import { SignedUrlVerifier, signFileUrl, verifyFileUrl } from '../../libs/auth/signed-url.js';
import type { TokenPrincipal } from '../../libs/auth/tokens.js';
import { isAideError } from '../../libs/errors.js';
import type { CallContext, Principal } from '../../libs/grpc/index.js';

const cert = (subjectaltname: string | undefined, cn?: string) => ({ subject: cn ? { CN: cn } : {}, subjectaltname }) as unknown as PeerCertificate;
const GOOD: TokenPrincipal = { kind: 'token', tokenId: 'abc', name: 'alice', roles: new Map([['p', 'viewer']]) };
const tokens = { verify: async (secret: string) => (secret === 'good' ? GOOD : null) };

async function principalFor(opts: AuthenticateOptions, authorization?: string, peerCertificate?: PeerCertificate): Promise<Principal> {
  const metadata = new grpc.Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  const ctx = { metadata, peerCertificate, principal: { kind: 'anonymous' } } as CallContext;
  await authenticate(opts)(ctx, async () => {});
  return ctx.principal;
}

test('peer identity: URI SAN, else DNS SAN, else CN; quoted SAN entries are ignored', () => {
  assert.equal(peerIdentity(cert('DNS:worker.aide, URI:spiffe://aide/worker', 'w')), 'spiffe://aide/worker');
  assert.equal(peerIdentity(cert('IP Address:127.0.0.1, DNS:worker.aide', 'w')), 'worker.aide');
  assert.equal(peerIdentity(cert(undefined, 'worker')), 'worker');
  assert.equal(peerIdentity(cert('URI:"spiffe://a, URI:spiffe://b"', 'cn')), 'cn');
  assert.equal(peerIdentity(cert(undefined)), undefined);
});

test('bearer header parsing', () => {
  assert.deepEqual(bearerOf(undefined), { kind: 'none' });
  assert.deepEqual(bearerOf('Bearer abc'), { kind: 'secret', secret: 'abc' });
  assert.deepEqual(bearerOf('bearer  abc'), { kind: 'secret', secret: 'abc' });
  for (const bad of ['Basic abc', 'Bearer', 'Bearer a b', ['Bearer a', 'Bearer b']]) assert.deepEqual(bearerOf(bad), { kind: 'malformed' });
});

test('authenticate: token, else peer, else anonymous; a bad token never falls back', async () => {
  const peerCert = cert('URI:spiffe://aide/worker');
  assert.deepEqual(await principalFor({ tokens, acceptPeers: true }, 'Bearer good'), GOOD);
  assert.deepEqual(await principalFor({ tokens, acceptPeers: true }, 'Bearer good', peerCert), GOOD, 'the token wins over the certificate');
  assert.deepEqual(await principalFor({ tokens, acceptPeers: true }, undefined, peerCert), { kind: 'peer', identity: 'spiffe://aide/worker' });
  assert.deepEqual(await principalFor({ tokens, acceptPeers: false }, undefined, peerCert), { kind: 'anonymous' });
  assert.deepEqual(await principalFor({ tokens, acceptPeers: true }), { kind: 'anonymous' });
  for (const [opts, header] of [[{ tokens, acceptPeers: true }, 'Bearer bad'], [{ tokens, acceptPeers: true }, 'Basic x'], [{ acceptPeers: true }, 'Bearer good']] as const) {
    await assert.rejects(principalFor(opts, header, peerCert), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'), header);
  }
});

test('authenticate: the mesh token makes a peer (beside tokens and certificates); a wrong one is a bad token; it never shows in logs', async () => {
  const meshToken = new MeshToken('s3cret-mesh');
  assert.deepEqual(await principalFor({ tokens, acceptPeers: false, meshToken }, 'Bearer s3cret-mesh'), { kind: 'peer', identity: MESH_TOKEN_IDENTITY });
  assert.deepEqual(await principalFor({ acceptPeers: false, meshToken }, 'Bearer s3cret-mesh'), { kind: 'peer', identity: MESH_TOKEN_IDENTITY }, 'no token store needed');
  assert.deepEqual(await principalFor({ tokens, acceptPeers: false, meshToken }, 'Bearer good'), GOOD, 'API tokens still work');
  for (const wrong of ['Bearer s3cret-mes', 'Bearer s3cret-mesh2']) {
    await assert.rejects(principalFor({ tokens, acceptPeers: false, meshToken }, wrong), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'), wrong);
  }
  assert.deepEqual(await principalFor({ tokens, acceptPeers: false }, undefined), { kind: 'anonymous' });
  assert.equal(JSON.stringify({ meshToken }).includes('s3cret'), false);
  assert.equal(inspect(meshToken).includes('s3cret'), false);
  assert.throws(() => new MeshToken(''), /one word/);
  assert.throws(() => new MeshToken('two words'), /one word/);
});

test('peersOnly: anyone but a mesh peer is UNAUTHENTICATED', async () => {
  const run = (principal: Principal) => peersOnly()({ principal } as CallContext, async () => {});
  await run({ kind: 'peer', identity: MESH_TOKEN_IDENTITY });
  await assert.rejects(run({ kind: 'anonymous' }), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'));
  await assert.rejects(run(GOOD), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'));
});

test('signed URLs: bound to project, normalized path and expiry; short keys refused', () => {
  const key = Buffer.alloc(32, 7);
  const expiresAt = new Date(Date.now() + 60_000);
  const url = signFileUrl({ project: 'proj', path: 'a/b c.jpg', expiresAt }, key);
  assert.match(url, /^\/files\/proj\/a\/b%20c\.jpg\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
  const query = new URLSearchParams(url.split('?')[1]);
  assert.equal(verifyFileUrl({ project: 'proj', path: 'a/b c.jpg' }, query, key), true);
  assert.equal(verifyFileUrl({ project: 'proj', path: 'a/b c.jpg' }, query, key, new Date(expiresAt.getTime() + 1000)), false);
  assert.equal(verifyFileUrl({ project: 'proj', path: 'a/b.jpg' }, query, key), false);
  assert.equal(verifyFileUrl({ project: 'prj', path: 'a/b c.jpg' }, query, key), false);
  // The verifier that remembers accepted URLs (by their text and target): remembering changes no answer.
  const verifier = new SignedUrlVerifier(key, 2);
  const target = { project: 'proj', path: 'a/b c.jpg' };
  const withQuery = (change: (q: URLSearchParams) => void): string => {
    const changed = new URLSearchParams(query);
    change(changed);
    return `${url.split('?')[0]}?${changed}`;
  };
  for (let round = 0; round < 2; round++) {
    assert.equal(verifier.verify(target, url), true, `round ${round}`);
    assert.equal(verifier.verify({ project: 'proj', path: 'a/b.jpg' }, url), false, 'the same text for another target');
    assert.equal(verifier.verify({ project: 'prj', path: 'a/b c.jpg' }, url), false);
    const sig = query.get('sig')!;
    assert.equal(verifier.verify(target, withQuery((q) => q.set('sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`))), false);
    assert.equal(verifier.verify(target, withQuery((q) => q.set('exp', String(Number(query.get('exp')) + 3600)))), false, 'a later expiry with the same signature');
    assert.equal(verifier.verify(target, withQuery((q) => q.delete('sig'))), false);
    assert.equal(verifier.verify(target, url.split('?')[0]!), false, 'unsigned');
  }
  // Remembered, still refused once expired.
  assert.equal(verifier.verify(target, url, new Date(expiresAt.getTime() + 1000)), false);
  assert.equal(verifier.verify(target, url), true, 'verified afresh after being forgotten');
  assert.throws(() => new SignedUrlVerifier(Buffer.alloc(16)), /at least 32 bytes/);
  assert.throws(() => signFileUrl({ project: 'proj', path: 'x', expiresAt }, Buffer.alloc(16)), /at least 32 bytes/);
  assert.throws(() => signFileUrl({ project: 'proj', path: '../x', expiresAt }, key), (e: unknown) => isAideError(e, 'INVALID_ARGUMENT'));
});
