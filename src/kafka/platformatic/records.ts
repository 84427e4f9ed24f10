/**
 * Turns one partition of a Fetch response into the records a reader may yield, and the offset
 * of the next fetch. Kafka answers with whole record batches, so:
 * - records below the requested offset (the head of the first batch) are skipped;
 * - control batches (transaction markers) are never records;
 * - under read_committed, batches of aborted transactions are dropped, as the Java consumer
 *   does: the response lists aborted transactions (producer id, first offset); a producer's
 *   data batches count as aborted from that first offset until its ABORT marker.
 * The next offset is past the last batch even when nothing of it was yielded, so the reader
 * never refetches a marker or an aborted batch.
 */
import type { Consumer, RecordsBatch } from '@platformatic/kafka';
import type { FetchedRecord } from '../types.js';

export type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
export type FetchResponsePartition = FetchResponse['responses'][number]['partitions'][number];

const LOG_APPEND_TIME = 0x08;
const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;

export interface DecodedFetch {
  records: FetchedRecord[];
  nextOffset: bigint;
}

/** A control record's key is (version int16, type int16); type 0 is ABORT, 1 is COMMIT. */
function isAbortMarker(batch: RecordsBatch): boolean {
  const key = batch.records[0]?.key;
  return key != null && key.length >= 4 && key.readInt16BE(2) === 0;
}

export function decodeFetch(partition: FetchResponsePartition, fetchOffset: bigint, readCommitted: boolean): DecodedFetch {
  const records: FetchedRecord[] = [];
  let nextOffset = fetchOffset;
  const aborted = readCommitted
    ? [...(partition.abortedTransactions ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
    : [];
  let abortedIndex = 0;
  const abortingProducers = new Set<bigint>();

  for (const batch of partition.records ?? []) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (lastOffset < fetchOffset) continue;
    nextOffset = lastOffset + 1n;
    const isControl = (batch.attributes & IS_CONTROL) !== 0;
    if (readCommitted && (batch.attributes & IS_TRANSACTIONAL) !== 0) {
      while (abortedIndex < aborted.length && aborted[abortedIndex]!.firstOffset <= lastOffset) {
        abortingProducers.add(aborted[abortedIndex]!.producerId);
        abortedIndex++;
      }
      if (isControl) {
        if (isAbortMarker(batch)) abortingProducers.delete(batch.producerId);
        continue;
      }
      if (abortingProducers.has(batch.producerId)) continue;
    } else if (isControl) {
      continue;
    }
    const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta);
      if (offset < fetchOffset) continue;
      records.push({
        offset,
        key: r.key,
        value: r.value,
        headers: r.headers.map(([key, value]) => ({ key: key?.toString() ?? '', value })),
        timestamp: logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + r.timestampDelta,
      });
    }
  }
  return { records, nextOffset };
}
