/**
 * The record-processing hook between plugins and Kafka. Converters, transforms and error
 * handling (dead-letter topics) plug in here; the default moves bytes as they are. A processor
 * may drop records (a filter): offsets still advance over the whole plugin batch, because the
 * batch's position in the source was consumed.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Record as PluginRecord, RecordSchema } from '../gen/tributary/connector/v1/connector_pb.js';
import type { FetchedBatch, ProducerRecord } from '../kafka/index.js';
import { InvalidArgumentError } from '../errors.js';

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
  /** Plugin records → Kafka records. Throws for a record that cannot be produced. */
  toKafka(records: readonly PluginRecord[], context: SourceContext): ProducerRecord[];
  /** Fetched Kafka records → plugin records (with `kafkaOffset` set). */
  fromKafka(batch: FetchedBatch, context: SinkContext): Array<MessageInitShape<typeof RecordSchema>>;
}

/** A Buffer over the same bytes; in-process plugins often hand Buffers already (no new view then). */
function bufferOf(bytes: Uint8Array | undefined): Buffer | null {
  if (bytes === undefined) return null;
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Moves key, value, headers and timestamp unchanged. */
export const passThroughProcessor: RecordProcessor = {
  toKafka(records, context) {
    const out: ProducerRecord[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const topic = r.topic ?? context.defaultTopic;
      if (!topic) {
        throw new InvalidArgumentError(
          `connector "${context.connector}" partition "${context.partition}": a record names no topic and the connector has no \`topic\` setting`,
          [{ key: 'topic', message: 'set it, or have the plugin name a topic on each record' }],
        );
      }
      out[i] = {
        topic,
        partition: r.kafkaPartition,
        key: bufferOf(r.key),
        value: bufferOf(r.value),
        headers: r.headers.length === 0 ? undefined : r.headers.map((h) => ({ key: h.key, value: bufferOf(h.value) })),
        timestamp: r.timestampMs === undefined ? undefined : Number(r.timestampMs),
      };
    }
    return out;
  },
  fromKafka(batch) {
    return batch.records.map((r) => ({
      key: r.key ?? undefined,
      value: r.value ?? undefined,
      headers: r.headers.map((h) => ({ key: h.key, value: h.value ?? undefined })),
      timestampMs: r.timestamp,
      topic: batch.topic,
      kafkaPartition: batch.partition,
      kafkaOffset: r.offset,
      offset: Buffer.from(r.offset.toString()),
    }));
  },
};
