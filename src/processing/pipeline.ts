/**
 * The record-processing stage between plugins and Kafka, one call per batch:
 *
 *   source: plugin records (bytes or structured) → transforms → converters → Kafka records
 *   sink:   Kafka records → converters → structured → transforms → plugin records
 *
 * Every record that fails goes through the one ErrorHandler (retry, tolerance, DLQ). A record a
 * transform drops (a filter) is handled: it still advances the offset. A dead-lettered source
 * record travels in the same produce call as the batch, so its offset advances only once Kafka
 * acknowledged the DLQ write; a sink's dead letters are written (and acknowledged) before the
 * batch is handed to the plugin.
 *
 * Pass-through (no transforms; string/bytes converters; plugin bytes): records are copied
 * field by field as before, synchronously, with no structured form built.
 */
import { Buffer } from 'node:buffer';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Logger } from 'pino';
import type { Record as PluginRecord, RecordSchema } from '../gen/tributary/connector/v1/connector_pb.js';
import type { FetchedBatch, FetchedRecord, ProducerRecord, RecordHeader } from '../kafka/index.js';
import { InvalidArgumentError } from '../errors.js';
import { Schemas, type Schema, type Value } from './data.js';
import { JsonConverter, javaToString } from './converters.js';
import { ErrorHandler, type Origin, type Stage } from './errors.js';
import { SchemaLookupPending } from './schema-registry.js';
import { schemaFromProto, schemaToProto, valueFromProto, valueToProto } from './proto.js';
import type { ConnectHeader, ConnectRecord } from './record.js';
import type { ProcessingSettings } from './config.js';

export type PluginRecordInit = MessageInitShape<typeof RecordSchema>;

export interface SourceContext {
  connector: string;
  partition: string;
  /** The connector's `topic` setting, used for records that name no topic. */
  defaultTopic: string | undefined;
}

export interface SinkContext {
  connector: string;
  partition: string;
}

export interface RecordProcessor {
  /** Plugin records → Kafka records (dead letters included). Throws ToleranceExceededError to fail the partition. */
  toKafka(records: readonly PluginRecord[], context: SourceContext): ProducerRecord[] | Promise<ProducerRecord[]>;
  /** Fetched Kafka records → plugin records (with `kafkaOffset` set); dropped and dead-lettered records are left out. */
  fromKafka(batch: FetchedBatch, context: SinkContext): PluginRecordInit[] | Promise<PluginRecordInit[]>;
}

