/**
 * Conformance of src/kafka against the real broker: every producer adapter must pass the same
 * cases (one `describe` per adapter), and the partition reader, topic admin and group offset
 * store are checked against the broker and Kafka's own tools. Each case asserts something that
 * fails if the guarantee breaks; topics are unique per run and deleted afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, TributaryError, UnavailableError } from '../../src/errors.js';
import {
  createGroupOffsetStore,
  createPartitionReader,
  createProducer,
  createTopicAdmin,
  keyPartition,
  supportedCompression,
  type CompressionCodec,
  type FetchedRecord,
  type PartitionReader,
  type ProducerClient,
  type ProducerRecord,
  type RecordProducer,
  type TopicAdmin,
} from '../../src/kafka/index.js';
import { eventually } from '../support/eventually.js';
import { brokerRestartSkipReason, describeGroupWithKafkaTool, kafkaBootstrap, kafkaConn, readUntil, restartBroker, uniqueName } from '../support/kafka.js';

const bootstrap = await kafkaBootstrap();
/** Broker-restart cases restart only the local broker of deploy/local (never KAFKA_BOOTSTRAP's cluster). */
const restartSkip = await brokerRestartSkipReason();
const run = uniqueName('conf');
const CLIENTS: ProducerClient[] = ['kafkajs', 'platformatic'];

/** What differs between adapters, on purpose and documented (src/kafka/types.ts). */
const CAPABILITIES: Record<ProducerClient, { nullHeaderValue: boolean }> = {
  kafkajs: { nullHeaderValue: false },
  platformatic: { nullHeaderValue: true },
};

const text = (b: Buffer | null): string | null => (b === null ? null : b.toString());
const hasCount = (n: number) => (records: readonly FetchedRecord[]) => records.length >= n;

