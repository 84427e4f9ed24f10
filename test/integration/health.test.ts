/**
 * Health means something: a worker pointed at an etcd that cannot be reached reports
 * NOT_SERVING (grpc.health.v1 and HTTP /health, naming the cause) while liveness stays up; once
 * etcd is reachable it joins and reports SERVING. (Fencing is covered in self-fencing.test.ts.)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health_pb.js';
import { createClient } from '../../src/grpc/index.js';
import { eventually } from '../support/eventually.js';
import { services } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { call, startRestWorker, type RestWorker } from '../support/rest-worker.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let w: RestWorker | undefined;
let proxy: TcpProxy | undefined;
after(async () => {
  await w?.stop();
  await proxy?.stop();
});

test('NOT_SERVING until etcd is reachable, then SERVING once joined; liveness throughout', async () => {
  const s = await services();
  const etcd = new URL(s.etcdEndpoints[0]!);
  const port = await freePort();
  // Nothing listens on `port` yet: etcd is unreachable.
  w = await startRestWorker({ etcdEndpoints: [`http://127.0.0.1:${port}`], kafkaBootstrap: s.kafkaBootstrap });
  const worker = w;

  const down = await eventually(async () => {
    const r = await call(worker.url, 'GET', '/health');
    return r.status === 503 && /etcd/.test((r.body as { message: string }).message) ? r : undefined;
  }, { timeoutMs: 10_000, message: '/health says the coordinator is unreachable' });
  assert.equal((down!.body as { status: string }).status, 'starting');
  assert.equal((await call(worker.url, 'GET', '/health/live')).status, 200);
  const address = await eventually(() => { try { return worker.node.self.address; } catch { return undefined; } });
  const health = createClient(Health, address!);
  try {
    assert.equal((await health.check({ service: '' }, { timeoutMs: 5_000 })).status, HealthCheckResponse_ServingStatus.NOT_SERVING);
    assert.equal(worker.health.status().conditions.coordinator.ok, false);

    // etcd becomes reachable on that port.
    proxy = new TcpProxy({ host: etcd.hostname, port: Number(etcd.port) });
    await proxy.start(port);
    await w.started;
    await eventually(async () => (await call(worker.url, 'GET', '/health')).status === 200, { timeoutMs: 30_000, message: '/health turns healthy once joined' });
    assert.deepEqual((await call(worker.url, 'GET', '/health')).body, { status: 'healthy', message: 'Worker has completed startup and is ready to handle requests.' });
    assert.equal((await health.check({ service: '' }, { timeoutMs: 5_000 })).status, HealthCheckResponse_ServingStatus.SERVING);
  } finally {
    health.close();
  }
});
