/**
 * Hostile Kafka Connect connectors through the bridge (bridges/kafka-connect/test-connectors):
 * a task whose start() never returns and one whose start() throws fail only their own stream
 * partition, with the Java stack trace in the status, while another partition of the same
 * bridge process keeps delivering; a task that leaks threads is reported, and once the process
 * holds more leaked threads than its bound it exits and the host starts a fresh one.
 *
 * Needs no Kafka or etcd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ReadRequestSchema, ReadResponse } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { PluginHost, type ConnectorPlugin } from '../../src/plugins/index.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { eventually } from '../support/eventually.js';
import { bridgePluginPath, HOSTILE_SOURCE, testConnectorsDir } from '../support/kafka-connect.js';

type ReadRequestInit = MessageInitShape<typeof ReadRequestSchema>;

function open(plugin: ConnectorPlugin, task: number, config: Record<string, string>) {
  const requests = new AsyncQueue<ReadRequestInit>();
  const iterator = plugin.read(requests)[Symbol.asyncIterator]();
  const partition = { id: `task-${task}`, attributes: { 'kafka.connect.task': String(task), 'kafka.connect.task.config.task.index': String(task) } };
  requests.push({ kind: { case: 'open', value: { connector: { name: 'hostile', config: { topic: 't', ...config } }, partition } } });
  return {
    requests,
    next: () => iterator.next() as Promise<IteratorResult<ReadResponse>>,
    credit: (records: number) => requests.push({ kind: { case: 'credit', value: { records } } }),
    /** Grants `n` credits and reads until `n` records arrived; returns their values. */
    async take(n: number): Promise<string[]> {
      requests.push({ kind: { case: 'credit', value: { records: n } } });
      const values: string[] = [];
      while (values.length < n) {
        const { value, done } = await iterator.next();
        assert.equal(done, false);
        if (value!.kind.case !== 'batch') assert.fail(`expected a batch, got ${value!.kind.case}`);
        for (const r of value!.kind.value.records) values.push(String(r.structuredValue?.kind.value));
      }
      return values;
    },
  };
}

describe('hostile connectors in the Kafka Connect bridge', { timeout: 600_000 }, () => {
  let pluginPath: string;
  const host = new PluginHost({ startTimeoutMs: 30_000, childProcess: { restartInitialMs: 100, restartMaxMs: 1_000 } });
  before(async () => {
    const dir = testConnectorsDir();
    pluginPath = bridgePluginPath([
      { connectorClass: HOSTILE_SOURCE, pluginDir: dir },
      { connectorClass: HOSTILE_SOURCE, pluginDir: dir, name: 'leaky', env: { TRIBUTARY_BRIDGE_MAX_LEAKED_THREADS: '6' } },
    ]);
    await host.loadDirectory(pluginPath);
  });
  after(async () => {
    await host.stop(5_000);
    if (pluginPath) rmSync(pluginPath, { recursive: true, force: true });
  });

  test('a start() that hangs and one that throws fail only their own partitions, with the Java stack trace', async () => {
    const instance = await host.start(HOSTILE_SOURCE);
    try {
      const pid = instance.pid;
      const healthy = open(instance.plugin, 0, {});
      assert.deepEqual(await healthy.take(100), Array.from({ length: 100 }, (_, i) => `t0-${i}`));

      const hanging = open(instance.plugin, 1, { 'hostile.mode': 'hang-start', 'hostile.tasks': '1', 'bridge.start.timeout.ms': '1500' });
      hanging.credit(10);
      const throwing = open(instance.plugin, 2, { 'hostile.mode': 'throw-start', 'hostile.tasks': '2' });
      throwing.credit(10);
      await assert.rejects(hanging.next(), (err: Error) => {
        assert.match(err.message, /SourceTask\.start\(\) of dev\.tributary\.bridge\.testing\.HostileSourceConnector for partition task-1 did not return within 1500 ms/);
        assert.match(err.message, /dev\.tributary\.bridge\.testing\.HostileSourceConnector\$HostileTask\.hangHere\(HostileSourceConnector\.java:\d+\)/);
        return true;
      });
      await assert.rejects(throwing.next(), (err: Error) => {
        assert.match(err.message, /java\.lang\.IllegalStateException: HostileTask 2 refuses to start/);
        assert.match(err.message, /dev\.tributary\.bridge\.testing\.HostileSourceConnector\$HostileTask\.start\(HostileSourceConnector\.java:\d+\)/);
        return true;
      });

      // The healthy partition of the same process goes on where it was.
      assert.deepEqual(await healthy.take(100), Array.from({ length: 100 }, (_, i) => `t0-${100 + i}`));
      assert.equal(instance.pid, pid, 'the bridge process was not restarted');
      healthy.requests.end();
      for (;;) if ((await healthy.next()).done) break;
    } finally {
      await instance.close();
    }
  });

  test('threads leaked by stopped tasks are reported; past the bound the process exits and the host starts a fresh one', async () => {
    const crashes: Error[] = [];
    const instance = await host.start('leaky', { onCrash: (err) => crashes.push(err) });
    try {
      const first = instance.pid!;
      const leak = { 'hostile.mode': 'leak-threads', 'hostile.tasks': '1', 'hostile.threads': '4' };
      // 4 leaked threads: within the bound of 6, the process stays.
      const a = open(instance.plugin, 1, leak);
      await a.take(10);
      a.requests.end();
      for (;;) if ((await a.next()).done) break;
      const b = open(instance.plugin, 0, {});
      await b.take(10);
      // 8 leaked threads: past the bound, the process exits and is restarted.
      const c = open(instance.plugin, 1, leak);
      await c.take(10);
      c.requests.end();
      for (;;) if ((await c.next()).done) break;
      await eventually(() => crashes.length >= 1, { timeoutMs: 30_000, message: 'the bridge did not exit after leaking past its bound' });
      assert.match(crashes[0]!.message, /exited with code 70/);
      assert.match(crashes[0]!.message, /threads leaked by stopped tasks/);
      await eventually(() => instance.pid !== undefined && instance.pid !== first, { timeoutMs: 30_000, message: 'no fresh bridge process' });
      const d = open(instance.plugin, 0, {});
      assert.equal((await d.take(10)).length, 10);
      d.requests.end();
    } finally {
      await instance.close();
    }
  });
});