/** A Buffer over the same bytes; in-process plugins often hand Buffers already (no new view then). */
function bufferOf(bytes: Uint8Array | undefined | null): Buffer | null {
  if (bytes === undefined || bytes === null) return null;
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function noTopic(context: SourceContext): InvalidArgumentError {
  return new InvalidArgumentError(
    `connector "${context.connector}" partition "${context.partition}": a record names no topic and the connector has no \`topic\` setting`,
    [{ key: 'topic', message: 'set it, or have the plugin name a topic on each record' }],
  );
}

function passRecord(r: PluginRecord, topic: string): ProducerRecord {
  return {
    topic,
    partition: r.kafkaPartition,
    key: bufferOf(r.key),
    value: bufferOf(r.value),
    headers: r.headers.length === 0 ? undefined : r.headers.map((h) => ({ key: h.key, value: bufferOf(h.value) })),
    timestamp: r.timestampMs === undefined ? undefined : Number(r.timestampMs),
  };
}

function passFetched(r: FetchedRecord, batch: FetchedBatch): PluginRecordInit {
  return {
    key: r.key ?? undefined,
    value: r.value ?? undefined,
    headers: r.headers.map((h) => ({ key: h.key, value: h.value ?? undefined })),
    timestampMs: r.timestamp,
    topic: batch.topic,
    kafkaPartition: batch.partition,
    kafkaOffset: r.offset,
    offset: Buffer.from(r.offset.toString()),
  };
}

/** Moves key, value, headers and timestamp unchanged (no processing configured). */
export const passThroughProcessor: RecordProcessor = {
  toKafka(records, context) {
    const out: ProducerRecord[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const topic = r.topic ?? context.defaultTopic;
      if (!topic) throw noTopic(context);
      out[i] = passRecord(r, topic);
    }
    return out;
  },
  fromKafka(batch) {
    return batch.records.map((r) => passFetched(r, batch));
  },
};

export interface PipelineOptions {
  settings: ProcessingSettings;
  logger: Logger;
  /**
   * How a plugin's raw bytes are read when a transform or a structure-making converter needs
   * them: `bytes` (Connect BYTES, the default) or `string` (UTF-8 text with a STRING schema, as
   * Kafka Connect's FileStreamSource hands its lines).
   */
  pluginBytesAs?: 'bytes' | 'string';
  /** Writes a sink's dead letters and resolves once Kafka acknowledged them. */
  writeDeadLetters?: (records: ProducerRecord[]) => Promise<void>;
  signal?: AbortSignal;
  /** Told once per batch how many records were filtered, dead-lettered, or skipped (a tolerated error without a dead-letter topic). */
  counts?: (counts: { filtered: number; deadLettered: number; skipped: number }) => void;
}

interface Step {
  stage: Stage;
  className: string;
}

/** The configured pipeline of one connector. */
export class ProcessingPipeline implements RecordProcessor {
  private readonly settings: ProcessingSettings;
  private readonly errors: ErrorHandler;
  private readonly passThrough: boolean;
  private readonly bytesSchema: Schema;
  private readonly asString: boolean;
  private readonly envelope = new JsonConverter();

  constructor(private readonly options: PipelineOptions) {
    this.settings = options.settings;
    this.errors = new ErrorHandler(options.settings.errors, options.logger);
    this.passThrough = this.settings.chain.length === 0 && this.settings.keyConverter.passesBytes && this.settings.valueConverter.passesBytes && this.settings.headerConverter.className !== 'org.apache.kafka.connect.json.JsonConverter';
    this.asString = options.pluginBytesAs === 'string';
    this.bytesSchema = this.asString ? Schemas.string : Schemas.optionalBytes;
  }

  // ------------------------------------------------------------------------------------------
  // Source side

  toKafka(records: readonly PluginRecord[], context: SourceContext): ProducerRecord[] | Promise<ProducerRecord[]> {
    if (this.passThrough && !records.some((r) => r.structuredKey !== undefined || r.structuredValue !== undefined)) {
      return passThroughProcessor.toKafka(records, context);
    }
    return this.toKafkaSlow(records, context);
  }

  private async toKafkaSlow(records: readonly PluginRecord[], context: SourceContext): Promise<ProducerRecord[]> {
    const out: ProducerRecord[] = [];
    const counts = { filtered: 0, deadLettered: 0, skipped: 0 };
    for (const r of records) {
      const step: Step = { stage: 'TASK_POLL', className: 'plugin' };
      let result: ProducerRecord | null;
      try {
        result = this.sourceRecord(r, context, step);
      } catch (thrown) {
        const op = () => this.sourceRecord(r, context, step);
        const attempt = thrown instanceof SchemaLookupPending ? await settle(withLookups(op, thrown)) : { ok: false as const, error: thrown };
        const retried = attempt.ok || !this.errors.shouldRetry(attempt.error) ? attempt : await this.errors.retry(() => withLookups(op), attempt.error, this.options.signal);
        if (retried.ok) result = retried.value;
        else {
          const origin: Origin = { connector: context.connector, partition: context.partition, topic: r.topic ?? context.defaultTopic, kafkaPartition: undefined, offset: Buffer.from(r.offset).toString() };
          const headers = this.errors.tolerate({ stage: step.stage, className: step.className, error: retried.error }, origin, () => this.describePluginRecord(r));
          if (headers) out.push(this.errors.deadLetter(...this.sourceOriginalBytes(r), r.headers.map((h) => ({ key: h.key, value: bufferOf(h.value) })), headers));
          counts[headers ? 'deadLettered' : 'skipped']++;
          continue;
        }
      }
      if (result) out.push(result);
      else counts.filtered++;
    }
    this.options.counts?.(counts);
    return out;
  }

  private sourceRecord(r: PluginRecord, context: SourceContext, step: Step): ProducerRecord | null {
    step.stage = 'TASK_POLL';
    step.className = 'plugin';
    const topic = r.topic ?? context.defaultTopic;
    if (!topic) throw noTopic(context);
    const keySchema = r.keySchema ? schemaFromProto(r.keySchema) : r.key !== undefined ? this.bytesSchema : null;
    const valueSchema = r.valueSchema ? schemaFromProto(r.valueSchema) : r.value !== undefined ? this.bytesSchema : null;
    let record: ConnectRecord | null = {
      topic,
      kafkaPartition: r.kafkaPartition,
      keySchema: r.structuredKey !== undefined ? (r.keySchema ? keySchema : null) : keySchema,
      key: r.structuredKey !== undefined ? valueFromProto(r.structuredKey, r.keySchema ? keySchema : null) : this.pluginBytes(r.key),
      valueSchema: r.structuredValue !== undefined ? (r.valueSchema ? valueSchema : null) : valueSchema,
      value: r.structuredValue !== undefined ? valueFromProto(r.structuredValue, r.valueSchema ? valueSchema : null) : this.pluginBytes(r.value),
      timestamp: r.timestampMs === undefined ? undefined : Number(r.timestampMs),
      headers: r.headers.map((h): ConnectHeader => ({ key: h.key, schema: null, value: h.value ?? null })),
    };
    record = this.transform(record, step);
    if (record === null) return null;
    const { keyConverter, valueConverter, headerConverter } = this.settings;
    step.stage = 'KEY_CONVERTER';
    step.className = keyConverter.className;
    const rawKey = this.rawIfText(record.keySchema, record.key, keyConverter.passesBytes);
    const key = keyConverter.fromConnect(record.topic, rawKey ? Schemas.optionalBytes : record.keySchema, rawKey ?? record.key);
    step.stage = 'VALUE_CONVERTER';
    step.className = valueConverter.className;
    const rawValue = this.rawIfText(record.valueSchema, record.value, valueConverter.passesBytes);
    const value = valueConverter.fromConnect(record.topic, rawValue ? Schemas.optionalBytes : record.valueSchema, rawValue ?? record.value);
    step.stage = 'HEADER_CONVERTER';
    step.className = headerConverter.className;
    const headers: RecordHeader[] | undefined = record.headers.length === 0 ? undefined : record.headers.map((h) => ({ key: h.key, value: bufferOf(h.schema === null && h.value instanceof Uint8Array ? h.value : headerConverter.fromConnectHeader(record.topic, h.key, h.schema, h.value)) }));
    return { topic: record.topic, partition: record.kafkaPartition, key: bufferOf(key), value: bufferOf(value), headers, timestamp: record.timestamp };
  }

  private pluginBytes(bytes: Uint8Array | undefined): Value {
    if (bytes === undefined) return null;
    return this.asString ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : bytes;
  }

  /** Text read from plugin bytes goes back as those bytes through a string/bytes converter. */
  private rawIfText(s: Schema | null, v: Value, passes: boolean): Buffer | undefined {
    if (passes && this.asString && s === this.bytesSchema && typeof v === 'string') return Buffer.from(v, 'utf8');
    return undefined;
  }

  private transform(record: ConnectRecord, step: Step): ConnectRecord | null {
    let r: ConnectRecord | null = record;
    step.stage = 'TRANSFORMATION';
    for (const t of this.settings.chain) {
      step.className = t.className;
      if (t.predicate && t.predicate.test(r) === t.negate) continue;
      r = t.transform.apply(r);
      if (r === null) return null;
    }
    return r;
  }

  private sourceOriginalBytes(r: PluginRecord): [Buffer | null, Buffer | null] {
    const encode = (bytes: Uint8Array | undefined, data: PluginRecord['structuredKey'], schema: PluginRecord['keySchema']): Buffer | null => {
      if (bytes !== undefined) return bufferOf(bytes);
      if (data === undefined) return null;
      try {
        const s = schema ? schemaFromProto(schema) : null;
        return bufferOf(this.envelope.fromConnect('', s, valueFromProto(data, s)));
      } catch {
        return null;
      }
    };
    return [encode(r.key, r.structuredKey, r.keySchema), encode(r.value, r.structuredValue, r.valueSchema)];
  }

  private describePluginRecord(r: PluginRecord): string {
    const [k, v] = this.sourceOriginalBytes(r);
    return `key=${k === null ? 'null' : k.toString('utf8', 0, 1024)} value=${v === null ? 'null' : v.toString('utf8', 0, 1024)}`;
  }

  // ------------------------------------------------------------------------------------------
  // Sink side

  fromKafka(batch: FetchedBatch, context: SinkContext): PluginRecordInit[] | Promise<PluginRecordInit[]> {
    if (this.passThrough) return passThroughProcessor.fromKafka(batch, context);
    return this.fromKafkaSlow(batch, context);
  }

  private async fromKafkaSlow(batch: FetchedBatch, context: SinkContext): Promise<PluginRecordInit[]> {
    const out: PluginRecordInit[] = [];
    const dead: ProducerRecord[] = [];
    const counts = { filtered: 0, deadLettered: 0, skipped: 0 };
    for (const r of batch.records) {
      const step: Step = { stage: 'KAFKA_CONSUME', className: 'kafka' };
      let result: PluginRecordInit | null;
      try {
        result = this.sinkRecord(r, batch, step);
      } catch (thrown) {
        const op = () => this.sinkRecord(r, batch, step);
        const attempt = thrown instanceof SchemaLookupPending ? await settle(withLookups(op, thrown)) : { ok: false as const, error: thrown };
        const retried = attempt.ok || !this.errors.shouldRetry(attempt.error) ? attempt : await this.errors.retry(() => withLookups(op), attempt.error, this.options.signal);
        if (retried.ok) result = retried.value;
        else {
          const origin: Origin = { connector: context.connector, partition: context.partition, topic: batch.topic, kafkaPartition: batch.partition, offset: r.offset.toString() };
          const headers = this.errors.tolerate({ stage: step.stage, className: step.className, error: retried.error }, origin, () => `key=${r.key?.toString('utf8', 0, 1024) ?? 'null'} value=${r.value?.toString('utf8', 0, 1024) ?? 'null'}`);
          if (headers) dead.push(this.errors.deadLetter(r.key, r.value, r.headers, headers));
          else counts.skipped++;
          continue;
        }
      }
      if (result) out.push(result);
      else counts.filtered++;
    }
    counts.deadLettered = dead.length;
    if (dead.length > 0) {
      if (!this.options.writeDeadLetters) throw new InvalidArgumentError(`connector "${context.connector}": a dead-letter topic is configured but no producer was given for it`);
      await this.options.writeDeadLetters(dead);
    }
    this.options.counts?.(counts);
    return out;
  }

  private sinkRecord(r: FetchedRecord, batch: FetchedBatch, step: Step): PluginRecordInit | null {
    const { keyConverter, valueConverter, headerConverter } = this.settings;
    step.stage = 'KEY_CONVERTER';
    step.className = keyConverter.className;
    const key = keyConverter.toConnect(batch.topic, r.key);
    step.stage = 'VALUE_CONVERTER';
    step.className = valueConverter.className;
    const value = valueConverter.toConnect(batch.topic, r.value);
    const record = this.transform(
      {
        topic: batch.topic,
        kafkaPartition: batch.partition,
        keySchema: key.schema,
        key: key.value,
        valueSchema: value.schema,
        value: value.value,
        timestamp: Number(r.timestamp),
        headers: r.headers.map((h): ConnectHeader => ({ key: h.key, schema: null, value: h.value })),
        kafkaOffset: r.offset,
      },
      step,
    );
    if (record === null) return null;
    step.stage = 'HEADER_CONVERTER';
    step.className = headerConverter.className;
    const headers = record.headers.map((h) => ({ key: h.key, value: (h.schema === null && h.value instanceof Uint8Array ? h.value : headerConverter.fromConnectHeader(record.topic, h.key, h.schema, h.value)) ?? undefined }));
    const out: PluginRecordInit = {
      headers,
      timestampMs: record.timestamp === undefined ? r.timestamp : BigInt(record.timestamp),
      topic: record.topic,
      kafkaPartition: record.kafkaPartition ?? batch.partition,
      kafkaOffset: r.offset,
      offset: Buffer.from(r.offset.toString()),
    };
    step.stage = 'KEY_CONVERTER';
    step.className = keyConverter.className;
    if (keyConverter.structured) {
      if (record.key !== null || record.keySchema !== null) out.structuredKey = valueToProto(record.key, record.keySchema);
      if (record.keySchema) out.keySchema = schemaToProto(record.keySchema);
    } else {
      out.key = keyConverter.fromConnect(record.topic, record.keySchema, record.key) ?? undefined;
    }
    step.stage = 'VALUE_CONVERTER';
    step.className = valueConverter.className;
    if (valueConverter.structured) {
      if (record.value !== null) out.structuredValue = valueToProto(record.value, record.valueSchema);
      if (record.valueSchema) out.valueSchema = schemaToProto(record.valueSchema);
    } else {
      out.value = valueConverter.fromConnect(record.topic, record.valueSchema, record.value) ?? undefined;
    }
    return out;
  }
}

/**
 * Runs a record's conversion; when a schema-registry converter throws SchemaLookupPending,
 * awaits the lookup and converts again (a record may need a key and a value schema: a few
 * rounds). A failed lookup's own error is thrown.
 */
async function withLookups<T>(op: () => T, pending?: SchemaLookupPending): Promise<T> {
  let wait = pending;
  for (let round = 0; ; round++) {
    if (wait) await wait.ready;
    try {
      return op();
    } catch (err) {
      if (!(err instanceof SchemaLookupPending) || round >= 8) throw err;
      wait = err;
    }
  }
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Text of a value for logs (errors.log.include.messages). */
export function describeValue(v: Value, s: Schema | null): string {
  return javaToString(v, s);
}
