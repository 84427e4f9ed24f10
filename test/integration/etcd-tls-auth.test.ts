/**
 * The etcd coordinator against an etcd of its own with TLS client certificates and user/password
 * auth on (started and stopped by PID here; certificates made with openssl): the worker's user
 * holds a role limited to `/tributary/<cluster>/` and that is enough for a cluster to form and
 * fail over; a client whose certificate another CA signed, and one with a wrong password, are
 * refused and the error says which.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3, Range } from 'etcd3';
import { createEtcdBackend, type EtcdBackend } from '../../src/coordinator/index.js';
import { FailedPreconditionError, UnavailableError } from '../../src/errors.js';
import { freePort } from '../support/cluster.js';
import { TestCa } from '../support/certs.js';
import { eventually } from '../support/eventually.js';

const PASSWORD = `etcd-pw-${Math.random().toString(36).slice(2)}`;

describe('etcd with TLS client certificates and auth', { timeout: 120_000 }, () => {
  const ca = TestCa.create('etcd-ca');
  const other = TestCa.create('rogue-ca', join(ca.dir, 'rogue'));
  const server = ca.issue('etcd-server', 'etcd');
  const client = ca.issue('etcd-client', 'tributary-worker');
  const rogue = other.issue('rogue-client', 'tributary-worker');
  const cluster = `tls-${Date.now().toString(36)}`;
  let etcd: ChildProcess | undefined;
  let endpoint = '';
  const backends: EtcdBackend[] = [];

  const tls = (files = client) => ({ ca: readFileSync(ca.cert), cert: readFileSync(files.cert), key: readFileSync(files.key) });
  const backend = (options: { files?: typeof client; password?: string } = {}) => {
    const b = createEtcdBackend({ endpoints: [endpoint], cluster, tls: tls(options.files), auth: { username: 'tributary', password: options.password ?? PASSWORD }, requestTimeoutMs: 2_000 });
    backends.push(b);
    return b;
  };

  before(async () => {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    endpoint = `https://127.0.0.1:${clientPort}`;
    const data = join(ca.dir, 'data');
    mkdirSync(data);
    etcd = spawn('etcd', [
      '--name', 'tls', '--data-dir', data,
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `tls=http://127.0.0.1:${peerPort}`,
      '--cert-file', server.cert, '--key-file', server.key, '--trusted-ca-file', ca.cert, '--client-cert-auth',
    ], { stdio: 'ignore' });
    // Set up auth as an operator would: root, and a worker user whose role covers only the cluster's prefix.
    const setup = new Etcd3({ hosts: [endpoint], credentials: { rootCertificate: readFileSync(ca.cert), privateKey: readFileSync(client.key), certChain: readFileSync(client.cert) } });
    try {
      await eventually(() => setup.get('probe').then(() => true), { timeoutMs: 20_000, intervalMs: 200, message: 'TLS etcd answering' });
      await setup.user('root').create(`root-${PASSWORD}`);
      await setup.user('root').addRole('root');
      const role = await setup.role('tributary-rw').create();
      await role.grant({ permission: 'Readwrite', range: Range.prefix(`/tributary/${cluster}/`) });
      await setup.user('tributary').create(PASSWORD);
      await setup.user('tributary').addRole('tributary-rw');
      await setup.auth.authEnable();
    } finally {
      setup.close();
    }
  });

  after(async () => {
    await Promise.all(backends.map((b) => b.stop().catch(() => {})));
    etcd?.kill('SIGKILL');
    ca.remove();
  });

  test('a cluster forms over TLS with a role limited to /tributary/<cluster>/, and fails over', async () => {
    const a = backend();
    const b = backend();
    await a.start();
    await b.start();
    const wa = { id: 'a', address: '127.0.0.1:1', capacity: 1, version: 'test' };
    const wb = { id: 'b', address: '127.0.0.1:2', capacity: 1, version: 'test' };
    await a.register(wa);
    await b.register(wb);
    assert.deepEqual((await a.members()).map((m) => m.id).sort(), ['a', 'b']);
    const stop = new AbortController();
    const first = await a.campaign(wa, stop.signal);
    assert.ok(first, 'a is elected');
    assert.equal((await b.leader())?.id, 'a');
    const second = b.campaign(wb, stop.signal);
    await a.stop(); // resigns and revokes its lease
    const elected = await second;
    assert.ok(elected, 'b is elected after a stops');
    assert.equal((await b.leader())?.id, 'b');
    stop.abort();
  });

  test('a client certificate of another CA is refused', async () => {
    const b = backend({ files: rogue });
    await assert.rejects(b.start(), (err: Error) => err instanceof UnavailableError && /unreachable/.test(err.message));
  });

  test('a wrong password is refused, naming the credentials', async () => {
    const b = backend({ password: 'not-the-password' });
    await assert.rejects(b.start(), (err: Error) => err instanceof FailedPreconditionError && /credentials/.test(err.message));
  });
});
