/** Capped exponential backoff with full jitter; `reset()` after a period of success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: { initialMs: number; maxMs: number; random?: () => number }) {}

  /** The delay before the next attempt. */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const random = this.options.random ?? Math.random;
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
