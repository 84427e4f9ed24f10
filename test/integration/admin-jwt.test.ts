/**
 * Admin authentication with OIDC/JWT bearer tokens and connector-name grants, through a real
 * worker (etcd + Kafka) and its REST API. The test is its own identity provider: it generates
 * key pairs with jose, publishes the public keys in a JWKS file and mints tokens. Every outcome
 * is asserted with its gRPC status (and HTTP status on REST); the audit log is a real pino
 * stream, checked for one line per write and for never holding a token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { pino } from 'pino';
import { AdminAuthenticator, AdminClient, JwtVerifier } from '../../src/admin/index.js';
import { services } from '../support/services.js';
import { call, startRestWorker, type RestWorker } from '../support/rest-worker.js';
import { uniqueName } from '../support/kafka.js';
import { eventually } from '../support/eventually.js';
import { runCli } from '../support/cli.js';
import { rejectedWith } from '../support/auth-errors.js';

/** The CLI finds its token in flags only, never in the test's environment. */
const CLI_ENV = { TRIBUTARY_TOKEN: '' };

const ISSUER = 'https://idp.test.example/realms/tributary';
const AUDIENCE = 'tributary-test-cluster';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

/** Writes the JWKS as an operator should: a temp file renamed into place. */
function publish(file: string, keys: JWK[] | string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, typeof keys === 'string' ? keys : JSON.stringify({ keys }));
  renameSync(tmp, file);
}

const minted: string[] = [];

async function mint(key: SigningKey, claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: number | string; kid?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? key.kid })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '10m');
  const token = await jwt.sign(key.privateKey);
  minted.push(token);
  return token;
}

