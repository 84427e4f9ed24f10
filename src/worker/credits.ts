/**
 * Bounds what is in flight on a worker (invariant 6), in two pools of the same kind: one counts
 * records, one counts bytes (key + value + headers). Every record a plugin may send, or a sink
 * task may hold, is first taken from the record pool and its bytes from the byte pool, and both
 * are given back once Kafka (or the sink) acknowledged it. A task takes credits in chunks; when
 * a pool is empty it waits, so a slow Kafka slows every source instead of growing the heap.
 *
 * `take()` is the one way past the capacity: bytes that already arrived and were larger than
 * what was taken for them (a source record larger than any before it, a Kafka batch larger than
 * the fetch size). Such overdrafts are counted and show in `peakInUse`, never hidden.
 */
export class CreditPool {
  private available: number;
  private peak = 0;
  private overdrafts = 0;
  private readonly waiters: Array<{ want: number; min: number; resolve: (n: number) => void; signal?: AbortSignal; onAbort?: () => void }> = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new Error(`credit pool capacity must be a positive integer, got ${capacity}`);
    this.available = capacity;
  }

  /** Credits taken and not yet released. */
  get inUse(): number {
    return this.capacity - this.available;
  }

  /** The most credits ever in use at once (above `capacity` only after an overdraft). */
  get peakInUse(): number {
    return this.peak;
  }

  /** How many times `take()` went past the capacity. */
  get overdraftCount(): number {
    return this.overdrafts;
  }

  /**
   * Takes between `min` (at most the capacity) and `want` credits, waiting until that many are
   * free; waiters are served in order. Resolves 0 if `signal` aborts first.
   */
  acquire(want: number, signal?: AbortSignal, min = 1): Promise<number> {
    if (want <= 0) return Promise.resolve(0);
    if (signal?.aborted) return Promise.resolve(0);
    const least = Math.max(1, Math.min(min, want, this.capacity));
    if (this.available >= least && this.waiters.length === 0) return Promise.resolve(this.grant(want));
    return new Promise((resolve) => {
      const waiter: (typeof this.waiters)[number] = { want, min: least, resolve, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(0);
          // A waiter wanting much may have held back smaller ones behind it.
          this.serve();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  /**
   * Takes `n` credits at once, past the capacity if need be: for what is already in memory and
   * must be accounted (see the module comment).
   */
  take(n: number): void {
    if (n <= 0) return;
    if (n > this.available) this.overdrafts++;
    this.available -= n;
    this.peak = Math.max(this.peak, this.inUse);
  }

  /** Gives `n` credits back and serves waiters in order. */
  release(n: number): void {
    if (n <= 0) return;
    this.available = Math.min(this.capacity, this.available + n);
    this.serve();
  }

  private grant(want: number): number {
    const n = Math.min(want, this.available);
    this.available -= n;
    this.peak = Math.max(this.peak, this.inUse);
    return n;
  }

  private serve(): void {
    while (this.waiters.length > 0 && this.available >= this.waiters[0]!.min) {
      const waiter = this.waiters.shift()!;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.grant(waiter.want));
    }
  }
}
