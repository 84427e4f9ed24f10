/**
 * Admin identities from mTLS client certificates (docs/security.md), on two real workers of one
 * cluster (etcd + Kafka) with gRPC TLS and `admin.identities.file`; certificates are made by the
 * test with openssl. A mapped certificate acts with its grants on the leader and through the
 * follower (which forwards the identity it verified); an unmapped one is PERMISSION_DENIED
 * naming its identity; no certificate is UNAUTHENTICATED; a client cannot pass itself off as a
 * forwarder; a worker's own certificate has no role (so REST without a token is 401).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { TributaryError } from '../../src/errors.js';
import { AdminAuthenticator, AdminClient, CertificateIdentities, FORWARDED_IDENTITY } from '../../src/admin/index.js';
import { TlsFiles } from '../../src/grpc/index.js';
import { services } from '../support/services.js';
import { call, startRestWorker, type RestWorker } from '../support/rest-worker.js';
import { uniqueName } from '../support/kafka.js';
import { quietLogger } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { runCli } from '../support/cli.js';
import { rejectedWith } from '../support/auth-errors.js';
import { TestCa, type CertFiles } from '../support/certs.js';

/** The CLI finds its token in flags only, never in the test's environment. */
const CLI_ENV = { TRIBUTARY_TOKEN: '' };

