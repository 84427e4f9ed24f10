/**
 * gRPC TLS and mTLS on three real worker processes (docs/security.md), certificates made by the
 * test with openssl: sessions form over mutual TLS and a connector's partitions run on all
 * three; a plaintext client and a TLS client without a certificate are refused with their
 * status; a worker whose certificate another CA signed never joins (no session, no partition)
 * and logs why; a rotated certificate file is served on the next connection with no restart.
 * Then, with bearer tokens on the same run: the REST API passes the caller's token through,
 * and no log line of any worker holds a token or key material it was given.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { AdminService } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { createClient } from '../../src/grpc/index.js';
import { UnauthenticatedError, UnavailableError } from '../../src/errors.js';
import { EmbeddedCluster, freePort, type ClusterWorker } from '../support/cluster.js';
import { TestCa, type CertFiles } from '../support/certs.js';
import { eventually } from '../support/eventually.js';

const ADMIN_TOKEN = `admintoken-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
const VIEWER_TOKEN = `viewertoken-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function serialOf(path: string): string {
  return new X509Certificate(readFileSync(path)).serialNumber;
}

/** The serial of the certificate a fresh TLS connection to `port` is shown. */
function servedSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: [ca], ALPNProtocols: ['h2'], servername: 'localhost' }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

