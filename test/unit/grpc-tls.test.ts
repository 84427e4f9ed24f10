/**
 * gRPC TLS (src/grpc/tls.ts) on loopback with openssl-made certificates: mutual TLS, a client
 * of another CA seen as unverified, certificate files reloaded on change for the next
 * connection, and a bad change ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health_pb.js';
import { TlsFiles, addService, bindServer, createClient, defaultServerOptions, peerIdentity, type CallContext } from '../../src/grpc/index.js';
import { InvalidArgumentError, UnavailableError } from '../../src/errors.js';
import { TestCa } from '../support/certs.js';
import { eventually } from '../support/eventually.js';

interface Served {
  port: number;
  seen: Array<string | undefined>;
  close(): void;
}

async function serve(files: TlsFiles): Promise<Served> {
  const server = new grpc.Server(defaultServerOptions);
  const seen: Array<string | undefined> = [];
  addService(server, Health, {
    async check(_req: unknown, context: CallContext) {
      seen.push(context.peerCertificate?.serialNumber);
      return { status: HealthCheckResponse_ServingStatus.SERVING };
    },
    async *watch() {},
  } as never);
  const port = await bindServer(server, '127.0.0.1:0', files.serverCredentials('requested'));
  return { port, seen, close: () => server.forceShutdown() };
}

/** The serial number of the certificate a fresh TLS connection to `port` is shown. */
function serverSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: [readFileSync(ca)], ALPNProtocols: ['h2'], servername: 'localhost' }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

function serialOf(path: string): string {
  return new X509Certificate(readFileSync(path)).serialNumber;
}

test('mutual TLS: the server sees a verified client certificate, and none for a client of another CA', async () => {
  const ca = TestCa.create('ca');
  const other = TestCa.create('other');
  try {
    const server = ca.issue('server');
    const good = ca.issue('good', 'worker-good', ['URI:spiffe://tributary/worker-good']);
    const bad = other.issue('bad');
    const files = new TlsFiles({ certFile: server.cert, keyFile: server.key, caFile: ca.cert });
    const s = await serve(files);
    try {
      const goodFiles = new TlsFiles({ certFile: good.cert, keyFile: good.key, caFile: ca.cert });
      const client = createClient(Health, `127.0.0.1:${s.port}`, { credentials: goodFiles.channelCredentials() });
      await client.check({}, { timeoutMs: 5_000 });
      client.close();
      assert.deepEqual(s.seen, [serialOf(good.cert)]);

      // The other CA's client trusts the server but is not trusted back: no verified identity.
      const badFiles = new TlsFiles({ certFile: bad.cert, keyFile: bad.key, caFile: ca.cert });
      const intruder = createClient(Health, `127.0.0.1:${s.port}`, { credentials: badFiles.channelCredentials() });
      await intruder.check({}, { timeoutMs: 5_000 });
      intruder.close();
      assert.deepEqual(s.seen, [serialOf(good.cert), undefined]);

      // A plaintext client cannot talk to a TLS port at all.
      const plain = createClient(Health, `127.0.0.1:${s.port}`);
      await assert.rejects(plain.check({}, { timeoutMs: 2_000 }), (err: Error) => err instanceof UnavailableError || /DEADLINE|UNAVAILABLE/.test(err.message));
      plain.close();
    } finally {
      s.close();
    }
  } finally {
    ca.remove();
    other.remove();
  }
});

test('a rotated certificate file is used by the next connection, on both sides, without a restart', async () => {
  const ca = TestCa.create('ca');
  try {
    const server = ca.issue('server');
    const client = ca.issue('client');
    const serverFiles = new TlsFiles({ certFile: server.cert, keyFile: server.key, caFile: ca.cert });
    const clientFiles = new TlsFiles({ certFile: client.cert, keyFile: client.key, caFile: ca.cert });
    const s = await serve(serverFiles);
    try {
      const before = serialOf(server.cert);
      assert.equal(await serverSerial(s.port, ca.cert), before);
      ca.issue('server');
      const after = serialOf(server.cert);
      assert.notEqual(after, before);
      assert.equal(serverFiles.poll(), true, 'the change is taken');
      await eventually(async () => (await serverSerial(s.port, ca.cert)) === after, { timeoutMs: 5_000, message: 'new server certificate served' });

      const c1 = createClient(Health, `127.0.0.1:${s.port}`, { credentials: clientFiles.channelCredentials() });
      await c1.check({}, { timeoutMs: 5_000 });
      c1.close();
      const firstClient = serialOf(client.cert);
      ca.issue('client');
      assert.equal(clientFiles.poll(), true);
      const c2 = createClient(Health, `127.0.0.1:${s.port}`, { credentials: clientFiles.channelCredentials() });
      await c2.check({}, { timeoutMs: 5_000 });
      c2.close();
      assert.deepEqual(s.seen, [firstClient, serialOf(client.cert)]);
    } finally {
      s.close();
    }
  } finally {
    ca.remove();
  }
});

