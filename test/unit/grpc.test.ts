import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { addService, bindServer, createClient, fromServiceError, shutdownServer, toServiceError, type Client } from '../../src/grpc/index.js';
import { ConnectorPluginService, ConnectorKind, type ReadRequest, type ReadResponse } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { InvalidArgumentError, NotDeliveredError, NotFoundError, UnavailableError } from '../../src/errors.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { eventually } from '../support/eventually.js';

let server: grpc.Server;
let client: Client<(typeof ConnectorPluginService)['method']>;
let unixClient: Client<(typeof ConnectorPluginService)['method']>;
const socketDir = mkdtempSync(join(tmpdir(), 'tributary-grpc-'));
let readCancelled = false;

before(async () => {
  server = new grpc.Server();
  addService(server, ConnectorPluginService, {
    async describe() {
      return { name: 'echo', version: '1.2.3', kind: ConnectorKind.SOURCE, configKeys: [{ name: 'topic', required: true }] };
    },
    async validate(request) {
      if (!request.connector?.config['topic']) throw new InvalidArgumentError('invalid config', [{ key: 'topic', message: 'is required' }]);
      return { errors: [] };
    },
    async *watchPartitions(request) {
      const count = Number(request.connector?.config['partitions'] ?? '0');
      if (count === 0) throw new NotFoundError('no partitions configured');
      yield { snapshot: true, added: Array.from({ length: count }, (_, i) => ({ id: `p${i}` })) };
    },
    async *read(requests: AsyncIterable<ReadRequest>, context): AsyncIterable<ReadResponse | object> {
      let next = 0;
      context.signal.addEventListener('abort', () => (readCancelled = true));
      for await (const request of requests) {
        if (request.kind.case === 'credit') {
          const records = Array.from({ length: request.kind.value.records }, () => {
            const seq = next++;
            return { value: Buffer.from(`r${seq}`), offset: Buffer.from(String(seq)) };
          });
          yield { kind: { case: 'batch', value: { records } } };
        } else if (request.kind.case === 'drain') {
          yield { kind: { case: 'drained', value: { lastOffset: Buffer.from(String(next - 1)), records: BigInt(next) } } };
          return;
        }
      }
    },
    async *write(requests) {
      let n = 0;
      for await (const _ of requests) n++;
      // Answers only after the client ended its side.
      yield { kind: { case: 'durable', value: { throughOffset: BigInt(n) } } };
    },
    async connectorCreated() { return {}; },
    async connectorUpdated() { return {}; },
    async connectorDeleted() { return {}; },
  });
  const port = await bindServer(server, '127.0.0.1:0');
  await bindServer(server, `unix://${join(socketDir, 'plugin.sock')}`);
  client = createClient(ConnectorPluginService, `127.0.0.1:${port}`);
  unixClient = createClient(ConnectorPluginService, `unix://${join(socketDir, 'plugin.sock')}`);
});

after(async () => {
  client.close();
  unixClient.close();
  await shutdownServer(server, 1000);
  rmSync(socketDir, { recursive: true, force: true });
});

test('unary call returns the decoded response over TCP and a unix socket', async () => {
  for (const c of [client, unixClient]) {
    const res = await c.describe({});
    assert.equal(res.name, 'echo');
    assert.equal(res.kind, ConnectorKind.SOURCE);
    assert.equal(res.configKeys[0]?.name, 'topic');
    assert.equal(res.configKeys[0]?.required, true);
  }
});

test('a handler error arrives as the same Tributary error, offending keys included', async () => {
  await assert.rejects(client.validate({ connector: { name: 'c', config: {} } }), (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
    assert.deepEqual(err.problems, [{ key: 'topic', message: 'is required' }]);
    assert.match(err.message, /topic: is required/);
    return true;
  });
  const ok = await client.validate({ connector: { name: 'c', config: { topic: 't' } } });
  assert.deepEqual(ok.errors, []);
});

