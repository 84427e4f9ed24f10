/**
 * The `transactional.id` of one stream partition's producer. Derived from the cluster, the
 * connector and the stream partition, and from nothing else (not the worker), so whichever worker
 * owns the partition next uses the same id, and its initTransactions fences the previous owner
 * at the broker. Kafka Connect's KIP-618 id is `${groupId}-${connector}-${taskId}`; Tributary's
 * unit of work is the stream partition, so the partition takes the task's place.
 *
 *   tributary.<cluster>.<connector>.<partition id>
 *
 * A partition id that is not plain printable ASCII (or is long) is replaced by `h-` and the first
 * 32 hex digits of its SHA-256, so every id is a valid, bounded Kafka string that an ACL prefix
 * `tributary.<cluster>.` covers.
 */
import { createHash } from 'node:crypto';

const PLAIN = /^[\x21-\x7e]{1,120}$/;

function part(text: string): string {
  return PLAIN.test(text) ? text : `h-${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
}

export function transactionalIdPrefix(cluster: string): string {
  return `tributary.${part(cluster)}.`;
}

export function transactionalIdFor(cluster: string, connector: string, partition: string): string {
  return `${transactionalIdPrefix(cluster)}${part(connector)}.${part(partition)}`;
}
