/**
 * AlterOffsets / ResetOffsets as the leader runs them: the request is checked completely before
 * anything is written (a malformed request changes nothing), then the leader's committed offsets
 * change, then a sink's Kafka group `connect-<name>` is moved to match, because a sink without
 * an offset of its own starts from that group's position.
 */
import type { Leader, PartitionRecord } from '../coordinator/index.js';
import { FailedPreconditionError, InvalidArgumentError, type ConfigProblem } from '../errors.js';
import type { Worker } from '../worker/index.js';

export interface RequestedOffset {
  partition: string;
  /** Raw offset bytes; wins over `text` when set. */
  offset: Uint8Array;
  /** The offset as UTF-8 text (most plugins use text offsets). */
  text: string;
}

/** A change per stream partition: new offset bytes, or undefined to remove the offset. */
export type OffsetChanges = Map<string, Uint8Array | undefined>;

interface SinkTarget {
  topic: string;
  kafkaPartition: number;
}

const TOPIC_PARTITION = /^(.+)-(\d+)$/;

/** Where a sink partition reads: from its discovered record, else from its id `<topic>-<n>`. */
function sinkTarget(id: string, known: PartitionRecord | undefined): SinkTarget | undefined {
  if (known?.topic !== undefined && known.kafkaPartition !== undefined) return { topic: known.topic, kafkaPartition: known.kafkaPartition };
  const m = TOPIC_PARTITION.exec(id);
  return m ? { topic: m[1]!, kafkaPartition: Number(m[2]) } : undefined;
}

/**
 * Fails unless the connector is STOPPED with nothing of it still running: a running task would
 * overwrite the offsets (Kafka Connect has the same rule).
 */
export function assertStopped(leader: Leader, name: string): void {
  const record = leader.connector(name);
  if (record && record.targetState !== 'STOPPED') {
    throw new FailedPreconditionError(`connector "${name}" is ${record.targetState}; stop it first (tributary connectors stop ${name}), wait until its partitions are released, then change its offsets`);
  }
  if (leader.ownersOf(name).length > 0) throw new FailedPreconditionError(`connector "${name}" still has partitions releasing; retry in a moment`);
}

/**
 * Parses an AlterOffsets request into changes, naming every malformed entry (`offsets[i]…`):
 * a missing partition, a partition named twice, `offset` and `text` that disagree, and for a
 * sink, a partition that is not `<topic>-<n>` or an offset that is not a Kafka offset.
 */
export function parseOffsetChanges(requested: readonly RequestedOffset[], sink: boolean, partitions: readonly PartitionRecord[]): OffsetChanges {
  const problems: ConfigProblem[] = [];
  const changes: OffsetChanges = new Map();
  const known = new Map(partitions.map((p) => [p.id, p]));
  if (requested.length === 0) problems.push({ key: 'offsets', message: 'name at least one partition (to remove every offset, use ResetOffsets: tributary offsets reset)' });
  requested.forEach((o, i) => {
    const at = `offsets[${i}]`;
    if (!o.partition) return void problems.push({ key: `${at}.partition`, message: 'is required: the stream partition whose offset changes' });
    if (changes.has(o.partition)) return void problems.push({ key: `${at}.partition`, message: `"${o.partition}" appears more than once` });
    const text = o.text;
    if (o.offset.length > 0 && text && Buffer.from(o.offset).toString('utf8') !== text) {
      return void problems.push({ key: `${at}.offset`, message: 'offset and text disagree; set one of them' });
    }
    const bytes = o.offset.length > 0 ? o.offset : text ? new Uint8Array(Buffer.from(text)) : undefined;
    if (sink) {
      if (!sinkTarget(o.partition, known.get(o.partition))) {
        return void problems.push({ key: `${at}.partition`, message: `"${o.partition}" is not a partition of this sink: sink partitions are <topic>-<partition>, e.g. orders-0` });
      }
      const shown = bytes === undefined ? '' : Buffer.from(bytes).toString('utf8');
      if (bytes !== undefined && !/^\d+$/.test(shown)) {
        return void problems.push({ key: `${at}.offset`, message: `a sink offset is the Kafka offset of the last record processed (a non-negative integer), got "${shown}"` });
      }
    }
    changes.set(o.partition, bytes);
  });
  if (problems.length > 0) throw new InvalidArgumentError('malformed offsets', problems);
  return changes;
}

/**
 * Moves a sink's Kafka group to match `changes`: an offset N means "next read N + 1"; a removed
 * offset sends the group to where `consumer.auto.offset.reset` would start (earliest by default).
 */
export async function mirrorSinkOffsets(worker: Worker, name: string, config: Record<string, string>, partitions: readonly PartitionRecord[], changes: OffsetChanges): Promise<void> {
  const known = new Map(partitions.map((p) => [p.id, p]));
  const latest = config['consumer.auto.offset.reset'] === 'latest';
  const commits = [];
  for (const [id, offset] of changes) {
    const target = sinkTarget(id, known.get(id));
    if (!target) continue;
    let next: bigint;
    if (offset === undefined) {
      const range = (await worker.admin.partitionOffsets(target.topic)).find((r) => r.partition === target.kafkaPartition);
      next = (latest ? range?.latest : range?.earliest) ?? 0n;
    } else {
      next = BigInt(Buffer.from(offset).toString('utf8')) + 1n;
    }
    commits.push({ topic: target.topic, partition: target.kafkaPartition, offset: next });
  }
  if (commits.length > 0) await worker.groupOffsets.commit(`connect-${name}`, commits);
}
