/**
 * Tributary's own Kafka interfaces. Nothing outside src/kafka/ imports a Kafka library: the
 * worker sees these interfaces, and each has one or two adapters behind it (kafkajs,
 * @platformatic/kafka). Every method converts library errors into Tributary errors with
 * `retriable` set correctly (see ../errors.ts), so callers back off only on what may heal.
 *
 * Offsets are `bigint` (Kafka offsets are int64). A committed group offset follows Kafka's
 * convention: the offset of the NEXT record to read.
 */

import type { SecurityInput } from './security.js';

export type ProducerClient = 'kafkajs' | 'platformatic';
export type CompressionCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface KafkaConnectionConfig {
  /** host:port list. */
  brokers: string[];
  clientId: string;
  /** Upper bound for any single request, so an unreachable broker fails instead of hanging. */
  requestTimeoutMs?: number;
  /** Upper bound for connecting to a broker. */
  connectTimeoutMs?: number;
  /**
   * TLS and SASL with the Kafka client's property names (`security.protocol`, `sasl.*`, `ssl.*`;
   * docs/security-kafka.md). Absent: PLAINTEXT. Checked by the factories (InvalidArgumentError
   * naming each key as `keyName` spells it).
   */
  security?: SecurityInput;
}

/**
 * Kafka allows repeated header keys; order is kept. A null `value` is supported by the
 * platformatic adapter only (kafkajs 2.2.4 cannot encode it: the kafkajs adapter rejects such a
 * send with an InvalidArgumentError instead of failing inside the library).
 */
export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface ProducerRecord {
  topic: string;
  /**
   * Absent: chosen from the key by the default partitioner (murmur2, as the Java client; round
   * robin for a null key). Present: must exist, else the send rejects with InvalidArgumentError
   * (both libraries would silently misroute or drop the record).
   */
  partition?: number;
  key: Buffer | null;
  /** null is a tombstone. */
  value: Buffer | null;
  headers?: RecordHeader[];
  /** ms since epoch; absent: now. */
  timestamp?: number;
}

export interface ProducerOptions {
  client: ProducerClient;
  /** Default true: idempotent, acks=all. */
  idempotent?: boolean;
  /** -1 (all), 1 or 0. Forced to -1 when idempotent. */
  acks?: -1 | 0 | 1;
  /**
   * Default 'none'. What each adapter can encode without extra codecs: kafkajs none/gzip;
   * platformatic none/gzip/snappy/lz4 (zstd needs Node >= 22). Anything else makes the factory
   * throw an InvalidArgumentError naming `compression`.
   */
  compression?: CompressionCodec;
  /**
   * Set for a transactional producer (exactly-once). Such a producer writes only inside
   * `beginTransaction()`; its plain `send` rejects with a FailedPreconditionError.
   */
  transactionalId?: string;
  /**
   * Max concurrent produce requests per broker connection (1..5 with idempotence; default 5).
   * Passed to the library; Tributary's adapters still dispatch one coalesced request at a time
   * per producer, because neither library keeps sequence numbers (and so order) right across
   * concurrent idempotent requests (see send-queue.ts).
   */
  maxInFlight?: number;
}

export interface RecordProducer {
  start(): Promise<void>;
  /**
   * Produces `records` and resolves once Kafka acknowledged every one of them (per `acks`).
   * Records for the same partition keep their order, across concurrent `send` calls too.
   * Rejects with a TributaryError; when it rejects, any subset of the batch may have been written.
   * After a retriable failure the sends queued behind it reject too (unsent), so a caller that
   * retries them in order cannot reorder a partition. After a non-retriable one (Kafka rejected a
   * record) only this send and the queued sends of the same `lane` reject; other callers' sends,
   * even ones coalesced into the same request, are sent again on their own.
   */
  send(records: ProducerRecord[], options?: SendOptions): Promise<void>;
  /**
   * Starts a transaction (only with `transactionalId`; one at a time). Once another producer
   * with the same transactionalId fenced this one, every call rejects with a
   * FailedPreconditionError: stop this producer.
   */
  beginTransaction(): Promise<ProducerTransaction>;
  /**
   * Kafka's initTransactions (only with `transactionalId`): registers this instance with the
   * transaction coordinator (InitProducerId), which bumps the id's epoch — every older producer
   * with the same transactionalId is fenced from then on (its next send or commit fails with a
   * ProducerFencedError) — and completes or aborts whatever transaction the id left open, so
   * read_committed readers see its outcome once this resolves. Idempotent per instance.
   */
  initTransactions(): Promise<void>;
  /** Flushes what is in flight, then closes. Idempotent. */
  stop(): Promise<void>;
  /**
   * Drops, unsent, the queued sends of `lane` (they reject with a CancelledError); returns how
   * many records were dropped. A request already in flight cannot be recalled. For a partition
   * that was stopped without draining: its next owner may be producing already.
   */
  abandon(lane: string, reason: string): number;
  /**
   * Closes at once (fencing): queued sends reject unsent, a request being retried is not sent
   * again, and the client is closed without waiting. Returns how many records were dropped.
   * After it no produce request leaves this producer. Idempotent.
   */
  abort(reason: string): Promise<number>;
}