describe('admin JWT bearer tokens and connector-name grants', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-jwt-'));
  const jwksFile = join(dir, 'jwks.json');
  const logLines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const prefix = uniqueName('jwt');
  let k1: SigningKey;
  let k2: SigningKey;
  let stranger: SigningKey;
  let w: RestWorker;
  const clients: AdminClient[] = [];
  const as = (token?: string) => {
    const c = new AdminClient(w.node.self.address, { timeoutMs: 20_000, ...(token === undefined ? {} : { token }) });
    clients.push(c);
    return c;
  };
  const audit = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['audit'] === true);
  const config = (name: string) => ({ 'connector.class': 'verifiable-source', topic: `${name}-t`, 'topic.creation.default.partitions': '1' });

  before(async () => {
    [k1, k2, stranger] = await Promise.all([signingKey('k1'), signingKey('k2'), signingKey('k1')]);
    publish(jwksFile, [k1.publicJwk]);
    const s = await services();
    const jwt = new JwtVerifier({ jwksFile, issuer: ISSUER, audience: AUDIENCE, reloadIntervalMs: 100 }, logger);
    w = await startRestWorker({ etcdEndpoints: s.etcdEndpoints, kafkaBootstrap: s.kafkaBootstrap, auth: new AdminAuthenticator({ jwt }, logger) });
    await w.started;
  });

  after(async () => {
    for (const c of clients) c.close();
    await w?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('expired, wrong-issuer, wrong-audience, bad-signature and unknown-key JWTs are UNAUTHENTICATED naming what failed; a valid one acts with its roles', async () => {
    const name = `${prefix}-main`;
    const admin = as(await mint(k1, { sub: 'ada', roles: ['admin'] }));
    await admin.connectors.create(name, config(name), { initialState: 'STOPPED' });
    assert.deepEqual(await admin.connectors.list(), [name]);

    await assert.rejects(as().connectors.list(), rejectedWith('UNAUTHENTICATED', /requires a JWT/));
    await assert.rejects(as(await mint(k1, { sub: 'ada', roles: ['admin'] }, { exp: Math.floor(Date.now() / 1000) - 600 })).connectors.list(), rejectedWith('UNAUTHENTICATED', /has expired \(exp /));
    await assert.rejects(as(await mint(k1, { sub: 'ada', roles: ['admin'] }, { iss: 'https://evil.example' })).connectors.list(), rejectedWith('UNAUTHENTICATED', /wrong issuer "https:\/\/evil.example".*admin\.jwt\.issuer/));
    await assert.rejects(as(await mint(k1, { sub: 'ada', roles: ['admin'] }, { aud: 'another-cluster' })).connectors.list(), rejectedWith('UNAUTHENTICATED', /wrong audience "another-cluster".*admin\.jwt\.audience/));
    // Signed by a key that claims the published kid: the signature does not verify.
    await assert.rejects(as(await mint(stranger, { sub: 'ada', roles: ['admin'] })).connectors.delete(name), rejectedWith('UNAUTHENTICATED', /bad signature/));
    // A payload changed after signing (roles raised): the signature no longer matches.
    const viewerToken = await mint(k1, { sub: 'vic', roles: ['viewer'] });
    const [h, , sig] = viewerToken.split('.');
    const raised = `${h}.${Buffer.from(JSON.stringify({ sub: 'vic', roles: ['admin'], iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}.${sig}`;
    await assert.rejects(as(raised).connectors.delete(name), rejectedWith('UNAUTHENTICATED', /bad signature/));
    await assert.rejects(as(await mint(stranger, { sub: 'ada', roles: ['admin'] }, { kid: 'nope' })).connectors.list(), rejectedWith('UNAUTHENTICATED', /not in admin\.jwt\.jwks\.file/));
    await assert.rejects(as('not-a-jwt-at-all').connectors.list(), rejectedWith('UNAUTHENTICATED', /not a JWT/));

    // Verified but without a Tributary role: PERMISSION_DENIED naming the claim.
    await assert.rejects(as(await mint(k1, { sub: 'nobody', roles: ['offline_access'] })).connectors.list(), rejectedWith('PERMISSION_DENIED', /"nobody".*claim "roles".*"offline_access"/));
    const viewer = as(viewerToken);
    assert.deepEqual(await viewer.connectors.list(), [name], 'a viewer reads');
    await assert.rejects(viewer.connectors.delete(name), rejectedWith('PERMISSION_DENIED', /deleteConnector needs the role "admin"; principal "vic" has viewer/));
    // Roles as one space-separated string (as OAuth scope is) work too.
    await as(await mint(k1, { sub: 'olga', roles: 'offline_access operator' })).connectors.pause(name);
    assert.equal((await viewer.connectors.get(name)).targetState, 'PAUSED');
    await admin.connectors.delete(name);
    assert.deepEqual(await viewer.connectors.list(), []);
  });

  test('the JWKS file is read again when it changes: a newly published key is accepted, a withdrawn one refused, a broken file ignored', async () => {
    const byK1 = as(await mint(k1, { sub: 'vic', roles: ['viewer'] }));
    const byK2 = as(await mint(k2, { sub: 'vic', roles: ['viewer'] }));
    await byK1.connectors.list();
    await assert.rejects(byK2.connectors.list(), rejectedWith('UNAUTHENTICATED', /not in admin\.jwt\.jwks\.file/));
    publish(jwksFile, [k2.publicJwk]);
    await eventually(() => byK2.connectors.list().then(() => true), { timeoutMs: 20_000, message: 'the new key is used' });
    await assert.rejects(byK1.connectors.list(), rejectedWith('UNAUTHENTICATED', /not in admin\.jwt\.jwks\.file/));
    assert.ok(logLines.some((l) => /"msg":"JWKS reloaded"/.test(l)), 'the reload is logged');
    // Half-written or wrong: logged and ignored, the previous keys stay in use. (The file is
    // checked when a token arrives, so each attempt makes a call.)
    publish(jwksFile, '{"keys": [');
    await eventually(async () => (await byK2.connectors.list()) && logLines.some((l) => /cannot be used; keeping the previous keys/.test(l)), { timeoutMs: 20_000, message: 'the broken file is reported and ignored' });
    publish(jwksFile, [k1.publicJwk, k2.publicJwk]);
    await eventually(() => byK1.connectors.list().then(() => true), { timeoutMs: 20_000, message: 'both keys are used' });
  });

  test('a grant limited to a connector glob acts on matching connectors only (PERMISSION_DENIED naming connector and role); lists and WatchStatus show only permitted connectors', async () => {
    // b1 sorts first, so an unfiltered WatchStatus would show it before team A's two.
    const [a1, a2, b1] = [`${prefix}-team-a-orders`, `${prefix}-team-a-users`, `${prefix}-billing-team-b`];
    const admin = as(await mint(k1, { sub: 'ada', roles: ['admin'] }));
    for (const n of [a1, a2, b1]) await admin.connectors.create(n, config(n), { initialState: 'STOPPED' });
    // Team A may operate its connectors and only view team B's.
    const teamA = as(await mint(k1, { sub: 'anna', roles: [`operator:${prefix}-team-a-*`, `admin:${prefix}-team-a-users`] }));
    await teamA.connectors.pause(a1);
    await assert.rejects(teamA.connectors.pause(b1), rejectedWith('PERMISSION_DENIED', new RegExp(`pauseConnector on connector "${b1}" needs the role "operator" for it; principal "anna" has operator:${prefix}-team-a-\\*`)));
    await assert.rejects(teamA.connectors.get(b1), rejectedWith('PERMISSION_DENIED', new RegExp(`getConnector on connector "${b1}" needs the role "viewer"`)));
    await assert.rejects(teamA.connectors.delete(a1), rejectedWith('PERMISSION_DENIED', new RegExp(`deleteConnector on connector "${a1}" needs the role "admin"`)));
    await assert.rejects(teamA.connectors.create(`${prefix}-team-b-new`, config('x'), { initialState: 'STOPPED' }), rejectedWith('PERMISSION_DENIED', /createConnector/));
    // Cluster-wide calls need an unlimited grant; calls that reveal no connector need any.
    await assert.rejects(teamA.workers.list(), rejectedWith('PERMISSION_DENIED', /listWorkers needs the role "viewer" for every connector; principal "anna"/));
    assert.ok((await teamA.plugins.list()).length > 0);
    assert.deepEqual((await teamA.connectors.list()).filter((n) => n.startsWith(prefix)), [a1, a2], 'the list shows only team A');
    const expanded = await teamA.rpc.listConnectors({ expandStatus: true, expandInfo: true }, {});
    assert.deepEqual(expanded.statuses.map((s) => s.name), [a1, a2]);
    assert.deepEqual(expanded.infos.map((i) => i.name), [a1, a2]);
    // WatchStatus of every connector: the first round names exactly the visible ones.
    const controller = new AbortController();
    const seen = new Set<string>();
    for await (const event of teamA.watchStatus('', { signal: controller.signal })) {
      seen.add(event.connector);
      if (seen.has(a1) && seen.has(a2)) break;
    }
    controller.abort();
    assert.equal(seen.has(b1), false, `WatchStatus showed ${[...seen].join(', ')}`);
    await assert.rejects(async () => {
      for await (const _ of teamA.watchStatus(b1)) break;
    }, rejectedWith('PERMISSION_DENIED', new RegExp(`watchStatus on connector "${b1}"`)));
    // An unlimited viewer sees all three.
    assert.deepEqual((await as(await mint(k1, { sub: 'vic', roles: ['viewer'] })).connectors.list()).filter((n) => n.startsWith(prefix)), [b1, a1, a2]);
    // Team A's admin grant on one connector lets it delete that one.
    await teamA.connectors.delete(a2);
    for (const n of [a1, b1]) await admin.connectors.delete(n);
  });

  test('the REST API applies the same identities: no token 401, a bad JWT 401 naming the failure, a viewer write 403, a limited grant sees only its connectors', async () => {
    const name = `${prefix}-rest-team-a-1`;
    const other = `${prefix}-rest-other`;
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const adminToken = await mint(k1, { sub: 'ada', roles: ['admin'] });
    for (const n of [name, other]) assert.equal((await call(w.url, 'POST', '/connectors', { name: n, config: config(n), initial_state: 'STOPPED' }, bearer(adminToken))).status, 201);
    const none = await call(w.url, 'GET', '/connectors');
    assert.equal(none.status, 401);
    const expired = await call(w.url, 'GET', '/connectors', undefined, bearer(await mint(k1, { sub: 'ada', roles: ['admin'] }, { exp: Math.floor(Date.now() / 1000) - 600 })));
    assert.equal(expired.status, 401);
    assert.match((expired.body as { message: string }).message, /expired/);
    const viewerToken = await mint(k1, { sub: 'vic', roles: ['viewer'] });
    const denied = await call(w.url, 'PUT', `/connectors/${name}/pause`, undefined, bearer(viewerToken));
    assert.equal(denied.status, 403);
    assert.match((denied.body as { message: string }).message, /pauseConnector needs the role "operator"; principal "vic"/);
    const teamToken = await mint(k1, { sub: 'anna', roles: [`operator:${prefix}-rest-team-a-*`] });
    const list = await call(w.url, 'GET', '/connectors', undefined, bearer(teamToken));
    assert.equal(list.status, 200);
    assert.deepEqual((list.body as string[]).filter((n) => n.startsWith(prefix)), [name]);
    assert.equal((await call(w.url, 'PUT', `/connectors/${name}/pause`, undefined, bearer(teamToken))).status, 202);
    const outside = await call(w.url, 'PUT', `/connectors/${other}/pause`, undefined, bearer(teamToken));
    assert.equal(outside.status, 403);
    assert.match((outside.body as { message: string }).message, new RegExp(`connector "${other}" needs the role "operator"`));
    for (const n of [name, other]) assert.equal((await call(w.url, 'DELETE', `/connectors/${n}`, undefined, bearer(adminToken))).status, 204);
  });

  test('the CLI sends a JWT with --token; without one it is refused with the reason', async () => {
    const name = `${prefix}-cli-team-a-1`;
    const admin = as(await mint(k1, { sub: 'ada', roles: ['admin'] }));
    await admin.connectors.create(name, config(name), { initialState: 'STOPPED' });
    const args = ['connectors', 'list', '--json', '-s', w.node.self.address];
    const ok = await runCli([...args, '--token', await mint(k1, { sub: 'anna', roles: [`viewer:${prefix}-cli-team-a-*`] })], CLI_ENV);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual((JSON.parse(ok.stdout) as Array<{ name: string }>).map((c) => c.name), [name], 'a limited viewer lists only its connector');
    const refused = await runCli(args);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /requires a JWT/);
    const expired = await runCli([...args, '--token', await mint(k1, { sub: 'ada', roles: ['admin'] }, { exp: Math.floor(Date.now() / 1000) - 600 })], CLI_ENV);
    assert.notEqual(expired.code, 0);
    assert.match(expired.stderr, /has expired/);
    await admin.connectors.delete(name);
  });

  test('every permitted write has one audit line (who, how, what, connector) and no log line holds a token', () => {
    const lines = audit();
    assert.ok(lines.length > 0);
    for (const l of lines) {
      assert.equal(l['via'], 'jwt');
      assert.equal(typeof l['principal'], 'string');
      assert.equal(typeof l['call'], 'string');
    }
    const calls = lines.map((l) => [l['principal'], l['call'], l['connector']]);
    assert.ok(calls.some(([p, c, n]) => p === 'anna' && c === 'pauseConnector' && n === `${prefix}-team-a-orders`), JSON.stringify(calls));
    assert.ok(calls.some(([p, c, n]) => p === 'olga' && c === 'pauseConnector' && n === `${prefix}-main`));
    // Refused calls are not audited as writes.
    assert.equal(calls.some(([p, c]) => p === 'vic' && c === 'deleteConnector'), false);
    const all = logLines.join('\n');
    for (const t of minted) {
      assert.equal(all.includes(t), false, 'a token was logged');
      assert.equal(all.includes(t.split('.')[2]!), false, 'a token signature was logged');
    }
  });
});
