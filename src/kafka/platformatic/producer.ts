/**
 * RecordProducer on @platformatic/kafka 1.35's `Producer`. Lifecycle, ordering and fencing live
 * in QueuedProducer; this driver translates records and errors.
 *
 * Partitions are chosen here, from the topic's metadata, for every record: the library would
 * silently wrap an out-of-range explicit partition (`partition % count`, measured: partition 5
 * of a 2-partition topic was written to partition 1), and its default partitioner is not the
 * Java client's. The metadata is the library's cached copy (refreshed every few seconds).
 */
import zlib from 'node:zlib';
import { Producer, type MessageToProduce } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { InvalidArgumentError, type TributaryError } from '../../errors.js';
import type { CompiledConnection, CompiledProducerOptions } from '../config.js';
import { fromPlatformaticError, platformaticProtocolErrors, type KafkaErrorContext } from '../errors.js';
import { keyPartition } from '../murmur2.js';
import { QueuedProducer, type DriverTransaction, type ProducerDriver } from '../producer-base.js';
import type { CompressionCodec, ProducerRecord, RecordProducer } from '../types.js';
import { baseOptions } from './options.js';
import { lookupMaxMessageBytes, oversizedTopics } from './topic-limits.js';

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;
type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;

/** Codecs this library encodes here: snappy/lz4 ship as WebAssembly; zstd needs Node's zlib zstd (Node >= 22.15). */
export function platformaticCodecs(): CompressionCodec[] {
  const codecs: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4'];
  if (typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function') codecs.push('zstd');
  return codecs;
}

class PlatformaticProducerDriver implements ProducerDriver {
  readonly #conn: CompiledConnection;
  readonly #opts: CompiledProducerOptions;
  readonly #roundRobin = new Map<string, number>();
  /** Header names as Buffers, shared by every record (bounded: names are few in practice). */
  readonly #headerKeys = new Map<string, Buffer>();
  #producer: Producer | undefined;

  constructor(conn: CompiledConnection, opts: CompiledProducerOptions) {
    this.#conn = conn;
    this.#opts = opts;
  }

  async open(): Promise<void> {
    const producer = new Producer({
      ...baseOptions(this.#conn),
      idempotent: this.#opts.idempotent,
      compression: this.#opts.compression,
      // The library forces 1 for an idempotent producer.
      maxInflights: this.#opts.maxInFlight,
      // "A new producer" in InitProducerId. The library's default (0, 0) claims to be producer 0,
      // so the broker answered PRODUCER_FENCED to any new instance of a transactionalId that had
      // been used before (measured): a restarted task could never take over its transactions.
      producerId: -1n,
      producerEpoch: -1,
      // The library sends `timeout` as the transaction timeout too: give transactions the Java
      // client's default of 60 s rather than the request timeout.
      ...(this.#opts.transactionalId === undefined
        ? {}
        : { transactionalId: this.#opts.transactionalId, timeout: Math.max(60_000, this.#conn.requestTimeoutMs) }),
    });
    try {
      // Proves the cluster is reachable now rather than at the first send.
      if (this.#opts.idempotent && this.#opts.transactionalId === undefined) await producer.initIdempotentProducer({});
      else await producer.metadata({ topics: [] });
    } catch (err) {
      await producer.close().catch(() => undefined);
      throw fromPlatformaticError(err, this.#context('start producer', []));
    }
    this.#producer = producer;
  }

  async close(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    await producer?.close();
  }

  validate(records: ProducerRecord[]): void {
    for (const r of records) {
      if (r.partition !== undefined && (!Number.isInteger(r.partition) || r.partition < 0)) {
        throw new InvalidArgumentError(`record for topic "${r.topic}" has partition ${r.partition}; use a partition number >= 0`);
      }
    }
  }

  async send(records: ProducerRecord[]): Promise<void> {
    const producer = this.#client();
    const messages = await this.#messages(producer, records);
    try {
      await producer.send({ messages, acks: this.#opts.acks });
    } catch (err) {
      throw await this.#convert(err, records);
    }
  }

  async beginTransaction(): Promise<DriverTransaction> {
    const producer = this.#client();
    let tx: Transaction;
    try {
      tx = await producer.beginTransaction();
    } catch (err) {
      throw fromPlatformaticError(err, this.#context('begin transaction', []));
    }
    // An empty transaction has no partitions at the coordinator, which answers EndTxn with
    // INVALID_TXN_STATE (measured); the Java client and kafkajs end it locally, and so do we.
    let touched = false;
    return {
      send: async (records) => {
        const messages = await this.#messages(producer, records);
        touched = true;
        try {
          await tx.send({ messages, acks: -1 });
        } catch (err) {
          throw await this.#convert(err, records);
        }
      },
      commit: async () => {
        if (!touched) return void (await tx.cancel());
        try {
          await tx.commit();
        } catch (err) {
          throw fromPlatformaticError(err, this.#context('commit transaction', []));
        }
      },
      abort: async () => {
        if (!touched) return void (await tx.cancel());
        try {
          await tx.abort();
        } catch (err) {
          // Forget it locally so the client is not stuck "in a transaction".
          await tx.cancel().catch(() => undefined);
          throw fromPlatformaticError(err, this.#context('abort transaction', []));
        }
      },
    };
  }

  #client(): Producer {
    if (!this.#producer) throw new InvalidArgumentError('internal: platformatic producer used before open()');
    return this.#producer;
  }

  async #messages(producer: Producer, records: ProducerRecord[]): Promise<Message[]> {
    const topics = [...new Set(records.map((r) => r.topic))];
    const counts = new Map<string, number>();
    try {
      // A fresh array: the library sorts the one it is given.
      const metadata = await producer.metadata({ topics: [...topics] });
      for (const topic of topics) counts.set(topic, metadata.topics.get(topic)?.partitionsCount ?? 0);
    } catch (err) {
      throw fromPlatformaticError(err, this.#context('produce', topics));
    }
    const messages: Message[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const count = counts.get(r.topic)!;
      let partition = r.partition;
      if (partition === undefined) {
        partition = r.key ? keyPartition(r.key, count) : this.#nextRoundRobin(r.topic, count);
      } else if (partition >= count) {
        throw new InvalidArgumentError(`topic "${r.topic}" has ${count} partitions; partition ${partition} does not exist`);
      }
      // One object shape for every message (no spreads): fewer allocations per record.
      messages[i] = {
        topic: r.topic,
        partition,
        key: r.key ?? undefined,
        // null must stay null (a tombstone); the library writes it as length -1.
        value: r.value as Buffer,
        timestamp: r.timestamp === undefined ? undefined : BigInt(r.timestamp),
        headers: r.headers && r.headers.length > 0 ? this.#headers(r.headers) : undefined,
      };
    }
    return messages;
  }

  /**
   * The library takes headers as a Map; distinct Buffer keys keep repeated header names apart,
   * in order. The first use of a name in a record takes its cached Buffer (the library only
   * reads it), a repeat a fresh one.
   */
  #headers(headers: NonNullable<ProducerRecord['headers']>): Map<Buffer, Buffer> {
    const map = new Map<Buffer, Buffer>();
    for (const h of headers) {
      let key = this.#headerKeys.get(h.key);
      if (key === undefined) {
        key = Buffer.from(h.key);
        if (this.#headerKeys.size < 1_024) this.#headerKeys.set(h.key, key);
      }
      if (map.has(key)) key = Buffer.from(h.key);
      map.set(key, h.value as Buffer);
    }
    return map;
  }

  #nextRoundRobin(topic: string, count: number): number {
    const next = this.#roundRobin.get(topic) ?? 0;
    this.#roundRobin.set(topic, (next + 1) & 0x7fffffff);
    return next % count;
  }

  async #convert(err: unknown, records: ProducerRecord[]): Promise<TributaryError> {
    const topics = [...new Set(records.map((r) => r.topic))];
    const ctx = this.#context('produce', topics);
    if (platformaticProtocolErrors(err).some((t) => t === 'MESSAGE_TOO_LARGE' || t === 'RECORD_LIST_TOO_LARGE')) {
      const limits = await lookupMaxMessageBytes(this.#conn, topics);
      return fromPlatformaticError(err, { ...ctx, topics: oversizedTopics(records, limits), maxMessageBytes: limits });
    }
    return fromPlatformaticError(err, ctx);
  }

  #context(operation: string, topics: string[]): KafkaErrorContext {
    return { operation, topics, brokers: this.#conn.brokers, ...(this.#opts.transactionalId ? { transactionalId: this.#opts.transactionalId } : {}) };
  }
}

export function createPlatformaticProducer(conn: CompiledConnection, opts: CompiledProducerOptions, logger?: Logger): RecordProducer {
  if (!platformaticCodecs().includes(opts.compression)) {
    throw new InvalidArgumentError('unsupported producer option', [
      {
        key: 'compression',
        message: `the platformatic client cannot encode ${opts.compression} on Node ${process.versions.node}; use one of ${platformaticCodecs().join(', ')}`,
      },
    ]);
  }
  return new QueuedProducer(new PlatformaticProducerDriver(conn, opts), opts, conn.requestTimeoutMs, logger);
}
