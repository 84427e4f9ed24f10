/**
 * Capped exponential backoff with full jitter, and a sleep that an AbortSignal cuts short. Used
 * by loops that retry retriable Kafka errors; the jitter keeps many readers that lost the same
 * broker from reconnecting in lockstep.
 */

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** Delay before retry number `attempt` (0-based): uniform in [0, min(max, initial * 2^attempt)]. */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * random());
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. The timer does not keep the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
