/**
 * Where committed offsets live. The worker's pipelines call `commit` only for offsets that are
 * committed under the connector's delivery guarantee (at-least-once: Kafka acknowledged the
 * record and every earlier one of its stream partition); the store makes them durable on
 * `flush`, batching many commits into one write. Offsets only move forward: a commit whose epoch
 * is older than the stored one is ignored.
 */

export interface CommittedOffset {
  /** The offset of the last committed record, opaque bytes as the plugin gave them. */
  offset: Uint8Array;
  /** Epoch of the assignment that committed it (0 on the memory backend). */
  epoch: bigint;
}

export interface OffsetStore {
  start(): Promise<void>;
  /** The committed offset of one stream partition, if any. */
  read(connector: string, partition: string): Promise<CommittedOffset | undefined>;
  /** Every committed offset of a connector, by stream partition id. */
  readAll(connector: string): Promise<Map<string, CommittedOffset>>;
  /** Records a committed offset; durable after the next `flush`. */
  commit(connector: string, partition: string, offset: Uint8Array, epoch?: bigint): void;
  /** Writes pending commits. */
  flush(): Promise<void>;
  /**
   * Resolves once the latest commit of this partition is durable (at-most-once produces only
   * after it); rejects with FailedPreconditionError if the store will not take it (a cluster
   * worker that no longer owns the partition under its epoch).
   */
  persist(connector: string, partition: string): Promise<void>;
  stop(): Promise<void>;
}
