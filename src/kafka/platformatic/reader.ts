/**
 * PartitionReader on @platformatic/kafka's `Consumer`, used WITHOUT a consumer group: it finds
 * the partition's leader in the metadata and sends Fetch requests itself, so no rebalance can
 * pause a sink (Kafka Connect's sinks get their partitions from Tributary, not from Kafka).
 *
 * Each `read()` has its own connection pool: a broker serves one request per connection at a
 * time, so long-polling reads of several partitions on one shared connection would queue behind
 * each other; and aborting a read closes its pool, which cuts a fetch in flight at once.
 *
 * Retries (leader changes, network) are ours, with capped exponential backoff and jitter, until
 * the read is aborted; the library's own retries are off (retries: 0).
 *
 * Fetch requests go through `fetch.ts`, not `Consumer.fetch`: the library's read_committed
 * filter crashes on some aborted-transaction shapes (see there); `decodeFetch` filters instead.
 */
import { ConnectionPool, Consumer, FetchIsolationLevels, type Broker } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, TributaryError, UnavailableError, isRetriable } from '../../errors.js';
import { backoffDelay } from '../../util/backoff.js';
import { sleep } from '../../util/iterate.js';
import type { CompiledConnection, CompiledReaderOptions } from '../config.js';
import { fromPlatformaticError, platformaticProtocolErrors } from '../errors.js';
import type { FetchedBatch, PartitionReadOptions, PartitionReader, TopicPartition } from '../types.js';
import { baseOptions, securityOptions } from './options.js';
import { fetchPartition, negotiateFetch, type FetchApi } from './fetch.js';
import { decodeFetch } from './records.js';

/** Errors that mean "the leader moved or our metadata is old": refresh it and fetch again. */
const STALE_METADATA = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'LEADER_NOT_AVAILABLE',
  'REPLICA_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'UNKNOWN_TOPIC_ID',
  'INCONSISTENT_TOPIC_ID',
  'KAFKA_STORAGE_ERROR',
  'OFFSET_NOT_AVAILABLE',
]);

const ABORTED = Symbol('aborted');

interface Leader {
  topicId: string;
  node: number;
  broker: Broker;
  epoch: number;
}

