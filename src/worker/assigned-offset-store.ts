/**
 * The worker's offset store in a cluster: the leader is the source of truth. An assignment
 * brings the partition's committed offset; tasks commit here as Kafka (or a sink) acknowledges;
 * the session reports what changed to the leader on every flush interval, stamped with the
 * assignment's epoch. Nothing is durable on the worker: a crash loses at most the reports since
 * the last flush, which at-least-once replays.
 */
import type { CommittedOffset, OffsetStore } from '../coordinator/index.js';

export interface OffsetReportEntry {
  connector: string;
  partition: string;
  offset: Uint8Array;
  epoch: bigint;
}

const key = (connector: string, partition: string) => `${connector}\u0000${partition}`;

export class AssignedOffsetStore implements OffsetStore {
  private readonly latest = new Map<string, OffsetReportEntry>();
  private readonly dirty = new Set<string>();
  private flushListener: (() => void) | undefined;

  /** Called when an assignment arrives: the leader's committed offset is where the task starts. */
  assign(connector: string, partition: string, offset: Uint8Array | undefined, epoch: bigint): void {
    const k = key(connector, partition);
    this.dirty.delete(k);
    if (offset === undefined) this.latest.delete(k);
    else this.latest.set(k, { connector, partition, offset, epoch });
  }

  /** Forgets a partition that left this worker. */
  release(connector: string, partition: string): void {
    const k = key(connector, partition);
    this.latest.delete(k);
    this.dirty.delete(k);
  }

  /** Latest commits since the last call, for an offset report. */
  takeReport(): OffsetReportEntry[] {
    const out: OffsetReportEntry[] = [];
    for (const k of this.dirty) {
      const entry = this.latest.get(k);
      if (entry) out.push(entry);
    }
    this.dirty.clear();
    return out;
  }

  /** Puts entries back after a report could not be sent. */
  restore(entries: OffsetReportEntry[]): void {
    for (const e of entries) this.dirty.add(key(e.connector, e.partition));
  }

  onFlush(listener: () => void): void {
    this.flushListener = listener;
  }

  latestOf(connector: string, partition: string): Uint8Array | undefined {
    return this.latest.get(key(connector, partition))?.offset;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async read(connector: string, partition: string): Promise<CommittedOffset | undefined> {
    const entry = this.latest.get(key(connector, partition));
    return entry && { offset: entry.offset, epoch: entry.epoch };
  }

  async readAll(connector: string): Promise<Map<string, CommittedOffset>> {
    const out = new Map<string, CommittedOffset>();
    for (const e of this.latest.values()) if (e.connector === connector) out.set(e.partition, { offset: e.offset, epoch: e.epoch });
    return out;
  }

  commit(connector: string, partition: string, offset: Uint8Array, epoch = 0n): void {
    const k = key(connector, partition);
    const current = this.latest.get(k);
    if (current && current.epoch > epoch) return;
    this.latest.set(k, { connector, partition, offset, epoch });
    this.dirty.add(k);
  }

  async flush(): Promise<void> {
    this.flushListener?.();
  }
}
