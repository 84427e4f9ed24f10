/**
 * Admin authentication and authorisation without services: grant strings, the token file with
 * connector-limited roles, which grants count for which call, certificate identities as Node
 * presents them, JWT verification against a JWKS file (keys generated here with jose), the
 * console's live view cut down for a limited principal, and the admin.* worker settings.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pino from 'pino';
import { AdminAuthenticator, certificateIdentities, JwtVerifier, makePrincipal, parseGrant, readTokenFile } from '../../src/admin/index.js';
import { visibleUpdate, type HubUpdate } from '../../src/console/index.js';
import { compileWorkerSettings } from '../../src/cli/worker-options.js';
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from '../../src/errors.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'tributary-auth-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function metadata(token?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (token !== undefined) m.set('authorization', `Bearer ${token}`);
  return m;
}

test('grant strings: a role, or a role limited to a connector glob; anything else is refused', () => {
  assert.deepEqual(parseGrant('viewer'), { role: 'viewer' });
  assert.deepEqual(parseGrant('operator:team-a-*'), { role: 'operator', connectors: 'team-a-*' });
  assert.equal(parseGrant('superuser'), undefined);
  assert.equal(parseGrant('admin:'), undefined);
});

test('a token file may limit roles to connectors; a bad role is refused naming admin.tokens.file', () => {
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify({ tokens: [{ token: 't'.repeat(16), principal: 'anna', roles: ['operator:team-a-*', 'viewer'] }] }));
  const anna = readTokenFile(file).get('t'.repeat(16))!;
  assert.deepEqual(anna.roles, ['viewer', 'operator']);
  assert.deepEqual(anna.grants, [{ role: 'operator', connectors: 'team-a-*' }, { role: 'viewer' }]);
  writeFileSync(file, JSON.stringify({ tokens: [{ token: 't'.repeat(16), principal: 'anna', roles: ['operator:'] }] }));
  assert.throws(() => readTokenFile(file), (err: unknown) => err instanceof InvalidArgumentError && err.problems[0]!.key === 'admin.tokens.file' && /role:connector-glob/.test(err.problems[0]!.message));
});

test('which grants count: connector calls need a matching grant, cluster-wide calls an unlimited one, lists any', async () => {
  const tokens = new Map([
    ['a'.repeat(16), makePrincipal('anna', [{ role: 'operator', connectors: 'team-a-*' }], 'token')],
    ['v'.repeat(16), makePrincipal('vic', [{ role: 'viewer' }], 'token')],
  ]);
  const writes: unknown[] = [];
  const auth = new AdminAuthenticator({ tokens }, { info: (f: unknown) => void writes.push(f) } as unknown as import('pino').Logger);
  const anna = { metadata: metadata('a'.repeat(16)) };
  await auth.authorize('pauseConnector', anna, 'team-a-orders');
  await assert.rejects(auth.authorize('pauseConnector', anna, 'team-b-orders'), (err: unknown) => err instanceof PermissionDeniedError && /connector "team-b-orders" needs the role "operator" for it; principal "anna" has operator:team-a-\*/.test(err.message));
  await assert.rejects(auth.authorize('listWorkers', anna, undefined), (err: unknown) => err instanceof PermissionDeniedError && /for every connector/.test(err.message));
  await assert.rejects(auth.authorize('setLogLevel', anna, undefined), PermissionDeniedError);
  await auth.authorize('listConnectors', anna, undefined);
  await auth.authorize('watchStatus', anna, '');
  await auth.authorize('listPlugins', anna, undefined);
  await assert.rejects(auth.authorize('pauseConnector', { metadata: metadata('v'.repeat(16)) }, 'x'), (err: unknown) => err instanceof PermissionDeniedError && /needs the role "operator"; principal "vic" has viewer/.test(err.message));
  await assert.rejects(auth.authorize('listConnectors', { metadata: metadata() }, undefined), (err: unknown) => err instanceof UnauthenticatedError && /bearer token/.test(err.message));
  // The glob does not leak across a name that only starts like it.
  await assert.rejects(auth.authorize('pauseConnector', anna, 'team-ab'), PermissionDeniedError);
  assert.deepEqual(writes, [{ audit: true, principal: 'anna', via: 'token', call: 'pauseConnector', connector: 'team-a-orders' }]);
});

test('certificate identities: CN first, then each subjectAltName as DNS:, IP:, URI:, email:', () => {
  const cert = { subject: { CN: 'alice' }, subjectaltname: 'DNS:alice.internal, IP Address:10.0.0.7, URI:spiffe://prod/ci, email:alice@example.com, DNS:"a,b"' } as unknown as PeerCertificate;
  assert.deepEqual(certificateIdentities(cert), ['CN=alice', 'DNS:alice.internal', 'IP:10.0.0.7', 'URI:spiffe://prod/ci', 'email:alice@example.com', 'DNS:a,b']);
});