describe('admin identities from mTLS client certificates', { timeout: 240_000 }, () => {
  const ca = TestCa.create('admin-ca');
  const prefix = uniqueName('certs');
  const audit: Array<Record<string, unknown>> = [];
  const auditLogger = { info: (fields: Record<string, unknown>) => void audit.push(fields), warn: () => {} } as unknown as import('pino').Logger;
  const workers: RestWorker[] = [];
  const tlsFiles: TlsFiles[] = [];
  const clients: AdminClient[] = [];
  let leader: RestWorker;
  let follower: RestWorker;
  let certs: Record<'alice' | 'ci' | 'mallory' | 'w1', CertFiles>;

  const as = (worker: RestWorker, cert: CertFiles | undefined, metadata?: Record<string, string>) => {
    const caPem = readFileSync(ca.cert);
    const credentials = cert ? grpc.credentials.createSsl(caPem, readFileSync(cert.key), readFileSync(cert.cert)) : grpc.credentials.createSsl(caPem);
    const c = new AdminClient(worker.node.self.address, { timeoutMs: 20_000, credentials, ...(metadata ? { callMetadata: () => metadata } : {}) });
    clients.push(c);
    return c;
  };
  const config = (name: string) => ({ 'connector.class': 'verifiable-source', topic: `${name}-t`, 'topic.creation.default.partitions': '1' });

  before(async () => {
    certs = {
      alice: ca.issue('alice'),
      ci: ca.issue('ci', 'ci-runner', ['URI:spiffe://test.example/ci']),
      mallory: ca.issue('mallory'),
      w1: ca.issue('worker-1'),
    };
    const w2 = ca.issue('worker-2');
    const identitiesFile = join(ca.dir, 'identities.json');
    writeFileSync(
      identitiesFile,
      JSON.stringify({
        identities: [
          { identity: 'CN=alice', principal: 'alice', roles: ['admin'] },
          { identity: 'URI:spiffe://test.example/ci', principal: 'ci', roles: [`operator:${prefix}-ci-*`, 'viewer'] },
        ],
        forwarders: ['CN=worker-*'],
      }),
    );
    const s = await services();
    const cluster = uniqueName('certs-cluster');
    for (const [id, files] of [['w1', certs.w1], ['w2', w2]] as const) {
      const tls = new TlsFiles({ certFile: files.cert, keyFile: files.key, caFile: ca.cert, logger: quietLogger }).start();
      tlsFiles.push(tls);
      const auth = new AdminAuthenticator({ certificates: CertificateIdentities.fromFile(identitiesFile) }, auditLogger);
      const w = await startRestWorker({ etcdEndpoints: s.etcdEndpoints, kafkaBootstrap: s.kafkaBootstrap, cluster, id, auth, tls });
      workers.push(w);
      // The first one started leads.
      await w.started;
    }
    await eventually(() => workers.some((w) => w.node.leader) && workers.every((w) => w.node.membership?.currentLeader), { timeoutMs: 30_000, message: 'a leader, known to both' });
    leader = workers.find((w) => w.node.leader)!;
    follower = workers.find((w) => w !== leader)!;
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const w of workers.reverse()) await w.stop();
    for (const t of tlsFiles) t.stop();
    ca.remove();
  });

  test('a mapped certificate acts with its grants on the leader and through a follower; unmapped is PERMISSION_DENIED naming the identity; none is UNAUTHENTICATED', async () => {
    const name = `${prefix}-ci-orders`;
    const other = `${prefix}-other`;
    await as(leader, certs.alice).connectors.create(name, config(name), { initialState: 'STOPPED' });
    // Through the follower: it forwards alice's verified identity, the leader maps it again.
    await as(follower, certs.alice).connectors.create(other, config(other), { initialState: 'STOPPED' });
    assert.deepEqual((await as(leader, certs.alice).connectors.list()).filter((n) => n.startsWith(prefix)), [name, other]);

    await assert.rejects(as(leader, certs.mallory).connectors.list(), rejectedWith('PERMISSION_DENIED', /certificate identity CN=mallory, IP:127\.0\.0\.1, DNS:localhost has no role: add it to admin\.identities\.file/));
    await assert.rejects(as(follower, certs.mallory).connectors.list(), rejectedWith('PERMISSION_DENIED', /CN=mallory/));
    await assert.rejects(as(leader, undefined).connectors.list(), rejectedWith('UNAUTHENTICATED', /client certificate mapped in admin\.identities\.file/));

    // A SAN identity (SPIFFE URI) with a connector-limited operator grant, through the follower.
    const ci = as(follower, certs.ci);
    await ci.connectors.pause(name);
    assert.equal((await ci.connectors.get(name)).targetState, 'PAUSED');
    await assert.rejects(ci.connectors.pause(other), rejectedWith('PERMISSION_DENIED', new RegExp(`pauseConnector on connector "${other}" needs the role "operator" for it; principal "ci"`)));
    await assert.rejects(ci.connectors.delete(name), rejectedWith('PERMISSION_DENIED', /deleteConnector needs the role "admin"; principal "ci" has viewer, operator/));

    // Audit: who (and how), what, which connector, on the leader as well as the worker it came through.
    const lines = audit.map((a) => [a['principal'], a['via'], a['call'], a['connector']]);
    assert.deepEqual(lines.filter(([, , c, n]) => c === 'pauseConnector' && n === name), [
      ['ci', 'certificate', 'pauseConnector', name],
      ['ci', 'certificate', 'pauseConnector', name],
    ]);
    for (const n of [name, other]) await as(follower, certs.alice).connectors.delete(n);
  });

  test("a client cannot pass itself off as a forwarder, and a worker's own certificate has no role (REST without a token is 401)", async () => {
    const forged = { [FORWARDED_IDENTITY]: JSON.stringify(['CN=alice']) };
    await assert.rejects(as(leader, certs.mallory, forged).connectors.list(), rejectedWith('PERMISSION_DENIED', /certificate CN=mallory may not forward calls on behalf of others/));
    await assert.rejects(as(leader, certs.w1).connectors.list(), rejectedWith('UNAUTHENTICATED', /worker certificate CN=worker-1, which has no role of its own/));
    // A worker certificate forwarding an identity that has no mapping gets nothing either.
    await assert.rejects(as(leader, certs.w1, { [FORWARDED_IDENTITY]: JSON.stringify(['CN=mallory']) }).connectors.list(), rejectedWith('PERMISSION_DENIED', /CN=mallory has no role/));
    // The REST API calls the local gRPC API with the worker's certificate and no token.
    for (const w of [leader, follower]) {
      const res = await call(w.url, 'GET', '/connectors');
      assert.equal(res.status, 401);
      assert.match((res.body as { message: string }).message, /no role of its own/);
    }
  });

  test('the CLI acts as its certificate with --ca, --cert and --key; an unmapped one is refused naming it', async () => {
    const name = `${prefix}-ci-cli`;
    await as(leader, certs.alice).connectors.create(name, config(name), { initialState: 'STOPPED' });
    const base = ['-s', follower.node.self.address, '--ca', ca.cert];
    const paused = await runCli(['connectors', 'pause', name, ...base, '--cert', certs.ci.cert, '--key', certs.ci.key], CLI_ENV);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal((await as(leader, certs.alice).connectors.get(name)).targetState, 'PAUSED');
    const mallory = await runCli(['connectors', 'list', ...base, '--cert', certs.mallory.cert, '--key', certs.mallory.key], CLI_ENV);
    assert.notEqual(mallory.code, 0);
    assert.match(mallory.stderr, /CN=mallory.*has no role/);
    await as(leader, certs.alice).connectors.delete(name);
  });

  test('a bad identities file stops the worker with admin.identities.file named', () => {
    const bad = join(ca.dir, 'bad-identities.json');
    writeFileSync(bad, JSON.stringify({ identities: [{ identity: 'CN=worker-1', roles: ['admin'] }], forwarders: ['CN=worker-*'] }));
    assert.throws(() => CertificateIdentities.fromFile(bad), (err: unknown) => (err as TributaryError).code === 'INVALID_ARGUMENT' && /both a forwarder and mapped/.test((err as { problems: Array<{ key: string; message: string }> }).problems[0]!.message) && (err as { problems: Array<{ key: string }> }).problems[0]!.key === 'admin.identities.file');
    writeFileSync(bad, JSON.stringify({ identities: [{ identity: 'CN=bob', roles: ['superuser'] }] }));
    assert.throws(() => CertificateIdentities.fromFile(bad), /invalid worker settings/);
  });
});
