/**
 * Leader election on etcd, and the fenced writes of the elected leader (invariant 2: a deposed
 * leader cannot write).
 *
 * Candidates use etcd3's `Campaign` — the class behind `client.election(name).campaign()` — on
 * the namespace `/tributary/<cluster>/leader/`. (`client.election(name)` would nest the keys
 * under `election/<name>/`, outside the cluster prefix; `Campaign` is exported and takes the
 * namespace directly.) A candidate's key is `leader/<lease-id>`, bound to
 * the campaign's own lease; the candidate with the oldest key leads.
 *
 * The leader's term is its key's create revision, and every write is one transaction guarded by
 * `Create(key) == term`: once the key is gone (lease revoked or expired, key deleted) no write
 * lands, whatever the leader believes. Separately, `lost` aborts as soon as the leader can know it
 * may have been deposed, so it stops acting on its own (assignments sent over gRPC, …):
 *  - a watch sees its election key deleted;
 *  - the campaign reports an error (etcd3 declares its lease lost);
 *  - no keepalive of the campaign's lease has been acknowledged for nearly a TTL, so etcd may
 *    already have expired it (etcd3 itself only gives up after 2×TTL, too late: a successor can
 *    be elected after one TTL);
 *  - a guarded write finds the key gone.
 * Losing leadership resigns the campaign (revokes its lease), so a deposed leader whose key
 * survived, e.g. after a keepalive hiccup, does not block the next election.
 */
