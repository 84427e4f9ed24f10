import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { countSeqs, quietLogger, readTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { TaskState } from '../../src/worker/index.js';
import { createProducer, type ProducerRecord } from '../../src/kafka/index.js';
import { withSend } from '../support/kafka.js';
import { PluginHost } from '../../src/plugins/index.js';

const PARTITIONS = 4;
const RECORDS = 50_000;

describe('source pipeline on the real broker', () => {
  let dp: DataPlane;
  before(async () => {
    dp = await startDataPlane();
  });
  after(async () => {
    await dp.close();
  });

  test(`${PARTITIONS} partitions × ${RECORDS} records land complete and in order; committed offsets are the last records`, async () => {
    const topic = uniqueName('src');
    const name = uniqueName('seq');
    const runtime = await runAllPartitions(dp, name, {
      'connector.class': 'verifiable-source',
      topic,
      partitions: String(PARTITIONS),
      'max.records': String(RECORDS),
      'topic.creation.default.partitions': '3',
    });
    await eventually(async () => {
      const offsets = await dp.offsets.readAll(name);
      return [...offsets.values()].filter((o) => Buffer.from(o.offset).toString() === String(RECORDS - 1)).length === PARTITIONS;
    }, { timeoutMs: 120_000, intervalMs: 200, message: 'every partition committed its last record' });

    const byKafkaPartition = await readTopic(dp.brokers, topic, PARTITIONS * RECORDS);
    const all = [...byKafkaPartition.values()].flat();
    assert.equal(all.length, PARTITIONS * RECORDS, 'exactly one copy of every record');
    const counts = countSeqs(all);
    assert.equal(counts.size, PARTITIONS);
    for (const [p, c] of counts) {
      assert.deepEqual(c.missing, [], `partition ${p}: no missing seq`);
      assert.equal(c.duplicates, 0, `partition ${p}: no duplicates`);
      assert.equal(c.max, RECORDS - 1);
    }
    // In order per stream partition: within each Kafka partition, each source's seqs only grow.
    for (const [kp, records] of byKafkaPartition) {
      const last = new Map<string, number>();
      for (const r of records) {
        const v = JSON.parse(r.value!.toString()) as { partition: string; seq: number };
        assert.ok((last.get(v.partition) ?? -1) < v.seq, `kafka partition ${kp}: ${v.partition} seq ${v.seq} after ${last.get(v.partition)}`);
        last.set(v.partition, v.seq);
      }
    }
    for (const status of runtime.statuses()) assert.equal(status.state, TaskState.RUNNING);
    await dp.worker.closeConnector(name);
    const reopened = await dp.offsets.readAll(name);
    for (const o of reopened.values()) assert.equal(Buffer.from(o.offset).toString(), String(RECORDS - 1), 'a clean stop keeps the last record committed');
  });

  // The memory bound must hold whichever client produces (kafka.producer.client).
  for (const producerClient of ['kafkajs', 'platformatic'] as const) {
    test(`a deliberately slow producer path keeps records in flight within the window and the worker pool (${producerClient})`, async () => {
      const window = 500;
      let maxInFlight = 0;
      let maxPoolInUse = 0;
      let sends = 0;
      const plugins = new PluginHost({ logger: quietLogger });
      let clientUsed: string | undefined;
      const slow = await startDataPlane({
        plugins,
        producerClient,
        maxInFlightRecords: 2_000,
        createProducer: (conn, options) => {
          clientUsed = options.client;
          const real = createProducer(conn, options);
          return withSend(real, async (records: ProducerRecord[], options) => {
            sends++;
            await new Promise((r) => setTimeout(r, 50));
            await real.send(records, options);
          });
        },
      });
      try {
        const topic = uniqueName('slow');
        const name = uniqueName('slow-seq');
        const runtime = await runAllPartitions(slow, name, {
          'connector.class': 'verifiable-source',
          topic,
          partitions: '8',
          'max.records': '3000',
          'max.inflight.records': String(window),
          'topic.creation.default.partitions': '2',
        });
        const sample = setInterval(() => {
          for (const s of runtime.statuses()) maxInFlight = Math.max(maxInFlight, s.inFlight);
          maxPoolInUse = Math.max(maxPoolInUse, slow.worker.credits.inUse);
        }, 5);
        try {
          await eventually(async () => [...(await slow.offsets.readAll(name)).values()].filter((o) => Buffer.from(o.offset).toString() === '2999').length === 8, {
            timeoutMs: 120_000,
            intervalMs: 100,
            message: 'all records committed through the slow producer',
          });
        } finally {
          clearInterval(sample);
        }
        assert.equal(clientUsed, producerClient, 'the worker produced with the client under test');
        assert.ok(sends > 10, `the producer path was exercised (${sends} sends)`);
        assert.ok(maxInFlight > 0, 'records were in flight');
        assert.ok(maxInFlight <= window, `in flight per partition ${maxInFlight} exceeded the window ${window}`);
        assert.ok(maxPoolInUse <= 2_000, `worker pool in use ${maxPoolInUse} exceeded its capacity`);
        assert.ok(maxPoolInUse > window, 'the pool bounded several partitions at once');
        console.log(`# slow producer (${producerClient}): max in flight per partition ${maxInFlight} (window ${window}), max worker credits in use ${maxPoolInUse} (pool 2000)`);
      } finally {
        await slow.close();
      }
    });
  }
});

describe('source pipeline through a child-process plugin', () => {
  let dp: DataPlane;
  const main = fileURLToPath(new URL('../../src/connectors/verifiable-source/main.ts', import.meta.url));
  before(async () => {
    const plugins = new PluginHost({ logger: quietLogger, childProcess: { restartInitialMs: 100, restartMaxMs: 1_000 } });
    plugins.register({ name: 'seq-child', source: { type: 'command', command: process.execPath, args: ['--import', 'tsx', main] } });
    dp = await startDataPlane({ plugins });
  });
  after(async () => {
    await dp.close();
  });

  test(`a killed child process: all ${PARTITIONS} partitions run again by themselves on the fresh process, nothing lost, none counted as failed`, async () => {
    const topic = uniqueName('child');
    const name = uniqueName('child-seq');
    const runtime = await runAllPartitions(dp, name, {
      'connector.class': 'seq-child',
      topic,
      partitions: String(PARTITIONS),
      'records.per.second': '2000',
      'topic.creation.default.partitions': '2',
      // Not one automatic restart allowed: a partition hit only by the shared process dying must
      // not count as failed, so they come back anyway.
      'task.restart.max.attempts': '0',
    });
    const committed = async () => new Map([...(await dp.offsets.readAll(name))].map(([p, o]) => [p, Number(Buffer.from(o.offset).toString())]));
    await eventually(async () => [...(await committed()).values()].filter((o) => o > 1_000).length === PARTITIONS, {
      timeoutMs: 60_000,
      message: `all ${PARTITIONS} partitions moving through the child process`,
    });
    const instance = runtime.plugin as { pid?: number };
    const pid = instance.pid;
    assert.ok(pid, 'the plugin runs as a child process');
    const states = new Map<string, TaskState[]>();
    for (const id of runtime.partitions()) {
      states.set(id, []);
      runtime.task(id)!.onStateChange((s) => states.get(id)!.push(s));
    }
    process.kill(pid, 'SIGKILL');
    await eventually(() => [...states.values()].every((seen) => seen.includes(TaskState.STARTING)), { timeoutMs: 30_000, message: 'every partition saw its plugin stream die' });
    const committedAtCrash = await committed();
    await eventually(() => instance.pid !== undefined && instance.pid !== pid, { timeoutMs: 30_000, message: 'the host started a fresh plugin process' });
    await eventually(async () => {
      const now = await committed();
      return runtime.statuses().every((s) => s.state === TaskState.RUNNING) && [...now].every(([p, o]) => o > committedAtCrash.get(p)! + 1_000);
    }, { timeoutMs: 60_000, message: `all ${PARTITIONS} partitions RUNNING and committing again without an operator` });
    for (const s of runtime.statuses()) {
      assert.equal(s.restartAttempts, 0, `${s.partition}: the process dying is not the partition's own failure`);
      assert.ok(!states.get(s.partition)!.includes(TaskState.FAILED), `${s.partition} never showed FAILED`);
    }
    await dp.worker.closeConnector(name);

    const final = await committed();
    const expected = [...final.values()].reduce((n, max) => n + max + 1, 0);
    const counts = countSeqs([...(await readTopic(dp.brokers, topic, expected)).values()].flat());
    assert.equal(counts.size, PARTITIONS);
    for (const [p, c] of counts) {
      assert.deepEqual(c.missing.filter((s) => s <= final.get(p)!), [], `partition ${p}: nothing lost across the crash`);
      // At-least-once: a crash may repeat only what came after the offset committed at the crash.
      assert.ok(c.repeated.every((s) => s > committedAtCrash.get(p)!), `partition ${p}: duplicates only above the committed offset`);
    }
  });
});
