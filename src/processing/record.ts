/**
 * ConnectRecord: one record in the structured form, between converters and transforms (Kafka
 * Connect's ConnectRecord). Transforms return new records (they never mutate their input), so a
 * retry can run the chain again on the same record.
 */
import type { Schema, Value } from './data.js';

export interface ConnectHeader {
  readonly key: string;
  readonly schema: Schema | null;
  /** Raw header bytes from the plugin or Kafka are a Uint8Array with a null schema, passed as they are. */
  readonly value: Value;
}

export interface ConnectRecord {
  readonly topic: string;
  readonly kafkaPartition: number | undefined;
  readonly keySchema: Schema | null;
  readonly key: Value;
  readonly valueSchema: Schema | null;
  readonly value: Value;
  /** ms since the epoch; undefined: the producer stamps the time. */
  readonly timestamp: number | undefined;
  readonly headers: readonly ConnectHeader[];
  /** Sink records only: the record's offset in its topic-partition. */
  readonly kafkaOffset?: bigint | undefined;
}

/** A copy of `r` with some parts replaced (Kafka Connect's ConnectRecord.newRecord). */
export function newRecord(r: ConnectRecord, change: Partial<ConnectRecord>): ConnectRecord {
  return { ...r, ...change };
}
