/**
 * decodeFetch on hand-made fetch responses: the read_committed filter for aborted transactions
 * cannot be exercised against the local Kafka 4.4 broker, which already leaves aborted data
 * batches out of read_committed fetch responses (measured) while older brokers send them. No
 * broker needed; it sits with the Kafka conformance tests because it covers the same reader.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFetch, type FetchResponsePartition } from '../../src/kafka/platformatic/records.js';

type RecordsBatch = NonNullable<FetchResponsePartition['records']>[number];

const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const LOG_APPEND_TIME = 0x08;

function batch(firstOffset: number, attributes: number, producerId: number, values: Array<string | Buffer>, extra: Partial<RecordsBatch> = {}): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: values.length - 1,
    firstTimestamp: 1_000n,
    maxTimestamp: 2_000n,
    producerId: BigInt(producerId),
    producerEpoch: 0,
    firstSequence: 0,
    records: values.map((v, i) => ({
      length: 0,
      attributes: 0,
      timestampDelta: BigInt(i),
      offsetDelta: i,
      key: Buffer.isBuffer(v) ? v : null,
      value: Buffer.isBuffer(v) ? Buffer.alloc(2) : Buffer.from(v),
      headers: [],
    })),
    ...extra,
  };
}

/** Control record keys: version 0, type 0 (ABORT) or 1 (COMMIT). */
const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

const partition: FetchResponsePartition = {
  partitionIndex: 0,
  errorCode: 0,
  highWatermark: 10n,
  lastStableOffset: 10n,
  logStartOffset: 0n,
  preferredReadReplica: -1,
  abortedTransactions: [{ producerId: 1n, firstOffset: 0n }],
  records: [
    batch(0, TRANSACTIONAL, 1, ['a0', 'a1']), // producer 1's aborted transaction
    batch(2, TRANSACTIONAL, 2, ['c2']), // producer 2, committed
    batch(3, TRANSACTIONAL, 1, ['a3']), // still producer 1's aborted transaction
    batch(4, TRANSACTIONAL | CONTROL, 1, [ABORT]),
    batch(5, TRANSACTIONAL, 1, ['c5']), // producer 1's next transaction: committed
    batch(6, TRANSACTIONAL | CONTROL, 2, [COMMIT]),
    batch(7, TRANSACTIONAL | CONTROL, 1, [COMMIT]),
    batch(8, LOG_APPEND_TIME, -1, ['p8', 'p9']), // not transactional
  ],
};

const values = (records: ReturnType<typeof decodeFetch>['records']) => records.map((r) => [r.offset, r.value?.toString()]);

describe('decodeFetch', () => {
  it('under read_committed yields neither aborted records nor markers, and skips below the fetch offset', () => {
    const decoded = decodeFetch(partition, 1n, true);
    assert.deepEqual(values(decoded.records), [
      [2n, 'c2'],
      [5n, 'c5'],
      [8n, 'p8'],
      [9n, 'p9'],
    ]);
    assert.equal(decoded.nextOffset, 10n);
  });

  it('under read_uncommitted yields aborted records but still no markers', () => {
    const decoded = decodeFetch(partition, 1n, false);
    assert.deepEqual(values(decoded.records), [
      [1n, 'a1'],
      [2n, 'c2'],
      [3n, 'a3'],
      [5n, 'c5'],
      [8n, 'p8'],
      [9n, 'p9'],
    ]);
    assert.equal(decoded.nextOffset, 10n);
  });

  it('uses the batch max timestamp for LogAppendTime and first timestamp plus delta otherwise', () => {
    const decoded = decodeFetch(partition, 0n, false);
    assert.equal(decoded.records.find((r) => r.offset === 1n)?.timestamp, 1_001n);
    assert.deepEqual(decoded.records.filter((r) => r.offset >= 8n).map((r) => r.timestamp), [2_000n, 2_000n]);
  });

  it('moves past a fetch holding only markers, without yielding anything', () => {
    const onlyMarkers: FetchResponsePartition = { ...partition, records: [batch(4, TRANSACTIONAL | CONTROL, 1, [ABORT])] };
    assert.deepEqual(decodeFetch(onlyMarkers, 4n, true), { records: [], nextOffset: 5n });
  });
});

describe('decodeFetch on the answers that broke @platformatic/kafka 1.35’s read_committed filter', () => {
  it('drops nothing wrongly and does not throw on the ABORT marker of a producer the answer does not list', () => {
    // Producer 3 added the partition to a transaction and appended nothing: the broker writes its
    // ABORT marker but lists no aborted transaction for it. With producer 1's listed one in the
    // same answer, Consumer#filterUncommittedMessages threw "Cannot set properties of undefined".
    const shape: FetchResponsePartition = {
      ...partition,
      abortedTransactions: [{ producerId: 1n, firstOffset: 1n }],
      records: [
        batch(0, TRANSACTIONAL, 2, ['c0']),
        batch(1, TRANSACTIONAL, 1, ['a1']),
        batch(2, TRANSACTIONAL | CONTROL, 3, [ABORT]),
        batch(3, TRANSACTIONAL, 1, ['a3']),
        batch(4, TRANSACTIONAL | CONTROL, 1, [ABORT]),
        batch(5, TRANSACTIONAL, 2, ['c5']),
        batch(6, TRANSACTIONAL | CONTROL, 2, [COMMIT]),
      ],
    };
    const decoded = decodeFetch(shape, 0n, true);
    assert.deepEqual(values(decoded.records), [
      [0n, 'c0'],
      [5n, 'c5'],
    ]);
    assert.equal(decoded.nextOffset, 7n);
  });

  it('drops a listed aborted transaction whose ABORT marker lies beyond this answer', () => {
    // The answer was cut by maxBytes before the marker; the library kept such "open ranges".
    const cut: FetchResponsePartition = {
      ...partition,
      abortedTransactions: [{ producerId: 1n, firstOffset: 1n }],
      records: [batch(0, 0, -1, ['p0']), batch(1, TRANSACTIONAL, 1, ['a1', 'a2']), batch(3, TRANSACTIONAL, 2, ['c3'])],
    };
    const decoded = decodeFetch(cut, 0n, true);
    assert.deepEqual(values(decoded.records), [
      [0n, 'p0'],
      [3n, 'c3'],
    ]);
    assert.equal(decoded.nextOffset, 4n);
  });

  it('drops two aborted transactions of one producer in one answer and keeps its committed one between them', () => {
    // The library kept one range per producer id, so the second listing replaced the first.
    const twice: FetchResponsePartition = {
      ...partition,
      abortedTransactions: [
        { producerId: 1n, firstOffset: 4n },
        { producerId: 1n, firstOffset: 0n },
      ],
      records: [
        batch(0, TRANSACTIONAL, 1, ['a0']),
        batch(1, TRANSACTIONAL | CONTROL, 1, [ABORT]),
        batch(2, TRANSACTIONAL, 1, ['c2']),
        batch(3, TRANSACTIONAL | CONTROL, 1, [COMMIT]),
        batch(4, TRANSACTIONAL, 1, ['a4']),
        batch(5, TRANSACTIONAL | CONTROL, 1, [ABORT]),
      ],
    };
    const decoded = decodeFetch(twice, 0n, true);
    assert.deepEqual(values(decoded.records), [[2n, 'c2']]);
    assert.equal(decoded.nextOffset, 6n);
  });
});
