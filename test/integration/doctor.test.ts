/**
 * The operator commands of issue 22: `tributary doctor` against the real etcd, Kafka and a
 * running worker passes every check, and against addresses where nothing listens fails each
 * check saying why and what to fix (the plugin checks still run); `tributary describe plugin`
 * against the running worker prints the plugin's config keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { doctor, formatChecks } from '../../src/cli/operator-commands.js';
import { compileWorkerSettings } from '../../src/cli/worker-options.js';
import { quietLogger } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { services } from '../support/services.js';
import { startRestWorker } from '../support/rest-worker.js';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('doctor passes every check against reachable etcd, Kafka and a serving worker', { timeout: 120_000 }, async () => {
  const s = await services();
  const w = await startRestWorker({ etcdEndpoints: s.etcdEndpoints, kafkaBootstrap: s.kafkaBootstrap });
  try {
    await w.started;
    await eventually(() => w.health.status().serving, { timeoutMs: 20_000, message: 'the worker joined its cluster' });
    const settings = compileWorkerSettings({ etcd: s.etcdEndpoints.join(','), kafka: s.kafkaBootstrap, cluster: 'doctor' }, {});
    const checks = await doctor(settings, quietLogger, w.node.self.address);
    const failed = checks.filter((c) => !c.ok);
    assert.deepEqual(failed, [], formatChecks(checks));
    const what = checks.map((c) => c.what);
    assert.ok(what.includes('etcd') && what.includes('kafka') && what.includes(`worker ${w.node.self.address}`), what.join(', '));
    assert.ok(what.includes('plugin verifiable-source'), 'each built-in plugin answered Describe');
    assert.equal(checks.find((c) => c.what === `worker ${w.node.self.address}`)?.detail, 'SERVING');

    // `tributary describe plugin` against the same worker (asynchronously: it answers in this process).
    const cli = fileURLToPath(new URL('../../bin/tributary.js', import.meta.url));
    const run = (...args: string[]) => promisify(execFile)(process.execPath, [cli, ...args, '--server', w.node.self.address], { encoding: 'utf8', timeout: 60_000 });
    const table = (await run('describe', 'plugin', 'verifiable-source')).stdout;
    assert.match(table, /^plugin verifiable-source \S+ \(source\): /);
    assert.match(table, /^topic\s+\S+\s+yes\s/m, 'the required key topic is listed as required');
    const json = JSON.parse((await run('describe', 'plugin', 'verifiable-source', '--json')).stdout) as { name: string; configKeys: Array<{ name: string; required: boolean }> };
    assert.equal(json.name, 'verifiable-source');
    assert.equal(json.configKeys.find((k) => k.name === 'topic')?.required, true);
    const unknown = await run('describe', 'plugin', 'no-such-plugin').then(() => undefined, (err: { code?: number; stderr?: string }) => err);
    assert.ok(unknown && unknown.code !== 0, 'an unknown plugin fails');
    assert.match(unknown.stderr ?? '', /unknown plugin "no-such-plugin"; known plugins: .*verifiable-source/);
  } finally {
    await w.stop();
  }
});

test('doctor names each unreachable dependency and what to fix', { timeout: 120_000 }, async () => {
  const [etcdPort, kafkaPort, workerPort] = [await closedPort(), await closedPort(), await closedPort()];
  const settings = compileWorkerSettings({ etcd: `http://127.0.0.1:${etcdPort}`, kafka: `127.0.0.1:${kafkaPort}`, cluster: 'doctor' }, {});
  const checks = await doctor(settings, quietLogger, `127.0.0.1:${workerPort}`);
  const by = new Map(checks.map((c) => [c.what, c]));
  for (const what of ['etcd', 'kafka', `worker 127.0.0.1:${workerPort}`]) {
    const c = by.get(what);
    assert.equal(c?.ok, false, `${what}: ${formatChecks(checks)}`);
    assert.ok((c?.detail ?? '').length > 0, `${what} says why`);
  }
  assert.match(by.get('etcd')!.fix ?? '', new RegExp(`127\\.0\\.0\\.1:${etcdPort}`));
  assert.match(by.get('kafka')!.fix ?? '', new RegExp(`127\\.0\\.0\\.1:${kafkaPort}.*advertised\\.listeners`));
  assert.match(by.get(`worker 127.0.0.1:${workerPort}`)!.fix ?? '', /--server/);
  assert.equal(by.get('plugin verifiable-source')?.ok, true, 'plugins are checked whatever else failed');
  assert.match(formatChecks(checks), /etcd/);
});
