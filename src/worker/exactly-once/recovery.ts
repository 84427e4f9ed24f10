/**
 * Where an exactly-once stream partition resumes. Two records of its committed offset exist:
 *
 * - the offsets topic: written in the same Kafka transaction as the records, so under
 *   read_committed it is exactly what Kafka holds — the truth for everything this connector
 *   wrote exactly-once;
 * - the coordinator: a mirror, written after each commit (it may lag by one flush interval and
 *   is lost with a worker crash before its report), but also where an at-least-once run of the
 *   same connector left its offset, and what an operator's offset change writes.
 *
 * Both carry the epoch of the assignment that wrote them. The rule ("the larger of the two"):
 * the coordinator's offset wins only when its epoch is strictly newer than the offsets topic's:
 * then something after the last transaction moved the partition on (an at-least-once run, an
 * operator). At an equal epoch the offsets topic wins: the mirror of the same owner can only
 * be behind its transactions. With only one record, that one; with none, the plugin's beginning.
 */
import type { CommittedOffset } from '../../coordinator/index.js';

export type OffsetOrigin = 'offsets-topic' | 'coordinator' | 'none';

export interface StartingOffset {
  offset: Uint8Array | undefined;
  epoch: bigint;
  origin: OffsetOrigin;
}

export function chooseStartingOffset(fromTopic: CommittedOffset | undefined, fromCoordinator: CommittedOffset | undefined): StartingOffset {
  if (fromTopic && fromCoordinator) {
    if (fromCoordinator.epoch > fromTopic.epoch) return { ...fromCoordinator, origin: 'coordinator' };
    return { ...fromTopic, origin: 'offsets-topic' };
  }
  if (fromTopic) return { ...fromTopic, origin: 'offsets-topic' };
  if (fromCoordinator) return { ...fromCoordinator, origin: 'coordinator' };
  return { offset: undefined, epoch: 0n, origin: 'none' };
}