test('a half-written or mismatched change is ignored: the last good certificate stays in use', async () => {
  const ca = TestCa.create('ca');
  try {
    const server = ca.issue('server');
    const other = ca.issue('other');
    const files = new TlsFiles({ certFile: server.cert, keyFile: server.key, caFile: ca.cert });
    const s = await serve(files);
    try {
      const serial = serialOf(server.cert);
      writeFileSync(server.cert, '-----BEGIN CERTIFICATE-----\nMIIB');
      assert.equal(files.poll(), false);
      copyFileSync(other.cert, server.cert); // a valid certificate whose key is not server.key
      assert.equal(files.poll(), false);
      assert.equal(files.reloads, 0);
      assert.equal(await serverSerial(s.port, ca.cert), serial);
    } finally {
      s.close();
    }
  } finally {
    ca.remove();
  }
});

test('unusable TLS files at start are one InvalidArgumentError naming the setting', () => {
  const ca = TestCa.create('ca');
  try {
    const a = ca.issue('a');
    const b = ca.issue('b');
    const problemKey = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof InvalidArgumentError);
        return err.problems.map((p) => p.key);
      }
      assert.fail('no error');
    };
    assert.deepEqual(problemKey(() => new TlsFiles({ certFile: `${a.cert}.missing`, keyFile: a.key, caFile: ca.cert })), ['grpc.tls.cert.file']);
    assert.deepEqual(problemKey(() => new TlsFiles({ certFile: a.cert, keyFile: b.key, caFile: ca.cert })), ['grpc.tls.key.file']);
    assert.deepEqual(problemKey(() => new TlsFiles({ certFile: a.cert, keyFile: a.key, caFile: a.key })), ['grpc.tls.ca.file']);
  } finally {
    ca.remove();
  }
});

test('peerIdentity reads the common name and subject alternative names', () => {
  const id = peerIdentity({ subject: { CN: 'worker-1' }, subjectaltname: 'DNS:localhost, IP Address:127.0.0.1, URI:spiffe://t/w1' } as never);
  assert.deepEqual(id, { commonName: 'worker-1', subjectAltNames: ['DNS:localhost', 'IP Address:127.0.0.1', 'URI:spiffe://t/w1'] });
  assert.equal(peerIdentity(undefined), undefined);
});

test('worker settings: grpc.tls.* files go together, and a lone TLS option is an error naming its key', async () => {
  const { compileWorkerSettings } = await import('../../src/cli/worker-options.js');
  const keysOf = (env: Record<string, string>) => {
    try {
      compileWorkerSettings({ kafka: '127.0.0.1:9092' }, env);
    } catch (err) {
      assert.ok(err instanceof InvalidArgumentError);
      return err.problems.map((p) => p.key).sort();
    }
    return [];
  };
  assert.deepEqual(keysOf({ TRIBUTARY_GRPC_TLS_CERT_FILE: '/c.pem' }), ['grpc.tls.ca.file', 'grpc.tls.key.file']);
  assert.deepEqual(keysOf({ TRIBUTARY_GRPC_TLS_CLIENT_AUTH: 'required' }), ['grpc.tls.client.auth']);
  assert.deepEqual(keysOf({ TRIBUTARY_GRPC_TLS_CERT_FILE: '/c', TRIBUTARY_GRPC_TLS_KEY_FILE: '/k', TRIBUTARY_GRPC_TLS_CA_FILE: '/ca', TRIBUTARY_GRPC_TLS_CLIENT_AUTH: 'maybe' }), ['grpc.tls.client.auth']);
  const ok = compileWorkerSettings({ kafka: '127.0.0.1:9092' }, { TRIBUTARY_GRPC_TLS_CERT_FILE: '/c', TRIBUTARY_GRPC_TLS_KEY_FILE: '/k', TRIBUTARY_GRPC_TLS_CA_FILE: '/ca' });
  assert.deepEqual(ok.grpcTls, { certFile: '/c', keyFile: '/k', caFile: '/ca', clientAuth: 'required', reloadIntervalMs: 5_000 });
  assert.equal(compileWorkerSettings({ kafka: '127.0.0.1:9092' }, {}).grpcTls, undefined);
});
