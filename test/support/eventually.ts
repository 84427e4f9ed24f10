import { setTimeout as delay } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /**
   * Describes what was awaited; prefixes the error thrown at the deadline. A function is called
   * only then, so it can describe the state at the deadline (the last rows, the logs so far).
   */
  message?: string | (() => string);
}

/**
 * Polls `fn` until it returns a truthy value without throwing, and returns that value.
 * After the deadline it fails with the last error (or with the last falsy result) as `cause`.
 * Assertion-style callbacks must therefore end with `return true`.
 */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  opts: EventuallyOptions = {},
): Promise<T> {
  const { timeoutMs = 5000, intervalMs = 50, message = 'condition not met' } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      lastError = new Error(`returned a falsy value (${String(value)})`);
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await delay(Math.min(intervalMs, left));
  }
  const detail = lastError instanceof Error ? lastError.message : String(lastError);
  const what = typeof message === 'function' ? message() : message;
  throw new Error(`${what} within ${timeoutMs} ms: ${detail}`, { cause: lastError });
}