test('JWT: issuer and audience checked, roles from a nested claim, principal from sub; a JWKS with a private or symmetric key is refused', async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'r1', alg: 'RS256' };
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const verifier = new JwtVerifier({ jwksFile, issuer: 'https://idp', audience: 'trib', rolesClaim: 'realm_access.roles' }, logger);
  const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'r1' }).setIssuer('https://idp').setAudience(['other', 'trib']).setExpirationTime('5m').sign(privateKey);
  const p = await verifier.verify(await sign({ sub: 'ada', realm_access: { roles: ['uma_authorization', 'admin:team-a-*'] } }));
  assert.equal(p.name, 'ada');
  assert.equal(p.via, 'jwt');
  assert.deepEqual(p.grants, [{ role: 'admin', connectors: 'team-a-*' }]);
  await assert.rejects(verifier.verify(await sign({ realm_access: { roles: ['admin'] } })), (err: unknown) => err instanceof UnauthenticatedError && /no "sub" claim/.test(err.message));
  await assert.rejects(verifier.verify(await sign({ sub: 'x', roles: ['admin'] })), (err: unknown) => err instanceof PermissionDeniedError && /claim "realm_access.roles"/.test(err.message));
  // A token signed with HS256 is refused whatever the JWKS holds.
  const hs = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256', kid: 'r1' }).setIssuer('https://idp').setAudience('trib').setExpirationTime('5m').sign(new Uint8Array(32));
  await assert.rejects(verifier.verify(hs), (err: unknown) => err instanceof UnauthenticatedError && /algorithm this worker does not accept/.test(err.message));
  const { privateKey: pk } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(jwksFile, JSON.stringify({ keys: [await exportJWK(pk)] }));
  assert.throws(() => new JwtVerifier({ jwksFile, issuer: 'i', audience: 'a' }, logger), (err: unknown) => err instanceof InvalidArgumentError && err.problems[0]!.key === 'admin.jwt.jwks.file' && /private key/.test(err.problems[0]!.message));
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ kty: 'oct', k: 'AAAA' }] }));
  assert.throws(() => new JwtVerifier({ jwksFile, issuer: 'i', audience: 'a' }, logger), (err: unknown) => err instanceof InvalidArgumentError && /symmetric/.test(err.problems[0]!.message));
});

test("the console's live view for a limited principal keeps only its connectors, their partitions and events", () => {
  const connector = (name: string) => ({ name, kind: 'source', plugin: 'p', state: 'RUNNING', targetState: 'RUNNING', partitions: [], counts: { total: 0, running: 0, paused: 0, failed: 0, unassigned: 0, other: 0 }, config: {}, topics: [], recordsPerSecond: null, history: [], lag: [] }) as HubUpdate['state']['connectors'][number];
  const update: HubUpdate = {
    reset: false,
    events: [{ at: 1, kind: 'connector-created', connector: 'team-a-x', message: '' }, { at: 2, kind: 'connector-created', connector: 'team-b-y', message: '' }, { at: 3, kind: 'leader-changed', message: '' }],
    state: { servedBy: 'w1', cluster: 'c', leaderId: 'w1', term: 1, epoch: 1, updatedAt: 1, connectors: [connector('team-a-x'), connector('team-b-y'), connector('team-a-x/hidden')], workers: [{ id: 'w1', address: 'a', leader: true, connected: true, partitions: ['team-a-x/0', 'team-b-y/0', 'team-a-x/hidden/0', 'gone/0'] }] },
  };
  const v = visibleUpdate(update, makePrincipal('anna', [{ role: 'viewer', connectors: 'team-a-*' }], 'jwt'));
  assert.deepEqual(v.state.connectors.map((c) => c.name), ['team-a-x']);
  assert.deepEqual(v.state.workers[0]!.partitions, ['team-a-x/0']);
  assert.deepEqual(v.events.map((e) => e.at), [1, 3]);
});

test('admin.jwt.* settings: the JWKS file needs issuer and audience, the others need the file; admin.identities.file needs gRPC TLS', () => {
  const problems = (flags: Record<string, string>) => {
    try {
      compileWorkerSettings({ kafka: 'localhost:9092', ...flags }, {});
      return [];
    } catch (err) {
      return (err as InvalidArgumentError).problems.map((p) => p.key);
    }
  };
  assert.deepEqual(problems({ adminJwtJwksFile: '/x/jwks.json' }), ['admin.jwt.issuer', 'admin.jwt.audience']);
  assert.deepEqual(problems({ adminJwtIssuer: 'https://idp', adminJwtRolesClaim: 'groups' }), ['admin.jwt.issuer', 'admin.jwt.roles.claim']);
  assert.deepEqual(problems({ adminIdentitiesFile: '/x/identities.json' }), ['admin.identities.file']);
  const ok = compileWorkerSettings({ kafka: 'localhost:9092' }, { TRIBUTARY_ADMIN_JWT_JWKS_FILE: '/x/jwks.json', TRIBUTARY_ADMIN_JWT_ISSUER: 'https://idp', TRIBUTARY_ADMIN_JWT_AUDIENCE: 'trib' });
  assert.deepEqual(ok.adminJwt, { jwksFile: '/x/jwks.json', issuer: 'https://idp', audience: 'trib', rolesClaim: undefined, principalClaim: undefined });
});
