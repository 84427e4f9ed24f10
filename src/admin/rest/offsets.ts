/**
 * KIP-875 offsets JSON ↔ Tributary offsets. Kafka Connect's shape is
 * `{"offsets": [{"partition": {…}, "offset": {…} | null}]}`:
 *
 * - a sink's partition is `{"kafka_topic": "t", "kafka_partition": 0}` and its offset
 *   `{"kafka_offset": 42}`, the next record to consume (the consumer-group convention). Tributary
 *   stores the last record processed, so `kafka_offset` = stored + 1 both ways;
 * - a source's partition is `{"partition": "<stream partition id>"}` and its offset
 *   `{"offset": "<text>"}` (or `{"offset_base64": "…"}` for offsets that are not printable).
 *
 * A `null` offset removes the partition's offset, as in Kafka Connect.
 */
import { InvalidArgumentError, type ConfigProblem } from '../../errors.js';
import type { OffsetChanges } from '../client.js';
import type { PartitionOffset } from '../model.js';

type Json = Record<string, unknown>;

export function restOffsets(offsets: PartitionOffset[], sink: boolean): { offsets: Array<{ partition: Json; offset: Json }> } {
  return {
    offsets: offsets.map((o) => {
      if (sink) {
        const dash = o.partition.lastIndexOf('-');
        return {
          partition: { kafka_topic: o.partition.slice(0, dash), kafka_partition: Number(o.partition.slice(dash + 1)) },
          offset: { kafka_offset: Number(o.text) + 1 },
        };
      }
      return { partition: { partition: o.partition }, offset: o.text !== undefined ? { offset: o.text } : { offset_base64: Buffer.from(o.offset).toString('base64') } };
    }),
  };
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a PATCH body; throws InvalidArgumentError naming every malformed entry. */
export function parseRestOffsets(body: unknown, sink: boolean): OffsetChanges {
  if (!isObject(body) || !Array.isArray(body.offsets) || body.offsets.length === 0) {
    throw new InvalidArgumentError('Partitions / offsets need to be provided for an alter offsets request', [{ key: 'offsets', message: 'must be a non-empty array of {"partition": {…}, "offset": {…}}' }]);
  }
  const problems: ConfigProblem[] = [];
  const changes = new Map<string, string | Uint8Array | null>();
  body.offsets.forEach((entry: unknown, i: number) => {
    const at = `offsets[${i}]`;
    if (!isObject(entry) || !isObject(entry.partition)) return problems.push({ key: `${at}.partition`, message: 'must be an object' });
    const { partition, offset } = entry;
    if (offset !== null && !isObject(offset)) return problems.push({ key: `${at}.offset`, message: 'must be an object or null' });
    if (sink) {
      const topic = partition.kafka_topic;
      const kp = partition.kafka_partition;
      if (typeof topic !== 'string' || topic === '') return problems.push({ key: `${at}.partition.kafka_topic`, message: 'must be a topic name' });
      if (typeof kp !== 'number' || !Number.isInteger(kp) || kp < 0) return problems.push({ key: `${at}.partition.kafka_partition`, message: 'must be a non-negative integer' });
      if (offset === null) return changes.set(`${topic}-${kp}`, null);
      const ko = offset.kafka_offset;
      if (typeof ko !== 'number' || !Number.isInteger(ko) || ko < 1) {
        return problems.push({ key: `${at}.offset.kafka_offset`, message: 'must be an integer ≥ 1 (the next offset to consume; use a null offset to start from consumer.auto.offset.reset)' });
      }
      return changes.set(`${topic}-${kp}`, String(ko - 1));
    }
    const id = partition.partition;
    if (typeof id !== 'string' || id === '') return problems.push({ key: `${at}.partition.partition`, message: 'must be the stream partition id (a string)' });
    if (offset === null) return changes.set(id, null);
    if (typeof offset.offset === 'string') return changes.set(id, offset.offset);
    if (typeof offset.offset === 'number') return changes.set(id, String(offset.offset));
    if (typeof offset.offset_base64 === 'string') return changes.set(id, new Uint8Array(Buffer.from(offset.offset_base64, 'base64')));
    return problems.push({ key: `${at}.offset`, message: 'must hold "offset" (text or number) or "offset_base64"' });
  });
  if (problems.length > 0) throw new InvalidArgumentError('malformed offsets', problems);
  return changes;
}