import { HistoryCompactor } from './compaction.js';
import { Campaign, Lease, type Etcd3, type IKeyValue, type ILeaseKeepAliveResponse, type Namespace, type Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { Leadership, StateWrite, WorkerInfo } from '../backend.js';
import { FailedPreconditionError, InternalError, UnavailableError, describeError } from '../../errors.js';
import { Backoff } from '../../util/backoff.js';
import { decodeWorker, encodeWorker, expandPrefixDeletes, planWrites, type ClusterKeys, type KeyOp } from '../store-layout/index.js';
import { fromEtcdError } from './errors.js';
import { pause, within } from './timing.js';
import { watchPrefix } from './prefix-watch.js';

export interface ElectionContext {
  client: Etcd3;
  keys: ClusterKeys;
  endpoints: readonly string[];
  ttlSeconds: number;
  /** Deadline of one etcd call attempt; also bounds waits for etcd during teardown. */
  requestTimeoutMs: number;
  /** etcd refuses transactions with more operations (its `--max-txn-ops`, default 128). */
  maxTxnOps: number;
  /** History compaction while leader (undefined: off). */
  compaction: { intervalMs: number; retainRevisions: number } | undefined;
  log: Logger;
}

const NOT_LEADER = 'this worker is no longer the leader (its election key is gone); the write was not applied';

/** The campaign's lease: etcd3 keeps it private, but its keepalive events are what we need. */
function campaignLease(campaign: Campaign): Lease | undefined {
  const lease = (campaign as unknown as { lease?: unknown }).lease;
  return lease instanceof Lease ? lease : undefined;
}

/**
 * Tracks until when etcd keeps a lease at least: the send time of the latest acknowledged
 * keepalive plus the TTL etcd answered. etcd3 sends keepalives on one stream and etcd answers them
 * in order, so each answer belongs to the oldest keepalive not yet answered. Attached when the
 * lease is created, so no keepalive goes unseen.
 */
export class LeaseClock {
  /** Send time of the latest acknowledged keepalive (0: none yet). */
  confirmedAt = 0;
  ttlMs: number;
  private inFlight: number[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly lease: Lease, ttlSeconds: number) {
    this.ttlMs = ttlSeconds * 1000;
    lease.on('keepaliveEstablished', () => (this.inFlight = []));
    lease.on('keepaliveFired', () => this.inFlight.push(Date.now()));
    lease.on('keepaliveSucceeded', (res: ILeaseKeepAliveResponse) => {
      const sent = this.inFlight.shift();
      if (sent !== undefined) this.confirm(sent, res);
    });
  }

  /** Sends one keepalive now and waits for its answer (a precise starting point). */
  async probe(): Promise<void> {
    const sent = Date.now();
    this.confirm(sent, await this.lease.keepaliveOnce());
  }

  /** Calls `listener` after each confirmation; returns an unsubscribe. */
  onConfirm(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private confirm(sent: number, res: ILeaseKeepAliveResponse): void {
    const ttl = Number(res.TTL);
    if (!(ttl > 0)) return; // expiry is reported by etcd3 as a lost lease
    this.ttlMs = ttl * 1000;
    this.confirmedAt = Math.max(this.confirmedAt, sent);
    for (const listener of this.listeners) listener();
  }
}

export class EtcdElection {
  private readonly ns: Namespace;
  private readonly stopping = new AbortController();
  /** Leaderships not yet torn down, and withdrawals in flight: stop() waits for both. */
  private readonly leaderships = new Set<EtcdLeadership>();
  private readonly withdrawals = new Set<Promise<void>>();
  private readonly observers = new Set<() => Promise<void>>();

  constructor(private readonly ctx: ElectionContext) {
    this.ns = ctx.client.namespace(ctx.keys.leaderPrefix);
  }

  /**
   * Campaigns until elected (resolves the Leadership) or until `signal` aborts or the backend stops
   * (resolves undefined, the candidacy withdrawn). Retriable etcd failures are retried with
   * backoff; others are thrown.
   */
  async campaign(self: WorkerInfo, signal: AbortSignal): Promise<Leadership | undefined> {
    const until = AbortSignal.any([signal, this.stopping.signal]);
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    while (!until.aborted) {
      try {
        const leadership = await this.campaignOnce(self, until);
        if (!leadership) return undefined;
        return leadership;
      } catch (err) {
        const e = fromEtcdError(err, this.ctx.endpoints, 'campaigning for leadership');
        if (!e.retriable) throw e;
        const delay = backoff.next();
        this.ctx.log.warn({ err: describeError(e).message, retryInMs: delay }, 'campaign failed; retrying');
        await pause(delay, until);
      }
    }
    return undefined;
  }

  private campaignOnce(self: WorkerInfo, signal: AbortSignal): Promise<EtcdLeadership | undefined> {
    const campaign = new Campaign(this.ns, encodeWorker(self), this.ctx.ttlSeconds);
    const lease = campaignLease(campaign);
    const clock = lease ? new LeaseClock(lease, this.ctx.ttlSeconds) : undefined;
    // etcd3 emits 'error' on the campaign for as long as it lives; unhandled, it would crash us.
    let onError: (err: Error) => void = () => {};
    campaign.on('error', (err) => onError(err));
    const withdraw = (): Promise<void> => {
      const done: Promise<void> = campaign
        .resign()
        .catch((err: unknown) => this.ctx.log.debug({ err: describeError(err).message }, 'withdrawing a candidacy failed; its lease expires on its own'))
        .finally(() => this.withdrawals.delete(done));
      this.withdrawals.add(done);
      return done;
    };
    return new Promise<EtcdLeadership | undefined>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      // Resolves once the candidacy is withdrawn (its key gone), so callers see a clean election.
      const onAbort = () => settle(() => void withdraw().then(() => resolve(undefined)));
      onError = (err) =>
        settle(() => {
          void withdraw();
          reject(err);
        });
      campaign.once('elected', () => {
        // etcd3 also emits 'elected' after a resign() that ended the wait; ignore it then.
        if (settled) return;
        this.establish(campaign, clock, self).then(
          (leadership) => {
            if (settled) void leadership.resign(); // aborted meanwhile
            else settle(() => resolve(leadership));
          },
          (err: unknown) =>
            settle(() => {
              void withdraw();
              reject(err);
            }),
        );
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Turns an elected campaign into a Leadership: reads the term, starts the watch and watchdog. */
  private async establish(campaign: Campaign, clock: LeaseClock | undefined, self: WorkerInfo): Promise<EtcdLeadership> {
    const key = await campaign.getCampaignKey();
    await clock?.probe();
    const res = await this.ctx.client.get(key).exec();
    const kv = res.kvs[0];
    if (!kv) throw new UnavailableError(`the election key ${key} vanished right after this worker was elected (lease expired?); campaigning again`);
    const leadership = new EtcdLeadership(this.ctx, campaign, clock, key, BigInt(kv.create_revision), self, (l) => this.leaderships.delete(l));
    this.leaderships.add(leadership);
    try {
      await leadership.begin(BigInt(res.header.revision) + 1n);
    } catch (err) {
      await leadership.resign();
      throw err;
    }
    return leadership;
  }

  /** The current leader (the candidate with the oldest key), if any. */
  async leader(): Promise<WorkerInfo | undefined> {
    let kvs;
    try {
      ({ kvs } = await this.ns.getAll().sort('Create', 'Ascend').limit(1).exec());
    } catch (err) {
      throw fromEtcdError(err, this.ctx.endpoints, 'reading the current leader');
    }
    const kv = kvs[0];
    return kv ? decodeWorker(this.ctx.keys.leaderPrefix + kv.key.toString(), kv.value.toString()) : undefined;
  }

  /**
   * Calls `listener` with the current leader, then with every change (consecutive duplicates are
   * dropped). Observation survives etcd outages: a failed watch is re-established after a backoff.
   *
   * Not etcd3's ElectionObserver: in 1.1.2, when the election is empty and two candidates join in
   * quick succession, it can settle on the second one (its watch handler keeps running while the
   * watch is being cancelled) and then report the wrong leader until that key changes. Instead
   * this keeps every candidate key of the election (few) from one read plus a prefix watch, and
   * reports the one with the smallest create revision — the rule the campaigns themselves follow.
   */
  watchLeader(listener: (leader: WorkerInfo | undefined) => void): () => void {
    const prefix = this.ctx.keys.leaderPrefix;
    const unset = Symbol('unset');
    let last: string | undefined | typeof unset = unset;
    const emit = (candidates: ReadonlyMap<string, IKeyValue>, closing: AbortSignal) => {
      let oldest: { created: bigint; value: string } | undefined;
      for (const kv of candidates.values()) {
        const created = BigInt(kv.create_revision);
        if (!oldest || created < oldest.created) oldest = { created, value: kv.value.toString() };
      }
      const raw = oldest?.value;
      if (closing.aborted || raw === last) return;
      last = raw;
      let leader: WorkerInfo | undefined;
      try {
        leader = raw === undefined ? undefined : decodeWorker(`${prefix}…`, raw);
      } catch (err) {
        this.ctx.log.warn({ err: describeError(err).message }, 'ignoring an unreadable leader value');
      }
      listener(leader);
    };
    const close = watchPrefix(this.ctx, prefix, { label: 'leader', operation: 'watching the leader', onChange: emit });
    this.observers.add(close);
    return () => {
      this.observers.delete(close);
      void close();
    };
  }

  /** Withdraws from campaigns, resigns held leadership, closes observers. Idempotent. */
  async stop(): Promise<void> {
    this.stopping.abort();
    const closes = [...this.observers].map((close) => close());
    this.observers.clear();
    await Promise.all([...[...this.leaderships].map((l) => l.resign()), ...closes]);
    await Promise.all(this.withdrawals);
  }
}

export class EtcdLeadership implements Leadership {
  private readonly controller = new AbortController();
  private readonly log: Logger;
  private watcher: Watcher | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private unsubscribeClock: (() => void) | undefined;
  private compactor: HistoryCompactor | undefined;
  private queue: Promise<void> = Promise.resolve();
  private teardown: Promise<void> | undefined;

  constructor(
    private readonly ctx: ElectionContext,
    private readonly campaign: Campaign,
    private readonly clock: LeaseClock | undefined,
    /** The full election key of this leader. */
    readonly key: string,
    readonly term: bigint,
    self: WorkerInfo,
    private readonly onClosed: (leadership: EtcdLeadership) => void,
  ) {
    this.log = ctx.log.child({ term: term.toString(), leaderKey: key, workerId: self.id });
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts watching for the loss of leadership; `fromRevision` follows the read that found the key. */
  async begin(fromRevision: bigint): Promise<void> {
    this.campaign.on('error', (err: Error) => this.lose(`its campaign failed (${err.message})`, err));
    if (this.clock) {
      this.unsubscribeClock = this.clock.onConfirm(() => this.armWatchdog());
      this.armWatchdog();
    } else {
      this.log.warn('the campaign lease is not reachable through etcd3 internals; leadership loss is detected only by the key watch, etcd3 lease loss and refused writes');
    }
    let watcher: Watcher;
    try {
      watcher = await this.ctx.client.watch().key(this.key).startRevision(fromRevision.toString()).create();
    } catch (err) {
      throw fromEtcdError(err, this.ctx.endpoints, 'watching the election key');
    }
    this.watcher = watcher;
    watcher.on('delete', () => this.lose('its election key was deleted (lease revoked or expired)'));
    watcher.on('error', (err: Error) => this.lose(`the watch on its election key failed (${err.message})`, err));
    if (this.controller.signal.aborted) {
      await within(watcher.cancel(), this.ctx.requestTimeoutMs);
      return;
    }
    this.log.info('elected leader');
    if (this.ctx.compaction) {
      this.compactor = new HistoryCompactor({ client: this.ctx.client, ...this.ctx.compaction, log: this.log });
      this.compactor.start();
    }
  }

  /** Fires `lose` a little before etcd could expire the election lease: a tenth of the TTL, at least 100 ms. */
  private armWatchdog(): void {
    const clock = this.clock;
    if (!clock || this.controller.signal.aborted) return;
    const deadline = () => clock.confirmedAt + clock.ttlMs - Math.max(100, clock.ttlMs / 10);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (Date.now() < deadline()) return this.armWatchdog();
      this.lose(`no keepalive of its election lease was acknowledged for ${Date.now() - clock.confirmedAt} ms (TTL ${clock.ttlMs} ms); etcd may have expired it`);
    }, Math.max(0, deadline() - Date.now()));
    this.watchdog.unref();
  }

  /** Aborts `lost` (once) and withdraws from the election. */
  private lose(reason: string, cause?: unknown): void {
    if (this.controller.signal.aborted) return;
    this.log.warn({ reason }, 'leadership lost; stopping leader duties');
    this.controller.abort(new FailedPreconditionError(`this worker is no longer the leader: ${reason}`, { cause }));
    void this.close();
  }

  private close(): Promise<void> {
    this.teardown ??= (async () => {
      if (this.watchdog) clearTimeout(this.watchdog);
      this.unsubscribeClock?.();
      await this.compactor?.stop();
      const watcher = this.watcher;
      this.watcher = undefined;
      await Promise.all([
        watcher && within(watcher.cancel(), this.ctx.requestTimeoutMs),
        this.campaign.resign().catch((err: unknown) =>
          this.log.warn({ err: describeError(err).message }, 'could not revoke the election lease; it expires after its TTL'),
        ),
      ]);
      this.onClosed(this);
    })();
    return this.teardown;
  }

  write(writes: StateWrite[]): Promise<void> {
    // One batch at a time, so a batch split into several transactions is never interleaved.
    const run = this.queue.then(() => this.apply(writes));
    this.queue = run.catch(() => {});
    return run;
  }

  private notLeader(): FailedPreconditionError {
    return new FailedPreconditionError(NOT_LEADER, { cause: this.lost.reason });
  }

  private async apply(writes: StateWrite[]): Promise<void> {
    if (this.lost.aborted) throw this.notLeader();
    if (writes.length === 0) return;
    const what = `writing ${writes.length} cluster state change(s)`;
    let ops: KeyOp[];
    try {
      ops = await expandPrefixDeletes(planWrites(this.ctx.keys, writes), (prefix) => this.ctx.client.getAll().prefix(prefix).keys());
    } catch (err) {
      throw fromEtcdError(err, this.ctx.endpoints, what);
    }
    // etcd caps the operations of one transaction. A larger batch goes as several transactions,
    // in order, each guarded: a leader deposed midway leaves a prefix of the batch applied.
    for (let i = 0; i < ops.length; i += this.ctx.maxTxnOps) {
      if (this.lost.aborted) throw this.notLeader();
      const chunk = ops.slice(i, i + this.ctx.maxTxnOps);
      let succeeded: boolean;
      try {
        ({ succeeded } = await this.ctx.client
          .if(this.key, 'Create', '==', this.term.toString())
          .then(...chunk.map((op) => this.toEtcd(op)))
          .commit());
      } catch (err) {
        throw fromEtcdError(err, this.ctx.endpoints, what);
      }
      if (!succeeded) {
        this.lose('its election key is gone: a guarded write was refused');
        throw this.notLeader();
      }
    }
    this.log.debug({ writes: writes.length, ops: ops.length }, 'cluster state written');
  }

  private toEtcd(op: KeyOp) {
    const client = this.ctx.client;
    switch (op.op) {
      case 'put':
        return client.put(op.key).value(op.value);
      case 'delete':
        return client.delete().key(op.key);
      case 'deletePrefix':
        if (op.expand) throw new InternalError(`prefix delete of ${op.prefix} was not expanded`);
        return client.delete().prefix(op.prefix);
    }
  }

  async resign(): Promise<void> {
    if (!this.controller.signal.aborted) {
      this.log.info('resigning leadership');
      this.controller.abort(new FailedPreconditionError('this worker resigned its leadership'));
    }
    await this.close();
  }
}
