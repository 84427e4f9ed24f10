/**
 * When the leader last heard from each worker, and which workers have been silent for longer
 * than the session timeout. A worker the leader knows of (it has a session, or owns partitions
 * in the persisted state) but never heard from counts from when the leader first looked: a new
 * leader gives every owner a full session timeout to reconnect (invariant 1: workers fence
 * themselves strictly earlier, so a partition is never run by two).
 */
export class WorkerLiveness {
  private readonly lastSeen = new Map<string, number>();

  constructor(
    private readonly sessionTimeoutMs: number,
    private readonly now: () => number,
  ) {}

  /** Any message of the worker's current session. */
  heard(workerId: string): void {
    this.lastSeen.set(workerId, this.now());
  }

  /** A new leader taking over: each of these workers gets a full session timeout from now. */
  expect(workerIds: Iterable<string>): void {
    const at = this.now();
    for (const id of workerIds) this.lastSeen.set(id, at);
  }

  /** The worker left or was declared dead: nothing is expected of it any more. */
  forget(workerId: string): void {
    this.lastSeen.delete(workerId);
  }

  /** Whether the worker was heard from within the session timeout. */
  alive(workerId: string): boolean {
    return this.now() - (this.lastSeen.get(workerId) ?? 0) <= this.sessionTimeoutMs;
  }

  lastSeenOf(workerId: string): number | undefined {
    return this.lastSeen.get(workerId);
  }

  /** Every worker with a last-heard time (connected or not). */
  known(): IterableIterator<string> {
    return this.lastSeen.keys();
  }

  /** Of `workers`, those silent for longer than the session timeout, with how long. */
  overdue(workers: Iterable<string>): Array<{ workerId: string; silentMs: number }> {
    const now = this.now();
    const out: Array<{ workerId: string; silentMs: number }> = [];
    for (const workerId of workers) {
      const seen = this.lastSeen.get(workerId) ?? now;
      if (!this.lastSeen.has(workerId)) this.lastSeen.set(workerId, now);
      if (now - seen > this.sessionTimeoutMs) out.push({ workerId, silentMs: now - seen });
    }
    return out;
  }
}
