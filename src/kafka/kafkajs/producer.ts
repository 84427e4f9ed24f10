/**
 * RecordProducer on kafkajs 2.2.4. Lifecycle, ordering and fencing live in QueuedProducer; this
 * driver translates records and errors. One `sendBatch` per request, records grouped by topic.
 *
 * Partitions are chosen by our partitioner (the Java client's murmur2; round robin for null
 * keys), which also rejects explicit partitions beyond the topic's count: kafkajs itself
 * silently dropped such a record and reported success (measured).
 */
import type { IHeaders, Message, PartitionerArgs, Producer, TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';
import { InvalidArgumentError, type TributaryError } from '../../errors.js';
import type { CompiledConnection, CompiledProducerOptions } from '../config.js';
import { fromKafkajsError, RecordTooLargeError, type KafkaErrorContext } from '../errors.js';
import { keyPartition } from '../murmur2.js';
import { lookupMaxMessageBytes, oversizedTopics } from '../platformatic/topic-limits.js';
import { QueuedProducer, type DriverTransaction, type ProducerDriver } from '../producer-base.js';
import type { CompressionCodec, ProducerRecord, RecordProducer } from '../types.js';
import { createKafkajsClient, kafkajs } from './client.js';

const CODEC_TYPES = {
  none: kafkajs.CompressionTypes.None,
  gzip: kafkajs.CompressionTypes.GZIP,
  snappy: kafkajs.CompressionTypes.Snappy,
  lz4: kafkajs.CompressionTypes.LZ4,
  zstd: kafkajs.CompressionTypes.ZSTD,
} as const;

/** Codecs kafkajs can encode now: gzip is built in; the others only if a codec package was registered. */
export function kafkajsCodecs(): CompressionCodec[] {
  const codecs: CompressionCodec[] = ['none'];
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    try {
      kafkajs.CompressionCodecs[CODEC_TYPES[codec]]();
      codecs.push(codec);
    } catch {
      // Not registered: kafkajs throws KafkaJSNotImplemented.
    }
  }
  return codecs;
}

function toHeaders(headers: ProducerRecord['headers']): IHeaders | undefined {
  if (!headers || headers.length === 0) return undefined;
  // Repeated keys become arrays: kafkajs then writes them grouped by key (order across keys is
  // the object's key order).
  const out: IHeaders = {};
  for (const { key, value } of headers) {
    const prev = out[key];
    const v = value as Buffer;
    if (prev === undefined) out[key] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[key] = [prev, v];
  }
  return out;
}

class KafkajsProducerDriver implements ProducerDriver {
  readonly #conn: CompiledConnection;
  readonly #opts: CompiledProducerOptions;
  readonly #kafka: ReturnType<typeof createKafkajsClient>;
  readonly #roundRobin = new Map<string, number>();
  #producer: Producer | undefined;

  constructor(conn: CompiledConnection, opts: CompiledProducerOptions, logger?: Logger) {
    this.#conn = conn;
    this.#opts = opts;
    this.#kafka = createKafkajsClient(conn, logger);
  }

