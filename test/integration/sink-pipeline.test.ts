import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually } from '../support/eventually.js';
import { kafkaClient, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { readVerifiableSinkFile } from '../../src/connectors/verifiable-sink/index.js';
import { TaskState } from '../../src/worker/index.js';

const PARTITIONS = 3;
const PER_PARTITION = 4_000;

async function produceSeqTopic(dp: DataPlane, topic: string): Promise<void> {
  await dp.worker.admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
  const producer = kafkaClient(dp.brokers).producer({ idempotent: true });
  await producer.connect();
  try {
    for (let p = 0; p < PARTITIONS; p++) {
      for (let start = 0; start < PER_PARTITION; start += 1_000) {
        const messages = Array.from({ length: 1_000 }, (_, i) => ({ partition: p, key: `p${p}`, value: JSON.stringify({ partition: `p${p}`, seq: start + i }) }));
        await producer.send({ topic, messages, acks: -1 });
      }
    }
  } finally {
    await producer.disconnect();
  }
}

/** Committed offsets of a group as a standard Kafka client (kafkajs admin) sees them. */
async function groupOffsets(dp: DataPlane, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafkaClient(dp.brokers).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(entry!.partitions.filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

describe('sink pipeline on the real broker', () => {
  let dp: DataPlane;
  before(async () => {
    dp = await startDataPlane();
  });
  after(async () => {
    await dp.close();
  });

  test('writes a topic to the sink, commits only what it acknowledged, and mirrors offsets to connect-<name>', async () => {
    const topic = uniqueName('sink-in');
    const name = uniqueName('vsink');
    const file = join(dp.dir, `${name}.jsonl`);
    await produceSeqTopic(dp, topic);
    const runtime = await runAllPartitions(dp, name, { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': file, 'flush.delay.ms': '20' });
    assert.equal(runtime.partitions().length, PARTITIONS, 'one stream partition per topic-partition');

    // While it runs, nothing is committed beyond what the sink marked durable.
    let checks = 0;
    await eventually(async () => {
      const committed = await dp.offsets.readAll(name);
      const { durable } = await readVerifiableSinkFile(file);
      for (const [id, c] of committed) {
        const partition = Number(id.slice(id.lastIndexOf('-') + 1));
        const maxDurable = Math.max(-1, ...durable.filter((d) => d.partition === partition).map((d) => d.durable));
        assert.ok(Number(Buffer.from(c.offset).toString()) <= maxDurable, `partition ${id}: committed ${Buffer.from(c.offset).toString()} beyond durable ${maxDurable}`);
      }
      checks++;
      return committed.size === PARTITIONS && [...committed.values()].every((c) => Buffer.from(c.offset).toString() === String(PER_PARTITION - 1));
    }, { timeoutMs: 60_000, intervalMs: 50, message: 'every partition committed its last offset' });
    assert.ok(checks > 1, 'the durable-before-commit check ran while records were flowing');

    const { records } = await readVerifiableSinkFile(file);
    for (let p = 0; p < PARTITIONS; p++) {
      const seqs = records.filter((r) => r.partition === p).map((r) => r.seq);
      assert.equal(new Set(seqs).size, PER_PARTITION, `partition ${p}: every record written`);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a! - b!), `partition ${p}: in order`);
    }
    await eventually(async () => {
      const offsets = await groupOffsets(dp, `connect-${name}`, topic);
      return offsets.size === PARTITIONS && [...offsets.values()].every((o) => o === PER_PARTITION);
    }, { timeoutMs: 15_000, message: `group connect-${name} shows the committed offsets to a standard client` });
    for (const s of runtime.statuses()) assert.equal(s.state, TaskState.RUNNING);
    await dp.worker.closeConnector(name);
  });

  test('a sink created over a group with committed offsets starts from them (moved over from Kafka Connect)', async () => {
    const topic = uniqueName('sink-moved');
    const name = uniqueName('moved');
    const file = join(dp.dir, `${name}.jsonl`);
    await produceSeqTopic(dp, topic);
    // What Kafka Connect would have left behind: committed offsets of connect-<name>.
    await dp.worker.groupOffsets.commit(`connect-${name}`, [
      { topic, partition: 0, offset: 1_000n },
      { topic, partition: 1, offset: 2_500n },
    ]);
    await runAllPartitions(dp, name, { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': file });
    await eventually(async () => {
      const committed = await dp.offsets.readAll(name);
      return committed.size === PARTITIONS && [...committed.values()].every((c) => Buffer.from(c.offset).toString() === String(PER_PARTITION - 1));
    }, { timeoutMs: 60_000, message: 'caught up' });
    const { records } = await readVerifiableSinkFile(file);
    const first = (p: number) => Math.min(...records.filter((r) => r.partition === p).map((r) => r.offset));
    assert.equal(first(0), 1_000, 'partition 0 resumed at the group offset');
    assert.equal(first(1), 2_500, 'partition 1 resumed at the group offset');
    assert.equal(first(2), 0, 'partition 2 had no group offset: earliest');
    await dp.worker.closeConnector(name);
  });

  test('pause stops fetching and resume continues from the same offsets, nothing lost or repeated', async () => {
    const topic = uniqueName('sink-pause');
    const name = uniqueName('paused');
    const file = join(dp.dir, `${name}.jsonl`);
    await dp.worker.admin.createTopics([{ name: topic, partitions: 1 }]);
    const runtime = await runAllPartitions(dp, name, { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': file });
    const producer = kafkaClient(dp.brokers).producer({ idempotent: true });
    await producer.connect();
    try {
      await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify({ partition: 'p0', seq: i }) })) });
      await eventually(async () => (await readVerifiableSinkFile(file)).records.length === 100);
      await runtime.pause();
      assert.ok(runtime.statuses().every((s) => s.state === TaskState.PAUSED));
      await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify({ partition: 'p0', seq: 100 + i }) })) });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await readVerifiableSinkFile(file)).records.length, 100, 'nothing is written while paused');
      await runtime.resume();
      await eventually(async () => (await readVerifiableSinkFile(file)).records.length === 200, { message: 'resumed' });
      const seqs = (await readVerifiableSinkFile(file)).records.map((r) => r.seq);
      assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => i));
    } finally {
      await producer.disconnect();
      await dp.worker.closeConnector(name);
    }
  });
});
