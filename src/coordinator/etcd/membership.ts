/**
 * Worker membership on etcd: `workers/<id>` holds the worker's WorkerInfo, bound to one lease per
 * backend instance that etcd3 keeps alive. The key disappears when the backend stops (the lease is
 * revoked) or about one TTL after the process dies (the lease expires). If the lease is lost while
 * the process lives (etcd unreachable for longer than 2×TTL), the worker registers again with a
 * new lease as soon as etcd answers.
 */
import type { Etcd3, IKeyValue, Lease } from 'etcd3';
import type { Logger } from 'pino';
import type { WorkerInfo } from '../backend.js';
import { FailedPreconditionError, describeError } from '../../errors.js';
import { Backoff } from '../../util/backoff.js';
import { decodeWorker, encodeWorker, type ClusterKeys } from '../store-layout/index.js';
import { pause } from './timing.js';
import { fromEtcdError } from './errors.js';
import { watchPrefix } from './prefix-watch.js';

export interface MembershipContext {
  client: Etcd3;
  keys: ClusterKeys;
  endpoints: readonly string[];
  ttlSeconds: number;
  /** Deadline of one etcd call attempt; also bounds waits for etcd during teardown. */
  requestTimeoutMs: number;
  log: Logger;
}

export class EtcdMembership {
  private lease: Lease | undefined;
  private self: WorkerInfo | undefined;
  /** Set once a registration succeeded: from then on a lost lease is replaced in the background. */
  private registered = false;
  private reregistering: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private readonly watches = new Set<() => Promise<void>>();

  constructor(private readonly ctx: MembershipContext) {}

  private currentLease(): Lease {
    if (!this.lease) {
      const lease = this.ctx.client.lease(this.ctx.ttlSeconds);
      lease.on('lost', (err: Error) => this.onLeaseLost(lease, err));
      this.lease = lease;
    }
    return this.lease;
  }

  /** Puts `workers/<id>` under this backend's lease. Throws UnavailableError if etcd is unreachable. */
  async register(self: WorkerInfo): Promise<void> {
    if (this.stopping.signal.aborted) throw new FailedPreconditionError('the etcd coordinator backend is stopped; cannot register a worker');
    if (this.self && this.self.id !== self.id) {
      // Another identity on the same backend: drop the old key (the lease is shared).
      await this.ctx.client.delete().key(this.ctx.keys.worker(this.self.id)).exec().catch(() => {});
    }
    this.self = self;
    await this.putSelf();
    this.registered = true;
    this.ctx.log.info({ workerId: self.id, address: self.address }, 'registered as a cluster member');
  }

  private async putSelf(): Promise<void> {
    const self = this.self!;
    const lease = this.currentLease();
    try {
      await lease.put(this.ctx.keys.worker(self.id)).value(encodeWorker(self));
    } catch (err) {
      if (lease.revoked()) this.lease = undefined; // never granted, or lost: the next try grants a new one
      throw fromEtcdError(err, this.ctx.endpoints, `registering worker ${self.id}`);
    }
  }

  private onLeaseLost(lease: Lease, err: Error): void {
    if (lease !== this.lease) return;
    this.lease = undefined;
    if (!this.registered || this.stopping.signal.aborted) return;
    this.ctx.log.warn({ err: err.message }, 'membership lease lost; registering again with a new lease');
    this.reregistering ??= this.reregister().finally(() => (this.reregistering = undefined));
  }

  private async reregister(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    while (!this.stopping.signal.aborted) {
      try {
        await this.putSelf();
        this.ctx.log.info({ workerId: this.self!.id }, 'registered again as a cluster member');
        return;
      } catch (err) {
        const delay = backoff.next();
        this.ctx.log.warn({ err: describeError(err).message, retryInMs: delay }, 'registering again failed');
        await pause(delay, this.stopping.signal);
      }
    }
  }

  /** Every registered worker, by id. */
  async members(): Promise<WorkerInfo[]> {
    try {
      const res = await this.ctx.client.getAll().prefix(this.ctx.keys.workersPrefix).exec();
      return this.decodeAll(res.kvs);
    } catch (err) {
      throw fromEtcdError(err, this.ctx.endpoints, 'listing cluster members');
    }
  }

  private decodeAll(kvs: Iterable<IKeyValue>): WorkerInfo[] {
    const out: WorkerInfo[] = [];
    for (const kv of kvs) {
      try {
        out.push(decodeWorker(kv.key.toString(), kv.value.toString()));
      } catch (err) {
        this.ctx.log.warn({ err: describeError(err).message }, 'ignoring an unreadable member record');
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Calls `listener` with the full member list at once and after every change (one call per etcd
   * watch response). A failed watch is re-established after a backoff, starting from a fresh read.
   */
  watchMembers(listener: (members: WorkerInfo[]) => void): () => void {
    let lastJson: string | undefined;
    const emit = (kvs: ReadonlyMap<string, IKeyValue>, closing: AbortSignal) => {
      const members = this.decodeAll(kvs.values());
      const json = JSON.stringify(members);
      if (closing.aborted || json === lastJson) return;
      lastJson = json;
      listener(members);
    };
    const close = watchPrefix(this.ctx, this.ctx.keys.workersPrefix, { label: 'member', operation: 'watching cluster members', onChange: emit });
    this.watches.add(close);
    return () => {
      this.watches.delete(close);
      void close();
    };
  }

  /** Revokes the lease (the member key disappears at once) and closes watches. Idempotent. */
  async stop(): Promise<void> {
    this.stopping.abort();
    const closes = [...this.watches].map((close) => close());
    this.watches.clear();
    const lease = this.lease;
    this.lease = undefined;
    await this.reregistering;
    if (lease) {
      try {
        await lease.revoke();
      } catch (err) {
        this.ctx.log.warn({ err: describeError(err).message }, 'could not revoke the membership lease; the member key expires after its TTL');
      }
    }
    await Promise.all(closes);
  }
}
