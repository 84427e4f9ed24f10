/**
 * Mirrors a sink connector's committed offsets to Kafka as standalone commits of the consumer
 * group `connect-<connector>` (no member, no generation), batched per flush, so
 * `kafka-consumer-groups --describe` shows lag as Kafka Connect users expect. It also reads the
 * group's existing offsets once, so a sink moved over from Kafka Connect starts where Kafka
 * Connect stopped. The mirror is best effort: Tributary's own offset store stays the truth.
 */
import type { GroupOffsetStore, TopicPartitionOffset } from '../kafka/index.js';

export class GroupOffsetMirror {
  readonly groupId: string;
  private readonly pending = new Map<string, TopicPartitionOffset>();
  /** The group's offsets as they were before Tributary ran it, per topic, read once. */
  private readonly existing = new Map<string, Promise<Map<number, bigint>>>();
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    connector: string,
    private readonly store: GroupOffsetStore,
  ) {
    this.groupId = `connect-${connector}`;
  }

  /** The group's committed offset (next record to read) for a partition, as it was before Tributary ran it. */
  async committed(topic: string, partition: number): Promise<bigint | undefined> {
    let offsets = this.existing.get(topic);
    if (offsets === undefined) {
      const fetched = this.store.fetch(this.groupId, [topic]).then((list) => new Map(list.map((o): [number, bigint] => [o.partition, o.offset])));
      fetched.catch(() => this.existing.delete(topic));
      this.existing.set(topic, fetched);
      offsets = fetched;
    }
    return (await offsets).get(partition);
  }

  /** Records the next offset to read of a partition; sent on the next flush. */
  set(topic: string, partition: number, nextOffset: bigint): void {
    this.pending.set(`${topic}:${partition}`, { topic, partition, offset: nextOffset });
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.catch(() => {}).then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending.values()];
      this.pending.clear();
      try {
        await this.store.commit(this.groupId, batch);
      } catch (err) {
        // Keep them for the next flush unless newer ones arrived meanwhile.
        for (const o of batch) {
          const key = `${o.topic}:${o.partition}`;
          if (!this.pending.has(key)) this.pending.set(key, o);
        }
        throw err;
      }
    });
    return this.flushing;
  }
}
