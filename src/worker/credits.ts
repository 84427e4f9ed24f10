/**
 * Bounds the records in flight on a worker (invariant 6): every record a plugin may send, or a
 * sink task may hold, is first taken from this pool and given back once Kafka (or the sink)
 * acknowledged it. A task takes credits in chunks; when the pool is empty it waits, so a slow
 * Kafka slows every source instead of growing the heap.
 */
export class CreditPool {
  private available: number;
  private readonly waiters: Array<{ want: number; resolve: (n: number) => void; signal?: AbortSignal; onAbort?: () => void }> = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new Error(`credit pool capacity must be a positive integer, got ${capacity}`);
    this.available = capacity;
  }

  /** Credits taken and not yet released. */
  get inUse(): number {
    return this.capacity - this.available;
  }

  /**
   * Takes between 1 and `want` credits, waiting until at least one is free. Resolves 0 if
   * `signal` aborts first.
   */
  acquire(want: number, signal?: AbortSignal): Promise<number> {
    if (want <= 0) return Promise.resolve(0);
    if (signal?.aborted) return Promise.resolve(0);
    if (this.available > 0 && this.waiters.length === 0) {
      const n = Math.min(want, this.available);
      this.available -= n;
      return Promise.resolve(n);
    }
    return new Promise((resolve) => {
      const waiter: (typeof this.waiters)[number] = { want, resolve, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(0);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  /** Gives `n` credits back and serves waiters in order. */
  release(n: number): void {
    if (n <= 0) return;
    this.available = Math.min(this.capacity, this.available + n);
    while (this.available > 0 && this.waiters.length > 0) {
      const waiter = this.waiters.shift()!;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      const granted = Math.min(waiter.want, this.available);
      this.available -= granted;
      waiter.resolve(granted);
    }
  }
}
