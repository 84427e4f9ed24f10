/**
 * How many records a generating source (verifiable-source, datagen) may emit in one poll: at most
 * `maxRecords` in all (negative: unbounded) and at most `perSecond` a second (0: as fast as
 * credits allow), by a token bucket that saves up at most one second's worth.
 *
 * `take` waits for a token when the rate allows none yet; it answers 0 when the signal aborts,
 * and, once `maxRecords` were emitted, waits for the abort (the stream's drain) and answers 0.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class RecordBudget {
  private tokens = 1;
  private refilledAt = Date.now();

  constructor(
    private readonly perSecond: number,
    private readonly maxRecords: number,
  ) {}

  /** Up to `max` records, `emitted` being how many this stream partition emitted before (its next seq). */
  async take(max: number, emitted: number, signal: AbortSignal): Promise<number> {
    let count = max;
    if (this.maxRecords >= 0) {
      if (emitted >= this.maxRecords) {
        await waitForAbort(signal);
        return 0;
      }
      count = Math.min(count, this.maxRecords - emitted);
    }
    if (this.perSecond > 0) {
      this.refill();
      while (this.tokens < 1) {
        try {
          await sleep(Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.perSecond)), undefined, { signal });
        } catch {
          return 0;
        }
        this.refill();
      }
      count = Math.min(count, Math.floor(this.tokens));
      this.tokens -= count;
    }
    return count;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(Math.max(1, this.perSecond), this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000);
    this.refilledAt = now;
  }
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
