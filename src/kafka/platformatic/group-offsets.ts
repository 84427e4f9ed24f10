/**
 * GroupOffsetStore on @platformatic/kafka's `Admin`: OffsetCommit without a member or generation
 * (alterConsumerGroupOffsets) and OffsetFetch (listConsumerGroupOffsets). A sink's group never
 * has members, so Kafka's tools show its lag like any group's. Not kafkajs's admin.setOffsets:
 * that joins the group with a consumer and took seconds per call (measured); this takes ~10 ms.
 */
import type { Logger } from 'pino';
import { FailedPreconditionError, InvalidArgumentError } from '../../errors.js';
import type { CompiledConnection } from '../config.js';
import { fromPlatformaticError, platformaticProtocolErrors } from '../errors.js';
import type { GroupOffsetStore, TopicPartitionOffset } from '../types.js';
import { ManagedAdmin } from './admin-client.js';

export class PlatformaticGroupOffsetStore implements GroupOffsetStore {
  readonly #conn: CompiledConnection;
  readonly #client: ManagedAdmin;

  constructor(conn: CompiledConnection, logger?: Logger) {
    this.#conn = conn;
    // Errors: 'group offset store was stopped; create a new one', 'start group offset store', …
    this.#client = new ManagedAdmin(conn, logger, 'group offset store');
  }

  start(): Promise<void> {
    return this.#client.start();
  }

  /** Commits `offsets` (next offset to read) for `groupId`; fails if the group has active members. */
  async commit(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>();
    for (const o of offsets) {
      if (o.offset < 0n) throw new InvalidArgumentError(`cannot commit offset ${o.offset} for ${o.topic}-${o.partition}: offsets are >= 0`);
      let list = byTopic.get(o.topic);
      if (!list) byTopic.set(o.topic, (list = []));
      list.push({ partition: o.partition, offset: o.offset });
    }
    try {
      await this.#client.admin.alterConsumerGroupOffsets({
        groupId,
        topics: [...byTopic].map(([name, partitionOffsets]) => ({ name, partitionOffsets })),
      });
    } catch (err) {
      if (platformaticProtocolErrors(err).some((e) => e === 'UNKNOWN_MEMBER_ID' || e === 'ILLEGAL_GENERATION' || e === 'REBALANCE_IN_PROGRESS')) {
        throw new FailedPreconditionError(
          `cannot commit offsets for group "${groupId}": it has active consumers; stop them (the group must be empty) and retry`,
          { cause: err },
        );
      }
      throw fromPlatformaticError(err, { operation: `commit offsets of group "${groupId}"`, topics: [...byTopic.keys()], brokers: this.#conn.brokers });
    }
  }

  async fetch(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]> {
    if (topics.length === 0) return [];
    const wanted = new Set(topics);
    try {
      const groups = await this.#client.admin.listConsumerGroupOffsets({ groups: [groupId] });
      const out: TopicPartitionOffset[] = [];
      for (const group of groups) {
        for (const topic of group.topics) {
          if (!wanted.has(topic.name)) continue;
          for (const p of topic.partitions) {
            // -1: no committed offset for the partition.
            if (p.committedOffset >= 0n) out.push({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset });
          }
        }
      }
      return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    } catch (err) {
      throw fromPlatformaticError(err, { operation: `fetch offsets of group "${groupId}"`, topics, brokers: this.#conn.brokers });
    }
  }

  stop(): Promise<void> {
    return this.#client.stop();
  }
}
