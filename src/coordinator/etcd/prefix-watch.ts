/**
 * Follows every key under one etcd prefix: reads them all, then watches the prefix from the
 * revision after that read, so no change falls between the two. A failed read or watch is
 * restarted after a backoff, from a fresh read (a resync: whatever changed meanwhile is in it).
 * Used by the leader watch (election.ts) and the member watch (membership.ts).
 */
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import { describeError } from '../../errors.js';
import { Backoff } from '../../util/backoff.js';
import { fromEtcdError } from './errors.js';
import { pause, within } from './timing.js';

export interface PrefixWatchContext {
  client: Etcd3;
  endpoints: readonly string[];
  /** Bounds the wait for etcd to confirm a watch cancel. */
  requestTimeoutMs: number;
  log: Logger;
}

export interface PrefixWatchOptions {
  /** Names the watch in its log lines: '<label> watch failed; restarting it', '<label> watch ended'. */
  label: string;
  /** What is being done, for the etcd error in the log: 'watching the leader', … */
  operation: string;
  /**
   * Called with every key under the prefix (full key → its latest kv): after each read, and after
   * each watch response. The map is the watch's own and changes after the call returns. `closing`
   * is aborted once close() was called; calls can still arrive then, for the caller to drop.
   */
  onChange(kvs: ReadonlyMap<string, IKeyValue>, closing: AbortSignal): void;
}

/**
 * Starts following `prefix`; returns close(), which stops it and resolves once the watch loop has
 * ended (a watcher's cancel is awaited no longer than `requestTimeoutMs`).
 */
export function watchPrefix(ctx: PrefixWatchContext, prefix: string, options: PrefixWatchOptions): () => Promise<void> {
  const closing = new AbortController();
  const run = async () => {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    while (!closing.signal.aborted) {
      let watcher: Watcher | undefined;
      try {
        const res = await ctx.client.getAll().prefix(prefix).exec();
        const kvs = new Map(res.kvs.map((kv) => [kv.key.toString(), kv]));
        options.onChange(kvs, closing.signal);
        watcher = await ctx.client.watch().prefix(prefix).startRevision((BigInt(res.header.revision) + 1n).toString()).create();
        backoff.reset();
        const w = watcher;
        let onClose: (() => void) | undefined;
        await new Promise<void>((resolve, reject) => {
          w.on('data', (data) => {
            for (const event of data.events) {
              const key = event.kv.key.toString();
              if (event.type === 'Delete') kvs.delete(key);
              else kvs.set(key, event.kv);
            }
            options.onChange(kvs, closing.signal);
          });
          w.on('error', reject);
          onClose = resolve;
          closing.signal.addEventListener('abort', onClose, { once: true });
        }).finally(() => closing.signal.removeEventListener('abort', onClose!));
      } catch (err) {
        if (closing.signal.aborted) break;
        const delay = backoff.next();
        ctx.log.warn({ err: describeError(fromEtcdError(err, ctx.endpoints, options.operation)).message, retryInMs: delay }, `${options.label} watch failed; restarting it`);
        await pause(delay, closing.signal);
      } finally {
        if (watcher) await within(watcher.cancel(), ctx.requestTimeoutMs);
      }
    }
  };
  const done = run().catch((err: unknown) => ctx.log.error({ err: describeError(err).message }, `${options.label} watch ended`));
  return async () => {
    closing.abort();
    await done;
  };
}
