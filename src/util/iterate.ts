import { nextUntilAborted } from './abortable.js';

/**
 * Iterates `source` until `signal` aborts, then stops at once even if the source is stuck in a
 * `next()` that never settles (a hostile plugin that ignores cancellation). The stuck iterator
 * is told to return, without waiting for it.
 */
export async function* iterateUntil<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const next = await nextUntilAborted(iterator, signal);
      if (next.done) {
        finished = !signal.aborted;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/**
 * Resolves true after `ms`, or false as soon as `signal` aborts. The timer does not keep the
 * process alive.
 */
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
