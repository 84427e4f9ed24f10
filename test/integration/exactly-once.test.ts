/**
 * Exactly-once sources on the real broker (docs/exactly-once.md), counted by sequence number
 * with a read_committed reader:
 * - every record once, and the partition's offset in the compacted offsets topic;
 * - a second owner's initTransactions fences the first: the first's next commit fails with the
 *   typed ProducerFencedError and nothing of its open transaction becomes visible (both clients);
 * - a second worker taking a running partition over (the cut-off-worker case without the
 *   coordinator): the first is fenced, the second resumes from the offsets topic, nothing is
 *   duplicated or lost;
 * - a broker restart in the middle of open transactions: nothing duplicated, nothing lost, the
 *   partitions resume by themselves.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countSeqs, quietLogger, readCommittedTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { brokerRestartSkipReason, restartBroker } from '../support/kafka.js';
import { createPartitionReader, createProducer, createTopicAdmin, ProducerFencedError, type PartitionReader, type TopicAdmin } from '../../src/kafka/index.js';
import { OffsetsTopic, PartitionTransactions, transactionalIdFor } from '../../src/worker/exactly-once/index.js';
import { TaskState } from '../../src/worker/index.js';

const restartSkip = await brokerRestartSkipReason();

const seqValue = (partition: string, seq: number): Buffer => Buffer.from(JSON.stringify({ partition, seq }));

async function committedOffsets(dp: DataPlane, name: string): Promise<Map<string, number>> {
  const all = await dp.offsets.readAll(name);
  return new Map([...all].map(([p, o]) => [p, Number(Buffer.from(o.offset).toString())]));
}

describe('exactly-once sources on the real broker', () => {
  let dp: DataPlane;
  let admin: TopicAdmin;
  let committedReader: PartitionReader;

  before(async () => {
    dp = await startDataPlane();
    const conn = { brokers: dp.brokers, clientId: 'eos-test', requestTimeoutMs: 15_000 };
    admin = createTopicAdmin(conn);
    committedReader = createPartitionReader(conn, { isolationLevel: 'read_committed', maxWaitMs: 200 });
    await Promise.all([admin.start(), committedReader.start()]);
  });
  after(async () => {
    await Promise.allSettled([admin.stop(), committedReader.stop()]);
    await dp.close();
  });

  test('every record exactly once under read_committed; the offsets topic holds each partition’s committed offset', { timeout: 120_000 }, async () => {
    const topic = uniqueName('eos');
    const name = uniqueName('eos-src');
    const offsetsTopic = uniqueName('eos-offsets');
    const RECORDS = 3_000;
    await runAllPartitions(dp, name, {
      'connector.class': 'verifiable-source',
      topic,
      partitions: '2',
      'max.records': String(RECORDS),
      'delivery.guarantee': 'exactly-once',
      'offsets.storage.topic': offsetsTopic,
      'topic.creation.default.partitions': '2',
    });
    await eventually(async () => [...(await committedOffsets(dp, name)).values()].filter((o) => o === RECORDS - 1).length === 2, { timeoutMs: 90_000, message: 'both partitions committed their last record' });
    await dp.worker.closeConnector(name);
    const counts = countSeqs(await readCommittedTopic(dp.brokers, topic));
    assert.equal(counts.size, 2);
    for (const [p, c] of counts) {
      assert.deepEqual(c.missing, [], `${p}: nothing missing`);
      assert.equal(c.duplicates, 0, `${p}: no duplicates`);
      assert.equal(c.max, RECORDS - 1);
    }
    const offsets = new OffsetsTopic({ topic: offsetsTopic, admin, reader: committedReader });
    await offsets.ensure();
    for (const p of ['p0', 'p1']) {
      const stored = await offsets.read(name, p, AbortSignal.timeout(30_000));
      assert.equal(Buffer.from(stored!.offset).toString(), String(RECORDS - 1), `${p}: the offsets topic has the last record's offset`);
      assert.equal(stored!.epoch, 1n, `${p}: stamped with the assignment's epoch`);
    }
  });

  for (const client of ['platformatic', 'kafkajs'] as const) {
    test(`a second owner's initTransactions fences the first: its commit fails with ProducerFencedError and nothing of it is visible (${client})`, { timeout: 120_000 }, async () => {
      const topic = uniqueName('eos-fence');
      await admin.createTopics([{ name: topic, partitions: 1 }]);
      const offsetsTopic = new OffsetsTopic({ topic: uniqueName('eos-fence-offsets'), admin, reader: committedReader, partitions: 3 });
      await offsetsTopic.ensure();
      const connector = uniqueName('fence');
      const transactionalId = transactionalIdFor('test', connector, 'p0');
      const owner = (epoch: bigint) =>
        new PartitionTransactions({
          connector,
          partition: 'p0',
          epoch,
          transactionalId,
          producer: createProducer({ brokers: dp.brokers, clientId: `eos-${client}`, requestTimeoutMs: 15_000 }, { client, transactionalId }),
          offsetsTopic,
          logger: quietLogger,
        });
      const records = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ topic, key: null, value: seqValue('p0', from + i) }));
      const first = owner(1n);
      const second = owner(2n);
      try {
        assert.equal((await first.open(undefined, AbortSignal.timeout(30_000))).origin, 'none');
        await first.begin();
        await first.send(records(0, 10));
        await first.commit(Buffer.from('9'));
        // The zombie's open transaction: acknowledged by Kafka, never committed.
        await first.begin();
        await first.send(records(10, 20));

        const resumed = await second.open({ offset: Buffer.from('3'), epoch: 1n }, AbortSignal.timeout(30_000));
        assert.equal(resumed.origin, 'offsets-topic', 'the offsets topic (epoch 1) wins over the coordinator at the same epoch');
        assert.equal(Buffer.from(resumed.offset!).toString(), '9', 'the new owner resumes after the last committed transaction');

        await assert.rejects(first.commit(Buffer.from('19')), (err) => err instanceof ProducerFencedError);
        assert.ok(first.fenced);
        await assert.rejects(first.begin(), (err) => err instanceof ProducerFencedError, 'a fenced owner stays fenced');

        await second.begin();
        await second.send(records(10, 25));
        await second.commit(Buffer.from('24'));
      } finally {
        await Promise.allSettled([first.close(), second.close()]);
      }
      const counts = countSeqs(await readCommittedTopic(dp.brokers, topic)).get('p0')!;
      assert.deepEqual(counts.missing, []);
      assert.equal(counts.duplicates, 0, "nothing of the fenced owner's open transaction is visible");
      assert.equal(counts.max, 24);
      const stored = await offsetsTopic.read(connector, 'p0', AbortSignal.timeout(30_000));
      assert.equal(Buffer.from(stored!.offset).toString(), '24');
      assert.equal(stored!.epoch, 2n);
    });
  }

  test('a second worker taking a running partition over fences the first and resumes from the offsets topic: no duplicate, no gap', { timeout: 120_000 }, async () => {
    const topic = uniqueName('eos-takeover');
    const name = uniqueName('eos-takeover');
    const config = {
      'connector.class': 'verifiable-source',
      topic,
      partitions: '1',
      'records.per.second': '400',
      'delivery.guarantee': 'exactly-once',
      'topic.creation.default.partitions': '1',
    };
    const zombie = await runAllPartitions(dp, name, config);
    await eventually(async () => ((await committedOffsets(dp, name)).get('p0') ?? -1) >= 200, { timeoutMs: 30_000, message: 'the first owner committed records' });
    // A second worker with nothing in its own offset store: only the offsets topic knows where p0 is.
    const other = await startDataPlane();
    try {
      const owner = await runAllPartitions(other, name, config);
      await eventually(() => zombie.task('p0')!.status().state === TaskState.FAILED, { timeoutMs: 30_000, message: 'the first owner failed at its next commit' });
      assert.match(zombie.task('p0')!.status().error!.message, /fenced/);
      const handedOver = (await committedOffsets(dp, name)).get('p0')!;
      await eventually(async () => ((await committedOffsets(other, name)).get('p0') ?? -1) >= handedOver + 400, { timeoutMs: 30_000, message: 'the new owner moved on' });
      assert.equal(owner.task('p0')!.status().state, TaskState.RUNNING);
      await other.worker.closeConnector(name);
      await dp.worker.closeConnector(name);
      const last = (await committedOffsets(other, name)).get('p0')!;
      const counts = countSeqs(await readCommittedTopic(dp.brokers, topic)).get('p0')!;
      assert.deepEqual(counts.missing, [], 'nothing missing across the takeover');
      assert.equal(counts.duplicates, 0, 'nothing duplicated across the takeover');
      assert.equal(counts.max, last, 'read_committed ends at the last committed offset');
    } finally {
      await other.close();
    }
  });

  test('a broker restart in the middle of open transactions: nothing duplicated, nothing lost, the partitions resume', { timeout: 180_000, skip: restartSkip }, async () => {
    const topic = uniqueName('eos-restart');
    const name = uniqueName('eos-restart');
    const runtime = await runAllPartitions(dp, name, {
      'connector.class': 'verifiable-source',
      topic,
      partitions: '2',
      'records.per.second': '300',
      'delivery.guarantee': 'exactly-once',
      // Transactions stay open for a second: the restart lands inside one.
      'transaction.boundary': 'interval',
      'transaction.boundary.interval.ms': '1000',
      'topic.creation.default.partitions': '2',
    });
    await eventually(async () => [...(await committedOffsets(dp, name)).values()].filter((o) => o >= 300).length === 2, { timeoutMs: 30_000, message: 'both partitions committed before the restart' });
    const before = await committedOffsets(dp, name);
    await restartBroker();
    await eventually(async () => {
      const now = await committedOffsets(dp, name);
      return [...before].every(([p, o]) => (now.get(p) ?? -1) >= o + 600) && runtime.statuses().every((s) => s.state === TaskState.RUNNING);
    }, { timeoutMs: 90_000, intervalMs: 250, message: 'both partitions resumed and committed after the restart' });
    await dp.worker.closeConnector(name);
    const final = await committedOffsets(dp, name);
    const counts = countSeqs(await readCommittedTopic(dp.brokers, topic));
    for (const [p, last] of final) {
      const c = counts.get(p)!;
      assert.deepEqual(c.missing, [], `${p}: nothing missing`);
      assert.equal(c.duplicates, 0, `${p}: nothing duplicated`);
      assert.equal(c.max, last, `${p}: read_committed ends at the committed offset`);
    }
  });
});