  async open(): Promise<void> {
    const producer = this.#kafka.producer({
      idempotent: this.#opts.idempotent,
      maxInFlightRequests: this.#opts.maxInFlight,
      allowAutoTopicCreation: false,
      createPartitioner: () => this.#partition,
      // Bounded (kafkajs would retry an idempotent producer forever); see CompiledConnection.retries.
      retry: { retries: this.#conn.retries, initialRetryTime: this.#conn.retryInitialMs, maxRetryTime: this.#conn.retryMaxMs },
      ...(this.#opts.transactionalId === undefined
        ? {}
        : { transactionalId: this.#opts.transactionalId, transactionTimeout: Math.max(60_000, this.#conn.requestTimeoutMs) }),
    });
    try {
      await producer.connect();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw fromKafkajsError(err, this.#context('start producer', []));
    }
    this.#producer = producer;
  }

  async close(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    await producer?.disconnect();
  }

  validate(records: ProducerRecord[]): void {
    for (const r of records) {
      if (r.partition !== undefined && (!Number.isInteger(r.partition) || r.partition < 0)) {
        throw new InvalidArgumentError(`record for topic "${r.topic}" has partition ${r.partition}; use a partition number >= 0`);
      }
      if (r.headers?.some((h) => h.value === null)) {
        throw new InvalidArgumentError(`record for topic "${r.topic}" has a header with a null value`, [
          { key: 'headers', message: 'kafkajs cannot encode a null header value; use an empty Buffer or the platformatic client' },
        ]);
      }
    }
  }

  async send(records: ProducerRecord[]): Promise<void> {
    try {
      await this.#client().sendBatch({
        topicMessages: this.#topicMessages(records),
        acks: this.#opts.acks,
        timeout: this.#conn.requestTimeoutMs,
        compression: CODEC_TYPES[this.#opts.compression],
      });
    } catch (err) {
      throw await this.#convert(err, records);
    }
  }

  async beginTransaction(): Promise<DriverTransaction> {
    let tx: Awaited<ReturnType<Producer['transaction']>>;
    try {
      tx = await this.#client().transaction();
    } catch (err) {
      throw fromKafkajsError(err, this.#context('begin transaction', []));
    }
    return {
      send: async (records) => {
        try {
          await tx.sendBatch({
            topicMessages: this.#topicMessages(records),
            acks: -1,
            timeout: this.#conn.requestTimeoutMs,
            compression: CODEC_TYPES[this.#opts.compression],
          });
        } catch (err) {
          throw await this.#convert(err, records);
        }
      },
      commit: async () => {
        try {
          await tx.commit();
        } catch (err) {
          throw fromKafkajsError(err, this.#context('commit transaction', []));
        }
      },
      abort: async () => {
        try {
          await tx.abort();
        } catch (err) {
          throw fromKafkajsError(err, this.#context('abort transaction', []));
        }
      },
    };
  }

  #client(): Producer {
    if (!this.#producer) throw new InvalidArgumentError('internal: kafkajs producer used before open()');
    return this.#producer;
  }

  /** Our partitioner, in the shape kafkajs calls for every message (explicit partition or not). */
  readonly #partition = ({ topic, partitionMetadata, message }: PartitionerArgs): number => {
    const count = partitionMetadata.length;
    if (message.partition !== undefined && message.partition !== null) {
      if (message.partition >= count) {
        throw new InvalidArgumentError(`topic "${topic}" has ${count} partitions; partition ${message.partition} does not exist`);
      }
      return message.partition;
    }
    if (Buffer.isBuffer(message.key)) return keyPartition(message.key, count);
    const next = this.#roundRobin.get(topic) ?? 0;
    this.#roundRobin.set(topic, (next + 1) & 0x7fffffff);
    return next % count;
  };

  #topicMessages(records: ProducerRecord[]): TopicMessages[] {
    const byTopic = new Map<string, Message[]>();
    for (const r of records) {
      let messages = byTopic.get(r.topic);
      if (!messages) byTopic.set(r.topic, (messages = []));
      const headers = toHeaders(r.headers);
      messages.push({
        key: r.key,
        value: r.value,
        ...(r.partition === undefined ? {} : { partition: r.partition }),
        ...(r.timestamp === undefined ? {} : { timestamp: String(r.timestamp) }),
        ...(headers ? { headers } : {}),
      });
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  async #convert(err: unknown, records: ProducerRecord[]): Promise<TributaryError> {
    const topics = [...new Set(records.map((r) => r.topic))];
    const ctx = this.#context('produce', topics);
    const converted = fromKafkajsError(err, ctx);
    if (converted instanceof RecordTooLargeError) {
      // The limit is read with the platformatic admin: one lookup helper for both adapters.
      const limits = await lookupMaxMessageBytes(this.#conn, topics);
      return fromKafkajsError(err, { ...ctx, topics: oversizedTopics(records, limits), maxMessageBytes: limits });
    }
    return converted;
  }

  #context(operation: string, topics: string[]): KafkaErrorContext {
    return { operation, topics, brokers: this.#conn.brokers, ...(this.#opts.transactionalId ? { transactionalId: this.#opts.transactionalId } : {}) };
  }
}

export function createKafkajsProducer(conn: CompiledConnection, opts: CompiledProducerOptions, logger?: Logger): RecordProducer {
  if (!kafkajsCodecs().includes(opts.compression)) {
    throw new InvalidArgumentError('unsupported producer option', [
      {
        key: 'compression',
        message: `kafkajs cannot encode ${opts.compression} without a codec package; use one of ${kafkajsCodecs().join(', ')} or the platformatic client`,
      },
    ]);
  }
  return new QueuedProducer(new KafkajsProducerDriver(conn, opts, logger), opts, conn.requestTimeoutMs, logger);
}