function assertRejectsWith(err: unknown, type: new (...args: never[]) => TributaryError, ...mentions: string[]): true {
  assert.ok(err instanceof type, `expected ${type.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  for (const m of mentions) assert.match(err.message, new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), `message should mention ${m}`);
  return true;
}

/**
 * Sends `records`, retrying the same batch after a retriable error (backoff 100 ms doubling to
 * 1 s, for up to `timeoutMs`), as a source task does. Returns the errors of the failed attempts.
 */
async function sendRetrying(producer: RecordProducer, records: ProducerRecord[], timeoutMs = 60_000): Promise<string[]> {
  const errors: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await producer.send(records);
      return errors;
    } catch (err) {
      if (!(err instanceof TributaryError) || !err.retriable || Date.now() > deadline) throw err;
      errors.push(`${err.code}: ${err.message}`);
      await delay(Math.min(1_000, 100 * 2 ** attempt));
    }
  }
}

describe('src/kafka against the broker', () => {
  let admin: TopicAdmin;
  const topics: string[] = [];

  async function newTopic(name: string, partitions: number, configs?: Record<string, string>): Promise<string> {
    const topic = `${run}-${name}`;
    topics.push(topic);
    await admin.createTopics([{ name: topic, partitions, ...(configs ? { configs } : {}) }]);
    return topic;
  }

  async function startedReader(options: Parameters<typeof createPartitionReader>[1] = {}): Promise<PartitionReader> {
    const reader = createPartitionReader(kafkaConn(bootstrap, `${run}-reader`), options);
    await reader.start();
    readers.push(reader);
    return reader;
  }
  const readers: PartitionReader[] = [];

  before(async () => {
    admin = createTopicAdmin(kafkaConn(bootstrap, `${run}-admin`));
    await admin.start();
  });

  after(async () => {
    await Promise.all(readers.map((r) => r.stop()));
    await admin.deleteTopics(topics);
    await admin.stop();
    await admin.stop();
  });

  for (const client of CLIENTS) {
    describe(`RecordProducer conformance: ${client}`, () => {
      const producers: RecordProducer[] = [];

      async function startedProducer(options: Omit<Parameters<typeof createProducer>[1], 'client'> = {}): Promise<RecordProducer> {
        const producer = createProducer(kafkaConn(bootstrap, `${run}-${client}`), { client, ...options });
        producers.push(producer);
        await producer.start();
        return producer;
      }

      after(async () => {
        await Promise.all(producers.map((p) => p.stop()));
      });

      it('keeps per-partition order and keys across concurrent sends (20,000 records, 3 partitions)', { timeout: 120_000 }, async () => {
        const topic = await newTopic(`${client}-order`, 3);
        const producer = await startedProducer();
        const total = 20_000;
        const batches: ProducerRecord[][] = [];
        for (let start = 0; start < total; start += 500) {
          batches.push(
            Array.from({ length: 500 }, (_, i) => ({
              topic,
              key: Buffer.from(`key-${(start + i) % 97}`),
              value: Buffer.from(String(start + i)),
            })),
          );
        }
        // 30 sends at once (the adapter must keep them in call order per partition), then 10
        // one after the other (each must settle on its own).
        await Promise.all(batches.slice(0, 30).map((b) => producer.send(b)));
        for (const b of batches.slice(30)) await producer.send(b);

        // One reader, the three partitions read concurrently (as a sink task does).
        const reader = await startedReader();
        const offsets = await admin.partitionOffsets(topic);
        const perPartition = await Promise.all(
          offsets.map(({ partition, latest }) =>
            readUntil(reader, { topic, partition }, 0n, {
              until: (rs) => rs.length > 0 && rs[rs.length - 1]!.offset + 1n >= latest,
              timeoutMs: 60_000,
            }),
          ),
        );
        const seen = new Set<number>();
        let read = 0;
        for (const [partition, records] of perPartition.entries()) {
          let previous = -1;
          for (const r of records) {
            const seq = Number(text(r.value));
            assert.ok(seq > previous, `partition ${partition}: seq ${seq} after ${previous} (out of order)`);
            previous = seq;
            assert.ok(!seen.has(seq), `seq ${seq} read twice`);
            seen.add(seq);
            assert.equal(text(r.key), `key-${seq % 97}`, `key of seq ${seq}`);
            assert.equal(keyPartition(r.key!, 3), partition, `key ${text(r.key)} is on the Java client's partition`);
          }
          read += records.length;
        }
        assert.equal(read, total);
        assert.equal(seen.size, total, 'every seq present once');
      });

      it('round-trips tombstones, null keys, headers and explicit timestamps', { timeout: 60_000 }, async () => {
        const topic = await newTopic(`${client}-shapes`, 1);
        const producer = await startedProducer();
        const headers = [
          { key: 'trace', value: Buffer.from('abc') },
          { key: 'dup', value: Buffer.from('1') },
          { key: 'dup', value: Buffer.from('2') },
          { key: 'empty', value: Buffer.alloc(0) },
        ];
        await producer.send([
          { topic, key: Buffer.from('gone'), value: null, timestamp: 1_600_000_000_001 },
          { topic, key: null, value: Buffer.from('no key'), timestamp: 1_600_000_000_002 },
          { topic, key: Buffer.from('h'), value: Buffer.from('with headers'), headers, timestamp: 1_600_000_000_003 },
        ]);
        const nullHeader: ProducerRecord = { topic, key: Buffer.from('nh'), value: Buffer.from('null header'), headers: [{ key: 'n', value: null }] };
        if (CAPABILITIES[client].nullHeaderValue) {
          await producer.send([nullHeader]);
        } else {
          await assert.rejects(producer.send([nullHeader]), (err) => assertRejectsWith(err, InvalidArgumentError, 'headers', 'null'));
        }

        const reader = await startedReader();
        const expected = CAPABILITIES[client].nullHeaderValue ? 4 : 3;
        const records = await readUntil(reader, { topic, partition: 0 }, 0n, { until: hasCount(expected) });
        assert.equal(records.length, expected);
        const [tombstone, noKey, withHeaders] = records as [FetchedRecord, FetchedRecord, FetchedRecord];
        assert.equal(text(tombstone.key), 'gone');
        assert.equal(tombstone.value, null, 'a tombstone stays null, not empty');
        assert.equal(tombstone.timestamp, 1_600_000_000_001n);
        assert.equal(noKey.key, null, 'a null key stays null');
        assert.equal(text(noKey.value), 'no key');
        assert.equal(noKey.timestamp, 1_600_000_000_002n);
        assert.deepEqual(
          withHeaders.headers.map((h) => [h.key, text(h.value)]),
          headers.map((h) => [h.key, text(h.value)]),
        );
        assert.equal(withHeaders.timestamp, 1_600_000_000_003n);
        if (expected === 4) assert.deepEqual(records[3]!.headers, [{ key: 'n', value: null }]);
      });

      it('round-trips records with every compression codec it supports, and refuses the others', { timeout: 60_000 }, async () => {
        const supported = supportedCompression(client);
        assert.ok(supported.includes('gzip'), 'gzip is supported by every adapter');
        const codecs: CompressionCodec[] = ['gzip', 'snappy', 'lz4', 'zstd'];
        const topic = await newTopic(`${client}-codecs`, 1);
        let expected = 0;
        for (const compression of codecs) {
          if (!supported.includes(compression)) {
            assert.throws(
              () => createProducer(kafkaConn(bootstrap, `${run}-${client}`), { client, compression }),
              (err) => assertRejectsWith(err, InvalidArgumentError, 'compression', compression),
            );
            continue;
          }
          const producer = await startedProducer({ compression });
          await producer.send(
            Array.from({ length: 200 }, (_, i) => ({ topic, key: Buffer.from(compression), value: Buffer.from(`${compression} ${i} `.repeat(20)) })),
          );
          expected += 200;
        }
        const reader = await startedReader();
        const records = await readUntil(reader, { topic, partition: 0 }, 0n, { until: hasCount(expected) });
        assert.equal(records.length, expected);
        const perCodec = new Map<string, number>();
        for (const r of records) {
          const codec = text(r.key)!;
          const i = perCodec.get(codec) ?? 0;
          assert.equal(text(r.value), `${codec} ${i} `.repeat(20));
          perCodec.set(codec, i + 1);
        }
        assert.deepEqual([...perCodec.keys()], supported.filter((c) => c !== 'none'));
      });

      describe('transactions', () => {
        it('a committed transaction is visible to a read_committed reader', { timeout: 60_000 }, async () => {
          const topic = await newTopic(`${client}-tx-commit`, 1);
          const producer = await startedProducer({ transactionalId: uniqueName(`${client}-tx`) });
          await assert.rejects(producer.send([{ topic, key: null, value: Buffer.from('x') }]), FailedPreconditionError);
          // Empty transactions end cleanly too (nothing to commit at the coordinator).
          await (await producer.beginTransaction()).commit();
          await (await producer.beginTransaction()).abort();
          const tx = await producer.beginTransaction();
          await tx.send(Array.from({ length: 10 }, (_, i) => ({ topic, key: null, value: Buffer.from(`c${i}`) })));
          await tx.commit();
          const reader = await startedReader({ isolationLevel: 'read_committed' });
          const records = await readUntil(reader, { topic, partition: 0 }, 0n, { until: hasCount(10) });
          assert.deepEqual(records.map((r) => text(r.value)), Array.from({ length: 10 }, (_, i) => `c${i}`));
        });

        it('an aborted transaction is invisible to read_committed, yet its offsets are used', { timeout: 60_000 }, async () => {
          const topic = await newTopic(`${client}-tx-abort`, 1);
          const producer = await startedProducer({ transactionalId: uniqueName(`${client}-tx`) });
          const aborted = await producer.beginTransaction();
          await aborted.send(Array.from({ length: 10 }, (_, i) => ({ topic, key: null, value: Buffer.from(`aborted-${i}`) })));
          await aborted.abort();
          const committed = await producer.beginTransaction();
          await committed.send([{ topic, key: null, value: Buffer.from('after-abort') }]);
          await committed.commit();

          const committedReader = await startedReader({ isolationLevel: 'read_committed' });
          const visible = await readUntil(committedReader, { topic, partition: 0 }, 0n, { until: hasCount(1) });
          assert.deepEqual(visible.map((r) => text(r.value)), ['after-abort']);
          // 10 aborted records and the abort marker come first.
          assert.ok(visible[0]!.offset >= 11n, `offset ${visible[0]!.offset} should be past the aborted records`);

          // read_uncommitted sees the aborted records, but never the transaction markers.
          const uncommittedReader = await startedReader({ isolationLevel: 'read_uncommitted' });
          const all = await readUntil(uncommittedReader, { topic, partition: 0 }, 0n, {
            until: (rs) => rs.some((r) => text(r.value) === 'after-abort'),
          });
          assert.deepEqual(all.map((r) => text(r.value)), [...Array.from({ length: 10 }, (_, i) => `aborted-${i}`), 'after-abort']);
        });

        it('a second producer with the same transactionalId fences the first', { timeout: 60_000 }, async () => {
          const topic = await newTopic(`${client}-tx-fence`, 1);
          const transactionalId = uniqueName(`${client}-fence`);
          const first = await startedProducer({ transactionalId });
          const zombieTx = await first.beginTransaction();
          await zombieTx.send([{ topic, key: null, value: Buffer.from('zombie') }]);

          const second = await startedProducer({ transactionalId });
          const tx = await second.beginTransaction();
          await tx.send([{ topic, key: null, value: Buffer.from('winner') }]);
          await tx.commit();

          await assert.rejects(zombieTx.commit(), (err) => assertRejectsWith(err, FailedPreconditionError, 'fenced', transactionalId));
          await assert.rejects(first.beginTransaction(), (err) => assertRejectsWith(err, FailedPreconditionError, 'fenced'));

          const reader = await startedReader({ isolationLevel: 'read_committed' });
          const records = await readUntil(reader, { topic, partition: 0 }, 0n, { until: hasCount(1) });
          assert.deepEqual(records.map((r) => text(r.value)), ['winner']);
        });
      });

      describe('clear errors', () => {
        it('a send to a missing topic fails with NotFoundError naming it', { timeout: 30_000 }, async () => {
          const producer = await startedProducer();
          const missing = `${run}-${client}-missing`;
          await assert.rejects(producer.send([{ topic: missing, key: null, value: Buffer.from('x') }]), (err) =>
            assertRejectsWith(err, NotFoundError, missing),
          );
        });

        it("a record over the topic's max.message.bytes fails with InvalidArgumentError naming topic and limit", { timeout: 30_000 }, async () => {
          const topic = await newTopic(`${client}-small`, 1, { 'max.message.bytes': '2048' });
          const producer = await startedProducer();
          await assert.rejects(producer.send([{ topic, key: null, value: Buffer.alloc(10 * 1024, 7) }]), (err) =>
            assertRejectsWith(err, InvalidArgumentError, topic, '2048'),
          );
          // The producer is still usable afterwards (with a fresh producer id).
          await producer.send([{ topic, key: null, value: Buffer.from('small') }]);
        });

        it('an explicit partition the topic does not have fails with InvalidArgumentError', { timeout: 30_000 }, async () => {
          const topic = await newTopic(`${client}-two`, 2);
          const producer = await startedProducer();
          await assert.rejects(producer.send([{ topic, partition: 5, key: null, value: Buffer.from('x') }]), (err) =>
            assertRejectsWith(err, InvalidArgumentError, topic, 'partition 5'),
          );
          const offsets = await admin.partitionOffsets(topic);
          assert.deepEqual(offsets.map((o) => o.latest), [0n, 0n], 'nothing was written to another partition');
        });

        it('an unreachable broker makes start() reject with a retriable UnavailableError', { timeout: 30_000 }, async () => {
          const producer = createProducer(kafkaConn('127.0.0.1:1', `${run}-${client}`, { connectTimeoutMs: 500, requestTimeoutMs: 1_000 }), {
            client,
          });
          await assert.rejects(producer.start(), (err) => assertRejectsWith(err, UnavailableError, '127.0.0.1:1'));
          await assert.rejects(producer.send([{ topic: 'any', key: null, value: null }]), FailedPreconditionError);
          await producer.stop();
        });
      });

      describe('across a broker restart', () => {
        it(
          'an idempotent producer loses nothing, keeps order and writes no duplicate when the broker restarts mid-produce',
          { timeout: 180_000, skip: restartSkip },
          async (t) => {
            const partitions = 3;
            const topic = await newTopic(`${client}-restart`, partitions);
            const producer = await startedProducer();
            const perSend = 500;
            const before = 20; // sends acknowledged before the restart begins
            const after = 20; // sends made once the broker is ready again
            const maxDuring = 400; // bound on the sends made while the restart is under way
            const batch = (index: number): ProducerRecord[] =>
              Array.from({ length: perSend }, (_, i) => {
                const seq = index * perSend + i;
                return { topic, partition: seq % partitions, key: null, value: Buffer.from(String(seq)) };
              });

            // Seqs 0, 1, 2, ... in sends of 500, each awaited; a send that fails with a retriable
            // error is retried as the same batch until it succeeds (bounded), as a source task does.
            const failedBatches = new Map<number, string[]>();
            const send = async (index: number): Promise<void> => {
              const errors = await sendRetrying(producer, batch(index));
              if (errors.length > 0) failedBatches.set(index, errors);
            };

            let next = 0;
            while (next < before) await send(next++);
            let restarted = false;
            const restart = restartBroker().finally(() => (restarted = true));
            restart.catch(() => undefined);
            // Back to back while the broker shuts down, is away and starts again.
            const firstDuring = next;
            while (!restarted && next - firstDuring < maxDuring) await send(next++);
            const timings = await restart;
            const sentDuring = next - firstDuring;
            const last = next + after;
            while (next < last) await send(next++);
            const total = next * perSend;

            const reader = await startedReader();
            const offsets = await admin.partitionOffsets(topic);
            const perPartition = await Promise.all(
              offsets.map(({ partition, latest }) =>
                readUntil(reader, { topic, partition }, 0n, {
                  until: (rs) => latest === 0n || (rs.length > 0 && rs[rs.length - 1]!.offset + 1n >= latest),
                  timeoutMs: 60_000,
                }),
              ),
            );
            const seen = new Set<number>();
            const duplicated: number[] = [];
            for (const [partition, records] of perPartition.entries()) {
              let highest = -1;
              for (const r of records) {
                const seq = Number(text(r.value));
                assert.equal(seq % partitions, partition, `seq ${seq} on partition ${partition}`);
                if (seen.has(seq)) {
                  // A repeat of a record written earlier: allowed only for a batch whose send
                  // reported a failure and was retried (the failed attempt was written after all).
                  duplicated.push(seq);
                  assert.ok(
                    failedBatches.has(Math.floor(seq / perSend)),
                    `seq ${seq} was written twice although its batch ${Math.floor(seq / perSend)} never reported a failure`,
                  );
                  continue;
                }
                // First copies in send order: the next new seq of a partition is the next one sent to it.
                assert.equal(seq, highest === -1 ? partition : highest + partitions, `partition ${partition}: seq ${seq} after ${highest} (gap or reorder)`);
                highest = seq;
                seen.add(seq);
              }
            }
            assert.equal(seen.size, total, `every one of the ${total} seqs is in the topic`);
            assert.deepEqual(duplicated, [], 'no record was written twice');
            const retried = [...failedBatches.values()].reduce((n, errors) => n + errors.length, 0);
            const summary =
              `${client}: ${next} sends (${total} records), ${sentDuring} of them during the restart (stop ${timings.stopMs} ms, start ${timings.startMs} ms); ` +
              `${failedBatches.size} batches failed ${retried} times and were retried; duplicates: ${duplicated.length} records` +
              (duplicated.length > 0 ? ` (batches ${[...new Set(duplicated.map((s) => Math.floor(s / perSend)))].join(', ')})` : '');
            t.diagnostic(summary);
            for (const [index, errors] of failedBatches) t.diagnostic(`${client}: batch ${index} failed: ${errors.join(' | ')}`);
          },
        );
      });
    });
  }

  describe('PartitionReader', () => {
    async function filledTopic(name: string, count: number): Promise<string> {
      const topic = await newTopic(name, 1);
      const producer = createProducer(kafkaConn(bootstrap, `${run}-fill`), { client: 'platformatic' });
      await producer.start();
      // One send, so the records share record batches (the reader must skip the head of one).
      await producer.send(Array.from({ length: count }, (_, i) => ({ topic, key: null, value: Buffer.from(String(i)) })));
      await producer.stop();
      return topic;
    }

    it('skips the records of the first batch below the requested offset', { timeout: 30_000 }, async () => {
      const topic = await filledTopic('mid-batch', 100);
      const reader = await startedReader();
      const records = await readUntil(reader, { topic, partition: 0 }, 50n, { until: hasCount(50) });
      assert.equal(records[0]!.offset, 50n);
      assert.deepEqual(records.map((r) => Number(text(r.value))), Array.from({ length: 50 }, (_, i) => 50 + i));
    });

    it('after deleteRecordsBefore, earliest starts at the new log start and none fails naming the partition', { timeout: 30_000 }, async () => {
      const topic = await filledTopic('deleted', 100);
      assert.equal(await admin.deleteRecordsBefore({ topic, partition: 0 }, 40n), 40n);
      assert.deepEqual(await admin.partitionOffsets(topic), [{ partition: 0, earliest: 40n, latest: 100n }]);

      const earliest = await startedReader({ autoOffsetReset: 'earliest' });
      const records = await readUntil(earliest, { topic, partition: 0 }, 0n, { until: hasCount(60) });
      assert.equal(records[0]!.offset, 40n);
      assert.equal(text(records[0]!.value), '40');

      const none = await startedReader({ autoOffsetReset: 'none' });
      await assert.rejects(readUntil(none, { topic, partition: 0 }, 0n, { until: hasCount(1) }), (err) =>
        assertRejectsWith(err, FailedPreconditionError, `${topic}-0`, 'offset 0', 'out of range'),
      );

      const latest = await startedReader({ autoOffsetReset: 'latest' });
      let readDone = false;
      const reading = readUntil(latest, { topic, partition: 0 }, 0n, { until: hasCount(1) }).finally(() => (readDone = true));
      // The reader resets to the end at some point; keep writing until it has read a record
      // written after that, which must be past the 100 that were there before.
      const producer = createProducer(kafkaConn(bootstrap, `${run}-late`), { client: 'platformatic' });
      await producer.start();
      try {
        await eventually(
          async () => {
            if (!readDone) await producer.send([{ topic, key: null, value: Buffer.from('late') }]);
            return readDone;
          },
          { timeoutMs: 15_000, intervalMs: 100, message: 'a latest-reset reader sees new records' },
        );
      } finally {
        await producer.stop();
      }
      const [first] = await reading;
      assert.ok(first!.offset >= 100n, `latest reset read offset ${first!.offset}`);
      assert.equal(text(first!.value), 'late');
    });

    it('under read_committed drops aborted batches interleaved with committed and plain ones', { timeout: 60_000 }, async () => {
      const topic = await newTopic('interleaved', 1);
      const conn = kafkaConn(bootstrap, `${run}-interleave`);
      const [aborting, committing, plain] = [
        createProducer(conn, { client: 'platformatic', transactionalId: uniqueName('abort') }),
        createProducer(conn, { client: 'kafkajs', transactionalId: uniqueName('commit') }),
        createProducer(conn, { client: 'platformatic' }),
      ];
      await Promise.all([aborting.start(), committing.start(), plain.start()]);
      try {
        const send = (p: { send(r: ProducerRecord[]): Promise<void> }, value: string) => p.send([{ topic, key: null, value: Buffer.from(value) }]);
        const [ta, tc] = [await aborting.beginTransaction(), await committing.beginTransaction()];
        await send(ta, 'a1');
        await send(tc, 'c1');
        await send(plain, 'p1');
        await send(ta, 'a2');
        await send(tc, 'c2');
        await ta.abort();
        await send(plain, 'p2');
        await tc.commit();
        await send(plain, 'p3');
      } finally {
        await Promise.all([aborting.stop(), committing.stop(), plain.stop()]);
      }
      const committed = await startedReader({ isolationLevel: 'read_committed' });
      const visible = await readUntil(committed, { topic, partition: 0 }, 0n, { until: (rs) => rs.some((r) => text(r.value) === 'p3') });
      assert.deepEqual(visible.map((r) => text(r.value)), ['c1', 'p1', 'c2', 'p2', 'p3']);
      const uncommitted = await startedReader({ isolationLevel: 'read_uncommitted' });
      const all = await readUntil(uncommitted, { topic, partition: 0 }, 0n, { until: (rs) => rs.some((r) => text(r.value) === 'p3') });
      assert.deepEqual(all.map((r) => text(r.value)), ['a1', 'c1', 'p1', 'a2', 'c2', 'p2', 'p3']);
    });

    it('under read_committed reads past the ABORT marker of a transaction that wrote nothing to the partition, next to a listed aborted one', { timeout: 60_000 }, async () => {
      // The shape that crashed @platformatic/kafka 1.35's own read_committed filter
      // (Consumer#filterUncommittedMessages: "Cannot set properties of undefined"): one fetch
      // holds an aborted transaction the broker lists (it wrote data here) and the ABORT marker
      // of another producer that is not listed, because its transaction added the partition but
      // appended nothing (its only record was too large for the topic). A worker killed between
      // AddPartitionsToTxn and its Produce leaves the same marker when the next owner fences it.
      const topic = await newTopic('empty-abort', 1, { 'max.message.bytes': '2048' });
      const conn = kafkaConn(bootstrap, `${run}-empty-abort`);
      const [listed, empty, committing] = [
        createProducer(conn, { client: 'platformatic', transactionalId: uniqueName('listed') }),
        createProducer(conn, { client: 'platformatic', transactionalId: uniqueName('empty') }),
        createProducer(conn, { client: 'platformatic', transactionalId: uniqueName('commit') }),
      ];
      await Promise.all([listed.start(), empty.start(), committing.start()]);
      try {
        await Promise.all([listed.initTransactions(), empty.initTransactions(), committing.initTransactions()]);
        const send = (p: { send(r: ProducerRecord[]): Promise<void> }, value: string | Buffer) => p.send([{ topic, key: null, value: Buffer.from(value) }]);
        const [ta, te, tc] = [await listed.beginTransaction(), await empty.beginTransaction(), await committing.beginTransaction()];
        await send(tc, 'c1');
        await send(ta, 'a1');
        await assert.rejects(send(te, Buffer.alloc(8_192, 1)), 'a record over max.message.bytes is refused, after its partition joined the transaction');
        await te.abort();
        await send(ta, 'a2');
        await ta.abort();
        await send(tc, 'c2');
        await tc.commit();
      } finally {
        await Promise.all([listed.stop(), empty.stop(), committing.stop()]);
      }
      // Markers are written after EndTxn returns: wait for both ABORTs and the COMMIT.
      const latest = await eventually(async () => {
        const [{ latest: l }] = await admin.partitionOffsets(topic);
        return l === 7n ? l : undefined;
      }, { timeoutMs: 10_000, message: 'c1, a1, a2, c2 and three transaction markers in the partition (the empty transaction leaves its ABORT marker)' });
      const uncommitted = await startedReader({ isolationLevel: 'read_uncommitted' });
      const all = await readUntil(uncommitted, { topic, partition: 0 }, 0n, { until: (rs) => rs.some((r) => text(r.value) === 'c2') });
      assert.deepEqual(all.map((r) => text(r.value)), ['c1', 'a1', 'a2', 'c2']);
      // c1, a1, the empty transaction's ABORT marker, a2, a's ABORT marker, c2, c's COMMIT marker.
      const committed = await startedReader({ isolationLevel: 'read_committed', maxWaitMs: 100 });
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 20_000);
      const visible: string[] = [];
      let position = 0n;
      try {
        for await (const batch of committed.read({ topic, partition: 0 }, 0n, controller.signal, { yieldEmpty: true })) {
          for (const r of batch.records) visible.push(text(r.value)!);
          position = batch.nextOffset;
          if (position >= latest!) break;
        }
      } finally {
        clearTimeout(timer);
      }
      assert.equal(position, latest, 'the read reached the end of the partition, markers included');
      assert.deepEqual(visible, ['c1', 'c2']);
    });

    it('a read loop in progress keeps going across a broker restart and delivers every record from before and after it, with no gap', { timeout: 120_000, skip: restartSkip }, async (t) => {
      const topic = await newTopic('restart-read', 1);
      const tp = { topic, partition: 0 };
      const producer = createProducer(kafkaConn(bootstrap, `${run}-restart-read`), { client: 'platformatic' });
      await producer.start();
      const reader = await startedReader();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 100_000);
      const records: FetchedRecord[] = [];
      let fetchesAfterRestart = 0;
      let restarted = false;
      // One read() for the whole case: it must ride out the restart by itself.
      const reading = (async () => {
        for await (const batch of reader.read(tp, 0n, controller.signal)) {
          for (const r of batch.records) records.push(r);
          if (restarted) fetchesAfterRestart++;
        }
      })();
      const produce = async (from: number, count: number): Promise<void> => {
        for (let start = from; start < from + count; start += 500) {
          // The producer meets the restart too (its connection is gone): retry what is retriable.
          await sendRetrying(producer, Array.from({ length: 500 }, (_, i) => ({ topic, key: null, value: Buffer.from(String(start + i)) })));
        }
      };
      let latest = 0n;
      try {
        await produce(0, 5_000);
        await eventually(() => records.length >= 5_000, { timeoutMs: 20_000, message: 'the reader has the records from before the restart' });
        const timings = await restartBroker();
        restarted = true;
        const resumedAt = Date.now();
        await produce(5_000, 5_000);
        latest = (await admin.partitionOffsets(topic))[0]!.latest;
        await eventually(() => records.length > 0 && records[records.length - 1]!.offset + 1n >= latest, {
          timeoutMs: 60_000,
          intervalMs: 100,
          message: 'the same read loop delivers the records from after the restart',
        });
        t.diagnostic(`broker away ${timings.totalMs} ms (stop ${timings.stopMs} ms, start ${timings.startMs} ms); the read loop had every record ${Date.now() - resumedAt} ms after the broker was ready`);
      } finally {
        clearTimeout(timer);
        controller.abort();
        await reading;
        await producer.stop();
      }
      assert.ok(fetchesAfterRestart > 0, 'the read loop fetched after the restart');
      // Every offset of the log exactly once, in order; and so every record sent.
      assert.equal(BigInt(records.length), latest, `read ${records.length} records of a log of ${latest}`);
      records.forEach((r, i) => assert.equal(r.offset, BigInt(i), `offset ${r.offset} at position ${i} (gap or repeat)`));
      const values = new Set(records.map((r) => Number(text(r.value))));
      for (let seq = 0; seq < 10_000; seq++) assert.ok(values.has(seq), `record ${seq} was read`);
    });

    it('fails with NotFoundError for a missing topic or partition', { timeout: 30_000 }, async () => {
      const topic = await newTopic('one-partition', 1);
      const reader = await startedReader();
      await assert.rejects(readUntil(reader, { topic, partition: 3 }, 0n, { until: hasCount(1) }), (err) =>
        assertRejectsWith(err, NotFoundError, topic, 'partition 3'),
      );
      const missing = `${run}-no-such-topic`;
      await assert.rejects(readUntil(reader, { topic: missing, partition: 0 }, 0n, { until: hasCount(1) }), (err) =>
        assertRejectsWith(err, NotFoundError, missing),
      );
    });

    it('ends promptly when aborted during a long-poll fetch, and stop() ends every read', { timeout: 30_000 }, async () => {
      const topic = await newTopic('idle', 1);
      const reader = createPartitionReader(kafkaConn(bootstrap, `${run}-idle`), { maxWaitMs: 20_000 });
      await reader.start();
      const controller = new AbortController();
      const iterator = reader.read({ topic, partition: 0 }, 0n, controller.signal)[Symbol.asyncIterator]();
      const next = iterator.next();
      // Lets the reader get its 20 s long poll in flight; the assertion below holds either way.
      await delay(300);
      const abortedAt = Date.now();
      controller.abort();
      assert.deepEqual(await next, { value: undefined, done: true });
      assert.ok(Date.now() - abortedAt < 2_000, `iterator ended ${Date.now() - abortedAt} ms after abort`);

      const pending = reader.read({ topic, partition: 0 }, 0n, new AbortController().signal)[Symbol.asyncIterator]().next();
      await delay(300);
      const stoppedAt = Date.now();
      await reader.stop();
      await reader.stop();
      assert.deepEqual(await pending, { value: undefined, done: true });
      assert.ok(Date.now() - stoppedAt < 5_000, `stop took ${Date.now() - stoppedAt} ms`);
    });
  });

  describe('TopicAdmin', () => {
    it('createTopics is idempotent and describeTopics omits unknown names', { timeout: 30_000 }, async () => {
      const topic = await newTopic('idempotent', 3);
      await admin.createTopics([{ name: topic, partitions: 5 }]);
      assert.deepEqual(await admin.describeTopics([topic, `${run}-unknown`]), [{ name: topic, partitions: 3 }]);
      assert.ok((await admin.listTopics()).includes(topic));
      await admin.deleteTopics([`${run}-never-created`]);
    });
  });

  describe('GroupOffsetStore', () => {
    it("commits a member-less group's offsets that fetch and Kafka's ConsumerGroupCommand both read back", { timeout: 90_000 }, async () => {
      const topic = await newTopic('group', 2);
      const producer = createProducer(kafkaConn(bootstrap, `${run}-group`), { client: 'platformatic' });
      await producer.start();
      await producer.send(Array.from({ length: 20 }, (_, i) => ({ topic, partition: i % 2, key: null, value: Buffer.from(String(i)) })));
      await producer.stop();

      const store = createGroupOffsetStore(kafkaConn(bootstrap, `${run}-offsets`));
      await store.start();
      try {
        const group = `connect-${uniqueName('sink')}`;
        assert.deepEqual(await store.fetch(group, [topic]), []);
        await store.commit(group, [
          { topic, partition: 0, offset: 5n },
          { topic, partition: 1, offset: 7n },
        ]);
        assert.deepEqual(await store.fetch(group, [topic]), [
          { topic, partition: 0, offset: 5n },
          { topic, partition: 1, offset: 7n },
        ]);
        assert.deepEqual(await store.fetch(group, [`${run}-other`]), []);

        const rows = await describeGroupWithKafkaTool(bootstrap, group);
        assert.deepEqual(
          rows.filter((r) => r.topic === topic).sort((a, b) => a.partition - b.partition),
          [
            { topic, partition: 0, currentOffset: 5n, logEndOffset: 10n },
            { topic, partition: 1, currentOffset: 7n, logEndOffset: 10n },
          ],
        );
      } finally {
        await store.stop();
        await store.stop();
      }
    });
  });

  it('reader, admin and offset store start() reject with a retriable UnavailableError when Kafka is unreachable', { timeout: 30_000 }, async () => {
    const conn = kafkaConn('127.0.0.1:1', `${run}-unreachable`, { connectTimeoutMs: 500, requestTimeoutMs: 1_000 });
    for (const component of [createPartitionReader(conn), createTopicAdmin(conn), createGroupOffsetStore(conn)]) {
      await assert.rejects(component.start(), (err) => assertRejectsWith(err, UnavailableError, '127.0.0.1:1') && (err as TributaryError).retriable);
      await component.stop();
    }
  });

  it("keyPartition matches the Java client's murmur2 partitioner", () => {
    // From org.apache.kafka.common.utils.Utils (kafka-clients 4.4.0): toPositive(murmur2(key)) % 6.
    const java: Array<[string, number]> = [['', 3], ['a', 4], ['ab', 2], ['abc', 3], ['abcd', 2], ['key-0', 1], ['key-1', 0], ['hello world', 1], ['tributary', 4], ['zzzzzzzzzzzzzzzzzzzz', 4], ['k123456', 2]];
    for (const [key, partition] of java) assert.equal(keyPartition(Buffer.from(key), 6), partition, `key "${key}"`);
  });
});
