/**
 * Waiting for "this, unless that aborts" without Promise.race against a long-lived promise.
 *
 * `Promise.race([x, stopped])` attaches a reaction to `stopped` on every call, and each reaction
 * keeps the race's result — the value `x` settled with — reachable for as long as `stopped`
 * stays pending. In a loop over a long stream (every message of a task's plugin stream raced
 * against the task's abort) that retains every message ever received: measured, a worker running
 * a busy source and sink grew its heap by ~10 MB/s until it died of "heap out of memory". These
 * helpers listen on an AbortSignal instead and remove the listener as soon as they settle.
 */

/** Settles as `promise` does, or rejects with `signal.reason` once `signal` aborts first. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/** `iterator.next()`, or `{ done: true }` once `signal` aborts first (the pending `next()` is left to settle alone). */
export function nextUntilAborted<T>(iterator: AsyncIterator<T>, signal: AbortSignal): Promise<IteratorResult<T, undefined>> {
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  if (signal.aborted) return Promise.resolve(done);
  return new Promise<IteratorResult<T, undefined>>((resolve, reject) => {
    const onAbort = (): void => resolve(done);
    signal.addEventListener('abort', onAbort, { once: true });
    (iterator.next() as Promise<IteratorResult<T, undefined>>).then(
      (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