export interface SendOptions {
  /** Sends of one lane (e.g. one stream partition) share their fate after a non-retriable failure. */
  lane?: string;
}

export interface ProducerTransaction {
  send(records: ProducerRecord[]): Promise<void>;
  /** Waits for this transaction's sends; fails (FailedPrecondition) if one of them failed: abort then. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: bigint;
}

export interface FetchedRecord {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  timestamp: bigint;
}

export interface FetchedBatch {
  topic: string;
  partition: number;
  records: FetchedRecord[];
  /** The partition's high watermark at the time of the fetch (for lag). */
  highWatermark: bigint;
  /** Where the next fetch starts: past this batch, including markers and aborted records it skipped. */
  nextOffset: bigint;
}

export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export interface PartitionReaderOptions {
  /** Upper bound of bytes per fetch response. */
  maxBytes?: number;
  /** How long the broker may wait for data before answering an empty fetch. */
  maxWaitMs?: number;
  isolationLevel?: 'read_uncommitted' | 'read_committed';
  /** What to do when the requested offset is out of range (e.g. deleted segments). */
  autoOffsetReset?: AutoOffsetReset;
}

export interface PartitionReadOptions {
  /**
   * Asked before each fetch: the most bytes it may return (at most the reader's `maxBytes`).
   * The iterator is lazy (a fetch starts when the next batch is asked for), so a caller can take
   * that many bytes from a budget first. Kafka still returns one whole record batch when the
   * first one is larger (KIP-74).
   */
  fetchMaxBytes?: () => number;
  /**
   * Also yield fetches that returned no record (only markers or aborted records, or nothing), so
   * a caller reading up to a known offset sees `nextOffset` reach it. Default false.
   */
  yieldEmpty?: boolean;
}

/**
 * Reads assigned topic-partitions from given offsets WITHOUT consumer-group membership: no Kafka
 * rebalance can pause it. Follows leader changes; an out-of-range offset is reset per
 * `autoOffsetReset` ('none' fails with an error naming the partition).
 */
export interface PartitionReader {
  start(): Promise<void>;
  /**
   * Streams batches of `tp` starting at `offset` until `signal` aborts (then the iterator just
   * ends, without waiting for a fetch in flight). Empty fetches are not yielded. Retriable
   * failures (network, leader changes) are retried with backoff until aborted; the iterator
   * throws only non-retriable errors (unknown topic/partition, out of range with
   * autoOffsetReset 'none', ...). Under read_committed, aborted records and transaction markers
   * are never yielded; offsets of a batch may therefore have gaps.
   */
  read(tp: TopicPartition, offset: bigint, signal: AbortSignal, options?: PartitionReadOptions): AsyncIterable<FetchedBatch>;
  stop(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface TopicDescription {
  name: string;
  partitions: number;
}

export interface TopicAdmin {
  start(): Promise<void>;
  /** Creates the topics that do not exist yet; existing topics are left as they are. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  deleteTopics(names: string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Partition counts of existing topics; unknown names are omitted. */
  describeTopics(names: string[]): Promise<TopicDescription[]>;
  /** Earliest and latest (high watermark) offsets of each partition of `topic`. */
  partitionOffsets(topic: string): Promise<Array<{ partition: number; earliest: bigint; latest: bigint }>>;
  /**
   * Deletes the records of `tp` below `offset` (Kafka DeleteRecords): moves the log start offset
   * to `offset`, which is returned. `offset` may not exceed the high watermark.
   */
  deleteRecordsBefore(tp: TopicPartition, offset: bigint): Promise<bigint>;
  /**
   * What exactly-once needs of the cluster (KIP-618's preflight): whether every broker answers the
   * transaction APIs, and whether an authorizer is configured (DescribeAcls answers
   * SECURITY_DISABLED when none is).
   */
  transactionSupport(): Promise<TransactionSupport>;
  stop(): Promise<void>;
}

export interface TransactionSupport {
  /** Transaction APIs (InitProducerId, AddPartitionsToTxn, EndTxn) the brokers do not offer; empty when supported. */
  missingApis: string[];
  /** 'none': no authorizer, any principal may use any transactional id; 'enabled': ACLs are enforced. */
  authorizer: 'none' | 'enabled';
}

/**
 * Standalone consumer-group offsets (no member, no generation), so `kafka-consumer-groups
 * --describe` shows a sink's lag as it does for Kafka Connect's `connect-<connector>` groups.
 */
export interface GroupOffsetStore {
  start(): Promise<void>;
  commit(groupId: string, offsets: TopicPartitionOffset[]): Promise<void>;
  /** Committed offsets of the group for the given topics (partitions without one are omitted). */
  fetch(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]>;
  stop(): Promise<void>;
}
