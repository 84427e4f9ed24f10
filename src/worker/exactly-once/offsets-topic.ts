/**
 * The compacted offsets topic of exactly-once sources (Kafka Connect's `offset.storage.topic`
 * under KIP-618). One record per committed transaction of a stream partition, written inside
 * that transaction, so it is visible to read_committed readers exactly when the records are.
 *
 * Record layout (JSON, documented in docs/exactly-once.md):
 *   key   ["<connector>","<stream partition id>"]
 *   value {"offset":"<base64 of the plugin's offset bytes>","epoch":"<assignment epoch>"}
 * The key decides the topic partition (murmur2, as the Java client), so every record of one
 * stream partition is in one topic partition and compaction keeps its latest.
 *
 * Reading: from the log start to the high watermark as it was when the read began, under
 * read_committed. The caller has already fenced the previous owner (initTransactions), which
 * completes or aborts that owner's open transaction first, so what is read is final.
 */
import { DeadlineExceededError, FailedPreconditionError, InternalError } from '../../errors.js';
import { keyPartition, type PartitionReader, type ProducerRecord, type TopicAdmin } from '../../kafka/index.js';
import type { CommittedOffset } from '../../coordinator/index.js';

export interface OffsetsTopicOptions {
  topic: string;
  admin: TopicAdmin;
  /** A read_committed reader. */
  reader: PartitionReader;
  /** Partitions of a topic created here (Kafka Connect's default for its offsets topic is 25). */
  partitions?: number;
  replicationFactor?: number;
  /** Bound of one read to the end of a partition. */
  readTimeoutMs?: number;
}

export function offsetRecordKey(connector: string, partition: string): Buffer {
  return Buffer.from(JSON.stringify([connector, partition]));
}

export function encodeOffsetValue(offset: Uint8Array, epoch: bigint): Buffer {
  return Buffer.from(JSON.stringify({ offset: Buffer.from(offset).toString('base64'), epoch: epoch.toString() }));
}

/** The committed offset in a record's value; throws InternalError naming the record if it is not ours. */
export function decodeOffsetValue(value: Buffer, where: string): CommittedOffset {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    throw new InternalError(`offsets topic record ${where} is not JSON; is the topic shared with something else?`);
  }
  const v = parsed as { offset?: unknown; epoch?: unknown };
  if (typeof v.offset !== 'string' || typeof v.epoch !== 'string' || !/^\d+$/.test(v.epoch)) {
    throw new InternalError(`offsets topic record ${where} lacks "offset" (base64) and "epoch" (decimal string)`);
  }
  return { offset: new Uint8Array(Buffer.from(v.offset, 'base64')), epoch: BigInt(v.epoch) };
}

export class OffsetsTopic {
  readonly topic: string;
  private partitionCount: number | undefined;

  constructor(private readonly options: OffsetsTopicOptions) {
    this.topic = options.topic;
  }

  /** Creates the topic (compacted) unless it exists, and learns its partition count. */
  async ensure(): Promise<void> {
    const { admin, topic } = this.options;
    await admin.createTopics([{ name: topic, partitions: this.options.partitions ?? 25, replicationFactor: this.options.replicationFactor, configs: { 'cleanup.policy': 'compact' } }]);
    const [described] = await admin.describeTopics([topic]);
    if (!described) throw new FailedPreconditionError(`offsets topic "${topic}" was created but cannot be described; check the broker`);
    this.partitionCount = described.partitions;
  }

  private partitionOf(key: Buffer): number {
    if (this.partitionCount === undefined) throw new FailedPreconditionError(`offsets topic "${this.topic}" not ensured; call ensure() first`);
    return keyPartition(key, this.partitionCount);
  }

  /** The record that commits `offset` of a stream partition, to send inside its transaction. */
  record(connector: string, partition: string, offset: Uint8Array, epoch: bigint): ProducerRecord {
    const key = offsetRecordKey(connector, partition);
    return { topic: this.topic, partition: this.partitionOf(key), key, value: encodeOffsetValue(offset, epoch) };
  }

  /** The latest committed offset of a stream partition in the topic (read_committed), if any. */
  async read(connector: string, partition: string, signal: AbortSignal): Promise<CommittedOffset | undefined> {
    const key = offsetRecordKey(connector, partition);
    const tp = { topic: this.topic, partition: this.partitionOf(key) };
    const range = (await this.options.admin.partitionOffsets(this.topic)).find((p) => p.partition === tp.partition);
    if (!range || range.latest <= range.earliest) return undefined;
    const timeoutMs = this.options.readTimeoutMs ?? 60_000;
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    let found: CommittedOffset | undefined;
    let position = range.earliest;
    for await (const batch of this.options.reader.read(tp, range.earliest, bounded, { yieldEmpty: true })) {
      for (const r of batch.records) {
        if (r.key === null || !r.key.equals(key)) continue;
        found = r.value === null ? undefined : decodeOffsetValue(r.value, `${tp.topic}-${tp.partition}@${r.offset}`);
      }
      position = batch.nextOffset;
      if (position >= range.latest) return found;
    }
    if (signal.aborted) throw new DeadlineExceededError(`reading offsets topic "${this.topic}" was cancelled`);
    // Under read_committed the reader stops at the last stable offset: a transaction left open
    // by a producer nobody fenced yet holds it back until the transaction times out.
    throw new DeadlineExceededError(
      `could not read offsets topic ${tp.topic}-${tp.partition} up to offset ${range.latest} within ${timeoutMs} ms (reached ${position}); an open transaction of another partition may hold it back until it times out; retrying`,
      { retriable: true },
    );
  }
}