describe('gRPC TLS cluster', { timeout: 900_000 }, () => {
  const ca = TestCa.create('cluster-ca');
  const other = TestCa.create('other-ca', join(ca.dir, 'other'));
  const certs = new Map<string, CertFiles>();
  for (const id of ['w1', 'w2', 'w3']) certs.set(id, ca.issue(id, `worker-${id}`));
  // The intruder trusts the cluster's CA (so it can reach the leader) but its own certificate is
  // from another CA: the leader must refuse it, not the intruder refuse the leader.
  certs.set('w4', other.issue('w4', 'worker-w4'));
  const bundle = join(ca.dir, 'bundle.crt');
  writeFileSync(bundle, Buffer.concat([readFileSync(ca.cert), readFileSync(other.cert)]));
  const client = ca.issue('admin-client', 'alice');
  const tokens = join(ca.dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify({ tokens: [
    { token: ADMIN_TOKEN, principal: 'alice', roles: ['admin'] },
    { token: VIEWER_TOKEN, principal: 'grafana', roles: ['viewer'] },
  ] }), { mode: 0o600 });
  const clientCredentials = grpc.credentials.createSsl(readFileSync(bundle), readFileSync(client.key), readFileSync(client.cert));

  const logDir = join(ca.dir, 'logs');
  mkdirSync(logDir);
  let restPort = 0;
  const cluster = new EmbeddedCluster({
    workers: 3,
    logDir,
    startTimeoutMs: 300_000,
    // Debug lines too: the secret grep below must cover every line a worker can write.
    env: { TRIBUTARY_LOG_LEVEL: 'debug' },
    adminCredentials: clientCredentials,
    adminMetadata: { authorization: `Bearer ${ADMIN_TOKEN}` },
    workerEnv: (w: ClusterWorker) => ({
      TRIBUTARY_GRPC_TLS_CERT_FILE: certs.get(w.id)!.cert,
      TRIBUTARY_GRPC_TLS_KEY_FILE: certs.get(w.id)!.key,
      TRIBUTARY_GRPC_TLS_CA_FILE: w.id === 'w4' ? bundle : ca.cert,
      TRIBUTARY_GRPC_TLS_CLIENT_AUTH: 'required',
      TRIBUTARY_GRPC_TLS_RELOAD_INTERVAL_MS: '300',
      TRIBUTARY_ADMIN_TOKENS_FILE: tokens,
      ...(w.id === 'w1' ? { TRIBUTARY_REST_LISTEN: `127.0.0.1:${restPort}` } : {}),
    }),
  });

  before(async () => {
    restPort = await freePort();
    try {
      await cluster.start();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${cluster.logs(15)}`);
    }
  });

  after(async () => {
    await cluster.close();
    ca.remove();
  });

  test('three workers form a cluster over mutual TLS and run a connector on all of them', async () => {
    const admin = cluster.admin();
    await admin.createConnector({ name: 'tls-src', config: { 'connector.class': 'verifiable-source', topic: `tls-${cluster.name}`, partitions: '6', 'records.per.second': '20', 'topic.creation.default.partitions': '1' } }, { timeoutMs: 30_000 });
    await eventually(async () => {
      const { workers } = await admin.listWorkers({}, { timeoutMs: 5_000 });
      const busy = workers.filter((w) => w.connected && w.partitions.length > 0).map((w) => w.id).sort();
      assert.deepEqual(busy, ['w1', 'w2', 'w3']);
      return true;
    }, { timeoutMs: 60_000, intervalMs: 200, message: 'partitions on all three workers' });
    for (const w of cluster.workers) assert.ok(w.log.some((l) => l.includes('session established')), `${w.id} established its session`);
  });

  test('a plaintext client, and a TLS client without a certificate, are refused', async () => {
    const w = cluster.workers[0]!;
    const plain = createClient(AdminService, w.address);
    await assert.rejects(plain.getCluster({}, { timeoutMs: 3_000 }), (err: Error) => err instanceof UnavailableError || /DEADLINE_EXCEEDED/.test(err.constructor.name + err.message));
    plain.close();
    const noCert = createClient(AdminService, w.address, { credentials: grpc.credentials.createSsl(readFileSync(ca.cert)), metadata: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await assert.rejects(noCert.getCluster({}, { timeoutMs: 5_000 }), (err: Error) => err instanceof UnauthenticatedError && /client certificate/.test(err.message));
    noCert.close();
  });

  test('the CLI reaches a TLS worker with --ca, --cert and --key', async () => {
    const w = cluster.workers[2]!;
    const args = ['--import', 'tsx', cli, 'connectors', 'list', '--json', '-s', w.address, '--token', ADMIN_TOKEN];
    const withCert = await run([...args, '--ca', ca.cert, '--cert', client.cert, '--key', client.key]);
    assert.equal(withCert.code, 0, withCert.stderr);
    assert.ok(withCert.stdout.includes('tls-src'), withCert.stdout);
    const withoutCert = await run([...args, '--ca', ca.cert]);
    assert.notEqual(withoutCert.code, 0);
    assert.match(withoutCert.stderr, /client certificate/);
  });

  test('a worker with a certificate of another CA never joins and says why in its log', async () => {
    const intruder = await cluster.addWorker({ wait: false });
    assert.equal(intruder.id, 'w4');
    await eventually(() => intruder.log.some((l) => l.includes("the leader refused this worker's session") && l.includes('signed by the cluster CA')), {
      timeoutMs: 150_000,
      intervalMs: 200,
      message: `w4 logs the refusal\n${intruder.log.slice(-10).join('\n')}`,
    });
    const leader = await cluster.leader();
    assert.ok(leader.log.some((l) => l.includes('refused a session')), 'the leader logged the refusal');
    const { workers } = await cluster.admin().listWorkers({}, { timeoutMs: 5_000 });
    const w4 = workers.find((w) => w.id === 'w4');
    assert.ok(!w4 || (!w4.connected && w4.partitions.length === 0), `w4 must hold nothing: ${JSON.stringify(w4, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    assert.ok(!intruder.log.some((l) => l.includes('session established')), 'w4 never established a session');
    await cluster.kill(intruder);
  });

  test('a rotated certificate file is served on the next connection, without a restart', async () => {
    const w = cluster.workers[1]!;
    const caPem = readFileSync(ca.cert);
    const before = serialOf(certs.get(w.id)!.cert);
    assert.equal(await servedSerial(w.port, caPem), before);
    ca.issue(w.id, `worker-${w.id}`);
    const rotated = serialOf(certs.get(w.id)!.cert);
    assert.notEqual(rotated, before);
    await eventually(async () => (await servedSerial(w.port, caPem)) === rotated, { timeoutMs: 15_000, intervalMs: 100, message: 'the rotated certificate served' });
    assert.ok(w.log.some((l) => l.includes('TLS certificate reloaded')), `${w.id} logged the reload`);
    // Its existing session was not disturbed, and the cluster still answers through it.
    const { workers } = await cluster.admin(w).listWorkers({}, { timeoutMs: 5_000 });
    assert.deepEqual(workers.filter((x) => x.connected).map((x) => x.id).sort(), ['w1', 'w2', 'w3']);
  });

  test("the REST API calls the local gRPC API with the caller's token: none is 401, a viewer's create is 403, an admin's works", async () => {
    const url = `http://127.0.0.1:${restPort}/connectors`;
    const none = await fetch(url);
    assert.equal(none.status, 401, await none.text());
    const viewer = await fetch(url, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
    assert.equal(viewer.status, 200);
    assert.ok(((await viewer.json()) as string[]).includes('tls-src'));
    const body = JSON.stringify({ name: 'rest-src', config: { 'connector.class': 'verifiable-source', topic: `rest-${cluster.name}`, 'records.per.second': '1' } });
    const denied = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${VIEWER_TOKEN}`, 'content-type': 'application/json' }, body });
    assert.equal(denied.status, 403);
    assert.match(((await denied.json()) as { message: string }).message, /needs the role "admin"/);
    const created = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body });
    assert.equal(created.status, 201, await created.clone().text());
    assert.ok(cluster.workers.some((w) => w.log.some((l) => l.includes('"audit":true') && l.includes('"principal":"alice"') && l.includes('rest-src'))), 'the write was audited as alice');
  });

  test('no log line of any worker holds a token or key material it was given', async () => {
    const secrets = [ADMIN_TOKEN, VIEWER_TOKEN];
    for (const files of [...certs.values(), client]) {
      // Every base64 line of the PEM private key: a log line with any of them leaked the key.
      secrets.push(...readFileSync(files.key, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----') && l.length >= 16));
    }
    secrets.push(...readFileSync(ca.key, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----') && l.length >= 16));
    let lines = 0;
    for (const file of readdirSync(logDir)) {
      for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
        lines++;
        for (const secret of secrets) assert.ok(!line.includes(secret), `${file} logged a secret: ${line.slice(0, 200)}`);
      }
    }
    assert.ok(lines > 100, `the workers' logs were read (${lines} lines)`);
    console.log(`# secret grep: ${secrets.length} secrets over ${lines} log lines of ${readdirSync(logDir).length} workers`);
  });
});
