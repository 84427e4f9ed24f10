/**
 * One record Kafka rejects (over the topic's max.message.bytes) fails only its own stream
 * partition: the sibling partitions share the connector's producer, so their sends are coalesced
 * into the same produce requests, yet they keep committing to the end with nothing missing. So
 * does another connector on the same worker: at-least-once sources share the worker's producer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { eventually } from '../support/eventually.js';
import { countSeqs, kafkaClient, quietLogger, readTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { TaskState } from '../../src/worker/index.js';
import { PluginHost, sourcePlugin, type SourceReader } from '../../src/plugins/index.js';
import { verifiableSourceDefinition } from '../../src/connectors/verifiable-source/index.js';

const PARTITIONS = 4;
const RECORDS = 3_000;
const POISON_PARTITION = 'p1';
const POISON_SEQ = 1_000;
const MAX_MESSAGE_BYTES = 64 * 1024;

/** The verifiable source, except that p1's record POISON_SEQ is far over the topic's limit. */
const poisonSource = sourcePlugin({
  ...verifiableSourceDefinition,
  name: 'poison-source',
  async open(connector, partition, offset, signal) {
    const reader: SourceReader = await verifiableSourceDefinition.open(connector, partition, offset, signal);
    return {
      async poll(max, pollSignal) {
        const records = await reader.poll(max, pollSignal);
        if (partition.id !== POISON_PARTITION) return records;
        return records.map((r) =>
          // Random bytes: no codec could shrink it under the limit.
          r.offset !== undefined && Buffer.from(r.offset).toString() === String(POISON_SEQ) ? { ...r, value: randomBytes(4 * MAX_MESSAGE_BYTES) } : r,
        );
      },
    };
  },
});

// The fault isolation is in the shared send queue; both producer clients must keep it.
for (const producerClient of ['platformatic', 'kafkajs'] as const) {
  describe(`a poison record on the real broker (${producerClient})`, () => {
    let dp: DataPlane;
    before(async () => {
      const plugins = new PluginHost({ logger: quietLogger });
      plugins.register({ name: 'poison-source', source: { type: 'in-process', create: () => poisonSource } });
      dp = await startDataPlane({ plugins, producerClient });
    });
    after(async () => {
      await dp.close();
    });

    test(`a record over max.message.bytes FAILS only its partition; the ${PARTITIONS - 1} siblings commit every record`, { timeout: 120_000 }, async () => {
      const topic = uniqueName('poison');
      const admin = kafkaClient(dp.brokers).admin();
      await admin.connect();
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) }] }],
        });
      } finally {
        await admin.disconnect();
      }
      const name = uniqueName('poison');
      // A small window per partition keeps every healthy batch far under the topic's limit.
      const runtime = await runAllPartitions(dp, name, {
        'connector.class': 'poison-source',
        topic,
        partitions: String(PARTITIONS),
        'max.records': String(RECORDS),
        'max.inflight.records': '200',
        // Kept FAILED for the check below (automatic restarts are tested in partition-restart).
        'task.restart.max.attempts': '0',
      });
      const siblings = Array.from({ length: PARTITIONS }, (_, i) => `p${i}`).filter((p) => p !== POISON_PARTITION);
      // A neighbour connector on the same worker, through the same shared producer.
      const neighbour = uniqueName('neighbour');
      const neighbourRuntime = await runAllPartitions(dp, neighbour, { 'connector.class': 'verifiable-source', topic: `${topic}-n`, partitions: '2', 'max.records': String(RECORDS), 'topic.creation.default.partitions': '1' });
      assert.equal(dp.worker.sharedProducer.open, 1, 'both connectors produce through the worker’s one shared producer');

      await eventually(() => runtime.statuses().find((s) => s.partition === POISON_PARTITION)?.state === TaskState.FAILED, {
        timeoutMs: 60_000,
        intervalMs: 100,
        message: `${POISON_PARTITION} is FAILED`,
      });
      await eventually(async () => {
        const offsets = await dp.offsets.readAll(name);
        return siblings.every((p) => offsets.get(p) !== undefined && Buffer.from(offsets.get(p)!.offset).toString() === String(RECORDS - 1));
      }, { timeoutMs: 90_000, intervalMs: 200, message: 'every sibling partition committed its last record' });
      await eventually(async () => {
        const offsets = await dp.offsets.readAll(neighbour);
        return ['p0', 'p1'].every((p) => offsets.get(p) !== undefined && Buffer.from(offsets.get(p)!.offset).toString() === String(RECORDS - 1));
      }, { timeoutMs: 90_000, intervalMs: 200, message: 'the neighbour connector committed its last record' });
      assert.ok(neighbourRuntime.statuses().every((s) => s.state === TaskState.RUNNING), 'the neighbour connector keeps running');

      const statuses = new Map(runtime.statuses().map((s) => [s.partition, s]));
      const poisoned = statuses.get(POISON_PARTITION)!;
      assert.equal(poisoned.state, TaskState.FAILED);
      assert.match(poisoned.error?.message ?? '', new RegExp(`partition "${POISON_PARTITION}"`));
      assert.match(poisoned.error?.message ?? '', new RegExp(`source offset "${POISON_SEQ}"`), 'the error names the poison record');
      assert.match(poisoned.error?.message ?? '', /max\.message\.bytes/);
      for (const p of siblings) assert.equal(statuses.get(p)?.state, TaskState.RUNNING, `${p} keeps running`);

      const offsets = await dp.offsets.readAll(name);
      const poisonCommitted = offsets.get(POISON_PARTITION) === undefined ? -1 : Number(Buffer.from(offsets.get(POISON_PARTITION)!.offset).toString());
      assert.ok(poisonCommitted < POISON_SEQ, `${POISON_PARTITION} committed ${poisonCommitted}, before the poison record`);

      const byKafkaPartition = await readTopic(dp.brokers, topic, siblings.length * RECORDS);
      const counts = countSeqs([...byKafkaPartition.values()].flat());
      for (const p of siblings) {
        const c = counts.get(p);
        assert.ok(c, `${p} produced records`);
        assert.deepEqual(c.missing, [], `${p}: no missing seq`);
        assert.equal(c.max, RECORDS - 1, `${p}: every record up to the last`);
      }
      const poison = counts.get(POISON_PARTITION);
      assert.ok((poison?.max ?? -1) < POISON_SEQ, `${POISON_PARTITION}: nothing at or after the poison record reached Kafka`);
      assert.deepEqual(poison?.missing ?? [], [], `${POISON_PARTITION}: no gap before the poison record`);
      assert.ok((poison?.max ?? -1) >= poisonCommitted, `${POISON_PARTITION}: everything committed is in Kafka`);
      await dp.worker.closeConnector(name);
      await dp.worker.closeConnector(neighbour);
    });
  });
}
