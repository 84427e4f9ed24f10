/**
 * The worker's offset store in a cluster: the leader is the source of truth. An assignment
 * brings the partition's committed offset; tasks commit here as Kafka (or a sink) acknowledges;
 * the session reports what changed to the leader on every flush interval, stamped with the
 * assignment's epoch and a per-partition sequence. Nothing is durable on the worker: a crash
 * loses at most the reports since the last flush, which at-least-once replays. `persist` is the
 * exception: it waits until the leader answers that the partition's latest commit is written
 * (at-most-once must not produce before that).
 */
import type { CommittedOffset, OffsetStore } from '../coordinator/index.js';
import { FailedPreconditionError } from '../errors.js';

export interface OffsetReportEntry {
  connector: string;
  partition: string;
  offset: Uint8Array;
  epoch: bigint;
  /** Commits of this partition under this epoch so far (the leader refuses one not above the last). */
  seq: bigint;
}

/** Sends a report now if a session is up (it asks the leader to persist: see `persistWanted`). */
export type PersistRequester = () => void;

interface PersistWaiter {
  connector: string;
  partition: string;
  /** The report that carries the commit; undefined until one is sent. */
  reportId: bigint | undefined;
  resolve: () => void;
  reject: (err: Error) => void;
}

const key = (connector: string, partition: string) => `${connector}\u0000${partition}`;

export class AssignedOffsetStore implements OffsetStore {
  private readonly latest = new Map<string, OffsetReportEntry>();
  private readonly dirty = new Set<string>();
  private flushListener: (() => void) | undefined;
  private persistRequester: PersistRequester | undefined;
  private readonly waiters: PersistWaiter[] = [];

  /** Called when an assignment arrives: the leader's committed offset is where the task starts. */
  assign(connector: string, partition: string, offset: Uint8Array | undefined, epoch: bigint): void {
    const k = key(connector, partition);
    this.dirty.delete(k);
    if (offset === undefined) this.latest.delete(k);
    else this.latest.set(k, { connector, partition, offset, epoch, seq: 0n });
  }

  /** Forgets a partition that left this worker; whoever waits for its persistence is told. */
  release(connector: string, partition: string): void {
    const k = key(connector, partition);
    this.latest.delete(k);
    this.dirty.delete(k);
    this.settleWaiters((w) => w.connector === connector && w.partition === partition, new FailedPreconditionError(`partition "${partition}" of connector "${connector}" left this worker before its offset was persisted`));
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

  /** How `persist` asks the leader (set by the cluster membership). */
  onPersist(requester: PersistRequester): void {
    this.persistRequester = requester;
  }

  /** Whether some task waits for the leader to persist: the next report must ask for it. */
  get persistWanted(): boolean {
    return this.waiters.some((w) => w.reportId === undefined);
  }

  /** The report `reportId` was sent: waiters without a report ride on it. */
  reportSent(reportId: bigint): void {
    for (const w of this.waiters) w.reportId ??= reportId;
  }

  /**
   * The leader persisted every report up to `reportId` of the current session, except the
   * partitions in `refused` (this worker does not own them under that epoch).
   */
  persisted(reportId: bigint, refused: ReadonlySet<string>): void {
    const done = (w: PersistWaiter) => w.reportId !== undefined && w.reportId <= reportId;
    this.settleWaiters((w) => done(w) && refused.has(key(w.connector, w.partition)), new FailedPreconditionError('the leader refused the offset: this worker no longer owns the partition under its epoch'));
    this.settleWaiters(done);
  }

  /** The session ended: reports without an answer may be lost, so they are asked for again. */
  sessionLost(): void {
    for (const w of this.waiters) {
      w.reportId = undefined;
      this.dirty.add(key(w.connector, w.partition));
    }
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
    const seq = current && current.epoch === epoch ? current.seq + 1n : 1n;
    this.latest.set(k, { connector, partition, offset, epoch, seq });
    this.dirty.add(k);
  }

  async flush(): Promise<void> {
    this.flushListener?.();
  }

  persist(connector: string, partition: string): Promise<void> {
    const k = key(connector, partition);
    if (!this.latest.has(k)) return Promise.reject(new FailedPreconditionError(`nothing committed for partition "${partition}" of connector "${connector}"`));
    this.dirty.add(k);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ connector, partition, reportId: undefined, resolve, reject });
      // No session now: the next one's first report carries it.
      this.persistRequester?.();
    });
  }

  private settleWaiters(match: (w: PersistWaiter) => boolean, err?: Error): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      if (!match(w)) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      if (err) w.reject(err);
      else w.resolve();
    }
  }
}