/** `promise`, or ABORTED as soon as `signal` aborts (the promise's later failure is ignored). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  promise.catch(() => undefined);
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function tpName(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

export class PlatformaticPartitionReader implements PartitionReader {
  readonly #conn: CompiledConnection;
  readonly #opts: CompiledReaderOptions;
  readonly #logger: Logger | undefined;
  readonly #reads = new Set<AbortController>();
  #consumer: Consumer | undefined;
  #fetchApi: FetchApi | undefined;
  #starting: Promise<void> | undefined;
  #stopped = false;

  constructor(conn: CompiledConnection, opts: CompiledReaderOptions, logger?: Logger) {
    this.#conn = conn;
    this.#opts = opts;
    this.#logger = logger;
  }

  /** Connects and reads the cluster metadata; rejects (UnavailableError, ...) when Kafka is unreachable. */
  start(): Promise<void> {
    if (this.#stopped) return Promise.reject(new FailedPreconditionError('partition reader was stopped; create a new one'));
    this.#starting ??= this.#start().catch((err: unknown) => {
      this.#starting = undefined;
      throw err;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    const consumer = new Consumer({
      ...baseOptions(this.#conn),
      // A fetch may legitimately wait maxWaitMs at the broker before answering.
      requestTimeout: Math.max(this.#conn.requestTimeoutMs, this.#opts.maxWaitMs + 5_000),
      retries: 0,
      // Required by the constructor; never used: this consumer joins no group.
      groupId: `${this.#conn.clientId}-partition-reader`,
    });
    try {
      await consumer.metadata({ topics: [] });
      this.#fetchApi = await negotiateFetch(consumer);
    } catch (err) {
      await consumer.close().catch(() => undefined);
      throw err instanceof TributaryError ? err : fromPlatformaticError(err, { operation: 'start partition reader', brokers: this.#conn.brokers });
    }
    this.#consumer = consumer;
  }

  read(tp: TopicPartition, offset: bigint, signal: AbortSignal, options: PartitionReadOptions = {}): AsyncIterable<FetchedBatch> {
    return { [Symbol.asyncIterator]: () => this.#read(tp, offset, signal, options) };
  }

  /** Ends every read (their iterators finish) and closes the connections. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const read of this.#reads) read.abort();
    await this.#starting?.catch(() => undefined);
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.close().catch((err: unknown) => this.#logger?.debug({ err }, 'closing the Kafka consumer failed'));
  }

  async *#read(tp: TopicPartition, startOffset: bigint, outer: AbortSignal, options: PartitionReadOptions): AsyncGenerator<FetchedBatch> {
    const consumer = this.#consumer;
    const fetchApi = this.#fetchApi;
    if (!consumer || !fetchApi || this.#stopped) {
      throw new FailedPreconditionError(this.#stopped ? 'partition reader was stopped' : 'partition reader not started; call start() first');
    }
    if (!Number.isInteger(tp.partition) || tp.partition < 0) {
      throw new InvalidArgumentError(`cannot read ${tpName(tp)}: partition must be an integer >= 0`);
    }
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    outer.addEventListener('abort', abort, { once: true });
    if (outer.aborted) abort();
    this.#reads.add(controller);
    const signal = controller.signal;
    const pool = new ConnectionPool(this.#conn.clientId, {
      connectTimeout: this.#conn.connectTimeoutMs,
      requestTimeout: Math.max(this.#conn.requestTimeoutMs, this.#opts.maxWaitMs + 5_000),
      maxInflights: 1,
      ...securityOptions(this.#conn.security),
    });
    const closePool = (): void => void pool.close().catch(() => undefined);
    signal.addEventListener('abort', closePool, { once: true });

    const readCommitted = this.#opts.isolationLevel === 'read_committed';
    let offset = startOffset;
    let leader: Leader | undefined;
    let refresh = false;
    let outOfRange = false;
    let failures = 0;
    try {
      while (!signal.aborted) {
        try {
          if (outOfRange) {
            const reset = await unlessAborted(this.#resetOffset(consumer, tp, offset), signal);
            if (reset === ABORTED) return;
            this.#logger?.info({ topic: tp.topic, partition: tp.partition, from: String(offset), to: String(reset) }, 'offset out of range; reset');
            offset = reset;
            outOfRange = false;
          }
          if (!leader) {
            const found = await unlessAborted(this.#findLeader(consumer, tp, refresh), signal);
            if (found === ABORTED) return;
            leader = found;
            refresh = false;
          }
          const maxBytes = Math.max(1, Math.min(this.#opts.maxBytes, Math.floor(options.fetchMaxBytes?.() ?? this.#opts.maxBytes)));
          const response = await unlessAborted(
            fetchPartition(fetchApi, pool, leader.broker, {
              topicId: leader.topicId,
              partition: tp.partition,
              currentLeaderEpoch: leader.epoch,
              fetchOffset: offset,
              maxBytes,
              maxWaitMs: this.#opts.maxWaitMs,
              isolationLevel: readCommitted ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED,
            }),
            signal,
          );
          if (response === ABORTED) return;
          failures = 0;
          const partition = response.responses[0]?.partitions.find((p) => p.partitionIndex === tp.partition);
          if (!partition) throw new UnavailableError(`the fetch answer for ${tpName(tp)} lacked the partition; retrying`);
          const decoded = decodeFetch(partition, offset, readCommitted);
          offset = decoded.nextOffset;
          if (decoded.records.length > 0 || options.yieldEmpty === true) {
            yield { topic: tp.topic, partition: tp.partition, records: decoded.records, highWatermark: partition.highWatermark, nextOffset: offset };
          }
        } catch (err) {
          if (signal.aborted) return;
          // Our own errors (from the metadata and offset lookups) are final as they are; only
          // raw library errors from the fetch are inspected for Kafka error codes.
          const kafkaErrors = err instanceof TributaryError ? [] : platformaticProtocolErrors(err);
          if (kafkaErrors.includes('OFFSET_OUT_OF_RANGE')) {
            outOfRange = true;
            // Reset at once; back off only if the reset offset is out of range again.
            if (failures++ === 0) continue;
          } else {
            const stale = kafkaErrors.some((e) => STALE_METADATA.has(e));
            const converted = fromPlatformaticError(err, { operation: `fetch ${tpName(tp)}`, topics: [tp.topic], brokers: this.#conn.brokers });
            if (!stale && !isRetriable(converted)) throw converted;
            // Any retriable failure may mean the leader moved: look it up again before the next fetch.
            leader = undefined;
            refresh = true;
            failures++;
          }
          const delay = backoffDelay(failures - 1, { initialMs: this.#opts.retryInitialMs, maxMs: this.#opts.retryMaxMs });
          const log = { topic: tp.topic, partition: tp.partition, failures, delayMs: delay, err: err instanceof Error ? err.message : String(err) };
          if (failures === 1) this.#logger?.warn(log, 'fetch failed; retrying');
          else this.#logger?.debug(log, 'fetch failed again; retrying');
          if (!(await sleep(delay, signal))) return;
        }
      }
    } finally {
      outer.removeEventListener('abort', abort);
      signal.removeEventListener('abort', closePool);
      this.#reads.delete(controller);
      await pool.close().catch(() => undefined);
    }
  }

  async #findLeader(consumer: Consumer, tp: TopicPartition, forceUpdate: boolean): Promise<Leader> {
    let metadata;
    try {
      metadata = await consumer.metadata({ topics: [tp.topic], forceUpdate });
    } catch (err) {
      throw fromPlatformaticError(err, { operation: `look up the leader of ${tpName(tp)}`, topics: [tp.topic], brokers: this.#conn.brokers });
    }
    const topic = metadata.topics.get(tp.topic);
    if (!topic) throw new NotFoundError(`topic "${tp.topic}" does not exist; create it or fix the sink's topics`);
    if (tp.partition >= topic.partitionsCount) {
      throw new NotFoundError(`topic "${tp.topic}" has ${topic.partitionsCount} partitions; partition ${tp.partition} does not exist`);
    }
    const partition = topic.partitions[tp.partition];
    if (!partition || partition.leader < 0) throw new UnavailableError(`${tpName(tp)} has no leader right now; retrying`);
    const broker = metadata.brokers.get(partition.leader);
    if (!broker) throw new UnavailableError(`the leader of ${tpName(tp)}, broker ${partition.leader}, is not in the cluster metadata yet; retrying`);
    return { topicId: topic.id, node: partition.leader, broker, epoch: partition.leaderEpoch };
  }

  async #listOffset(consumer: Consumer, tp: TopicPartition, timestamp: bigint): Promise<bigint> {
    try {
      const offsets = await consumer.listOffsets({
        topics: [tp.topic],
        partitions: { [tp.topic]: [tp.partition] },
        timestamp,
        isolationLevel: this.#opts.isolationLevel === 'read_committed' ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED,
      });
      const offset = offsets.get(tp.topic)?.[tp.partition];
      if (offset === undefined) throw new UnavailableError(`no offset listed for ${tpName(tp)}; retrying`);
      return offset;
    } catch (err) {
      throw fromPlatformaticError(err, { operation: `list offsets of ${tpName(tp)}`, topics: [tp.topic], brokers: this.#conn.brokers });
    }
  }

  async #resetOffset(consumer: Consumer, tp: TopicPartition, offset: bigint): Promise<bigint> {
    const reset = this.#opts.autoOffsetReset;
    if (reset === 'none') {
      // The range makes the message actionable; a failure to get it must not hide the real error.
      const range = await Promise.all([this.#listOffset(consumer, tp, -2n), this.#listOffset(consumer, tp, -1n)]).then(
        ([earliest, latest]) => ` (the log holds offsets ${earliest} to ${latest})`,
        () => '',
      );
      throw new FailedPreconditionError(
        `offset ${offset} of ${tpName(tp)} is out of range${range} and autoOffsetReset is 'none'; ` +
          `move the sink's offset for ${tpName(tp)} or set autoOffsetReset to earliest or latest`,
      );
    }
    return this.#listOffset(consumer, tp, reset === 'earliest' ? -2n : -1n);
  }
}