test('server streaming yields every message, and errors map to their class', async () => {
  const got: string[] = [];
  for await (const msg of client.watchPartitions({ connector: { name: 'c', config: { partitions: '3' } } })) {
    assert.equal(msg.snapshot, true);
    got.push(...msg.added.map((p) => p.id));
  }
  assert.deepEqual(got, ['p0', 'p1', 'p2']);
  await assert.rejects(async () => {
    for await (const _ of client.watchPartitions({ connector: { name: 'c', config: {} } })) { /* drain */ }
  }, NotFoundError);
});

test('bidi streaming carries credits up and batches down, then drains', async () => {
  const requests = new AsyncQueue<object>();
  const stream = client.read(requests as AsyncIterable<never>);
  requests.push({ kind: { case: 'open', value: { partition: { id: 'p0' } } } });
  requests.push({ kind: { case: 'credit', value: { records: 3 } } });
  requests.push({ kind: { case: 'credit', value: { records: 2 } } });
  const values: string[] = [];
  for await (const res of stream) {
    if (res.kind.case === 'batch') {
      values.push(...res.kind.value.records.map((r) => Buffer.from(r.value!).toString()));
      if (values.length === 5) requests.push({ kind: { case: 'drain', value: {} } });
    } else if (res.kind.case === 'drained') {
      assert.equal(Buffer.from(res.kind.value.lastOffset!).toString(), '4');
      assert.equal(res.kind.value.records, 5n);
      requests.end();
    }
  }
  assert.deepEqual(values, ['r0', 'r1', 'r2', 'r3', 'r4']);
});

test('cancelling a bidi call from the client aborts the server handler', async () => {
  readCancelled = false;
  const controller = new AbortController();
  const requests = new AsyncQueue<object>();
  const stream = client.read(requests as AsyncIterable<never>, { signal: controller.signal });
  requests.push({ kind: { case: 'credit', value: { records: 1 } } });
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.equal(first.done, false);
  controller.abort();
  await assert.rejects(iterator.next(), /Cancelled|CANCELLED|cancel/i);
  await eventually(() => readCancelled, { message: 'server handler was not aborted' });
});

test('a bidi handler can still answer after the client half-closed its side', async () => {
  const requests = new AsyncQueue<object>();
  for (let i = 0; i < 3; i++) requests.push({ kind: { case: 'flush', value: {} } });
  requests.end();
  const answers = [];
  for await (const res of client.write(requests as AsyncIterable<never>, { timeoutMs: 5_000 })) answers.push(res);
  assert.equal(answers.length, 1);
  assert.equal(answers[0]!.kind.case, 'durable');
  assert.equal((answers[0]!.kind.value as { throughOffset: bigint }).throughOffset, 3n);
});

test('a call that never reached a server is NotDeliveredError; one that did keeps its class, across the wire too', async () => {
  // Nothing listens on a port we just freed: grpc-js fails the connection itself.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const nowhere = createClient(ConnectorPluginService, `127.0.0.1:${port}`);
  try {
    await assert.rejects(nowhere.describe({}, { timeoutMs: 5_000 }), (err: unknown) => err instanceof NotDeliveredError);
  } finally {
    nowhere.close();
  }
  // Thrown by a handler, it crosses gRPC as UNAVAILABLE and comes back as itself …
  const back = fromServiceError({ ...toServiceError(new NotDeliveredError('no leader is reachable')), message: '' }, 'Admin.Call');
  assert.ok(back instanceof NotDeliveredError, `got ${String(back)}`);
  // … while a plain UNAVAILABLE (the call may have been applied) does not become one.
  const plain = fromServiceError({ ...toServiceError(new UnavailableError('etcd is unreachable')), message: '' }, 'Admin.Call');
  assert.ok(plain instanceof UnavailableError && !(plain instanceof NotDeliveredError), `got ${String(plain)}`);
});
