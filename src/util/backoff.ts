/**
 * Capped exponential backoff with full jitter: the delay before retry `attempt` is uniform in
 * [0, min(max, initial × 2^attempt)], so many clients that lost the same server do not come back
 * in lockstep. `Backoff` keeps the attempt count for a retry loop; `reset()` after a success.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * random());
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions & { random?: () => number }) {}

  /** The delay before the next attempt. */
  next(): number {
    return backoffDelay(this.attempt++, this.options, this.options.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
