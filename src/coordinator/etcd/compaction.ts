/**
 * Keeps etcd's history bounded (issue 25, 8c). etcd keeps every revision of every key until it
 * is compacted; the leader's offset and status flushes write several revisions a second, so
 * without compaction the database grows until etcd's quota (2 GB by default) refuses every
 * write. The leader compacts every `intervalMs` to `retainRevisions` behind the current
 * revision: enough history for a watch that reconnects after a short outage to resume from its
 * last revision (a few minutes of writes at least).
 *
 * Compaction frees pages inside etcd's file but does not shrink the file: defragment (see
 * docs/cluster.md) to give the space back to the disk.
 */
import type { Etcd3 } from 'etcd3';
import type { Logger } from 'pino';
import { describeError } from '../../errors.js';

export interface HistoryCompactorOptions {
  client: Etcd3;
  intervalMs: number;
  retainRevisions: number;
  log: Logger;
}

export class HistoryCompactor {
  private timer: NodeJS.Timeout | undefined;
  private compactedTo = 0n;
  private running: Promise<void> | undefined;

  constructor(private readonly options: HistoryCompactorOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.compactOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One compaction to `retainRevisions` behind the current revision; failures are only logged. */
  compactOnce(): Promise<void> {
    this.running ??= (async () => {
      try {
        const status = await this.options.client.maintenance.status();
        const target = BigInt(status.header.revision) - BigInt(this.options.retainRevisions);
        if (target <= this.compactedTo) return;
        await this.options.client.kv.compact({ revision: target.toString() });
        this.options.log.debug({ revision: target.toString() }, 'compacted etcd history');
        this.compactedTo = target;
      } catch (err) {
        // E.g. another cluster's leader compacted further already: the next round catches up.
        this.options.log.debug({ err: describeError(err).message }, 'etcd compaction did not run');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
