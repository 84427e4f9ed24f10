/**
 * The etcd coordinator backend: one etcd3 client per backend instance, shared by the election
 * (election.ts), membership (membership.ts) and cluster state reads. It owns the client and
 * closes it on stop(). Every unary call to etcd carries a deadline (`requestTimeoutMs` per
 * attempt), so nothing waits forever when etcd is down; failures surface as UnavailableError
 * (retriable).
 */
import { Etcd3, type IOptions } from 'etcd3';
import pino, { type Logger } from 'pino';
import type { ClusterSnapshot, CoordinatorBackend, Leadership, WorkerInfo } from '../backend.js';
import { FailedPreconditionError, InvalidArgumentError, type ConfigProblem } from '../../errors.js';
import { EtcdElection } from './election.js';
import { fromEtcdError } from './errors.js';
import { ClusterKeys, snapshotFromKvs } from '../store-layout/index.js';
import { EtcdMembership } from './membership.js';

export interface EtcdBackendOptions {
  /** etcd client URLs, e.g. `['http://127.0.0.1:2379']`. */
  endpoints: string[];
  /** Name of the Tributary cluster; all keys live under `/tributary/<cluster>/`. */
  cluster: string;
  /**
   * TTL of the membership and election leases, in whole seconds (default 2; etcd does not grant
   * less with its default timings). A dead worker or leader is noticed after about this long.
   */
  leaseTtlSeconds?: number;
  /**
   * Deadline of each attempt of a unary etcd call (default 2000 ms). etcd3 makes up to 3 attempts
   * when etcd is unreachable, so a call fails with UnavailableError after at most 3× this.
   */
  requestTimeoutMs?: number;
  /** Operations per transaction, matching etcd's `--max-txn-ops` (default 128). */
  maxTxnOps?: number;
  /**
   * While leader, compact etcd's history every `compactionIntervalMs` (default 60 s) to
   * `compactionRetainRevisions` (default 10000; 0 disables, e.g. when etcd runs its own
   * `--auto-compaction-*`) behind the current revision. See compaction.ts.
   */
  compactionIntervalMs?: number;
  compactionRetainRevisions?: number;
  logger?: Logger;
  /** TLS to etcd (`https://` endpoints): the CA that signed etcd's certificate, and a client certificate and key for `--client-cert-auth`. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** etcd user/password auth; the user's role needs read/write on `/tributary/<cluster>/` only (docs/security.md). */
  auth?: { username: string; password: string };
}

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/**
 * etcd3's default per-host policy is a circuit breaker that opens after 3 consecutive failures
 * and then fails every call, keepalives included, for 5 s — measured: a blip of a few
 * milliseconds made the next 5 s of calls fail although etcd was back, longer than the 2 s lease
 * TTL, so every lease of the process would be lost. Calls go straight through instead; etcd3's
 * global policy still retries a recoverable failure (3 attempts in all, each with its deadline),
 * and our own loops back off.
 */
const NO_CIRCUIT_BREAKER = { execute: <T>(fn: () => T | Promise<T>) => Promise.resolve().then(fn) } as unknown as HostPolicy;

const ETCD_LEASE_EXPIRY_CHECK_MS = 500;

export class EtcdBackend implements CoordinatorBackend {
  readonly kind = 'etcd' as const;
  readonly leaderExpiryMs: number;
  private readonly client: Etcd3;
  private readonly keys: ClusterKeys;
  private readonly endpoints: readonly string[];
  private readonly log: Logger;
  private readonly election: EtcdElection;
  private readonly membership: EtcdMembership;
  private stopped: Promise<void> | undefined;

  constructor(options: EtcdBackendOptions) {
    const problems: ConfigProblem[] = [];
    const ttl = options.leaseTtlSeconds ?? 2;
    const requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    const maxTxnOps = options.maxTxnOps ?? 128;
    const compactionIntervalMs = options.compactionIntervalMs ?? 60_000;
    const compactionRetainRevisions = options.compactionRetainRevisions ?? 10_000;
    if (options.endpoints.length === 0) problems.push({ key: 'endpoints', message: 'at least one etcd endpoint is required (ETCD_ENDPOINTS)' });
    if (!Number.isInteger(ttl) || ttl < 2) problems.push({ key: 'leaseTtlSeconds', message: `must be a whole number of seconds ≥ 2 (got ${ttl})` });
    if (!(requestTimeoutMs > 0)) problems.push({ key: 'requestTimeoutMs', message: `must be positive (got ${requestTimeoutMs})` });
    if (!Number.isInteger(maxTxnOps) || maxTxnOps < 1) problems.push({ key: 'maxTxnOps', message: `must be a positive integer (got ${maxTxnOps})` });
    if (!(compactionIntervalMs > 0)) problems.push({ key: 'compactionIntervalMs', message: `must be positive (got ${compactionIntervalMs})` });
    if (!Number.isInteger(compactionRetainRevisions) || compactionRetainRevisions < 0) problems.push({ key: 'compactionRetainRevisions', message: `must be a whole number ≥ 0 (got ${compactionRetainRevisions})` });
    if (options.tls && options.endpoints.some((e) => e.startsWith('http://'))) problems.push({ key: 'etcd.endpoints', message: 'must be https:// URLs when etcd TLS is set' });
    if (!options.tls && options.endpoints.some((e) => e.startsWith('https://'))) problems.push({ key: 'etcd.tls.ca.file', message: 'is required for https:// etcd endpoints' });
    if (problems.length > 0) throw new InvalidArgumentError('invalid etcd coordinator settings', problems);
    // etcd's lessor looks for expired leases every 500 ms, so a lease may outlive its TTL by that much.
    this.leaderExpiryMs = ttl * 1000 + ETCD_LEASE_EXPIRY_CHECK_MS;
    this.keys = new ClusterKeys(options.cluster);
    this.endpoints = [...options.endpoints];
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'coordinator-etcd', cluster: options.cluster });
    const clientOptions: IOptions = {
      hosts: this.endpoints as string[],
      // Declared by etcd3 1.1.2 but not used by it; kept for versions that do. The per-attempt
      // deadline below is what bounds calls. Streams (watches, keepalives) get no deadline.
      dialTimeout: requestTimeoutMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
      faultHandling: { host: () => NO_CIRCUIT_BREAKER },
      ...(options.tls ? { credentials: { rootCertificate: options.tls.ca, privateKey: options.tls.key, certChain: options.tls.cert } } : {}),
      ...(options.auth ? { auth: { username: options.auth.username, password: options.auth.password, callOptions: () => ({ deadline: Date.now() + requestTimeoutMs }) } } : {}),
    };
    this.client = new Etcd3(clientOptions);
    const shared = { client: this.client, keys: this.keys, endpoints: this.endpoints, ttlSeconds: ttl, requestTimeoutMs, log: this.log };
    this.election = new EtcdElection({ ...shared, maxTxnOps, compaction: compactionRetainRevisions > 0 ? { intervalMs: compactionIntervalMs, retainRevisions: compactionRetainRevisions } : undefined });
    this.membership = new EtcdMembership(shared);
  }

  /** Checks that etcd answers; throws UnavailableError naming the endpoints if it does not. */
  async start(): Promise<void> {
    this.assertRunning();
    try {
      await this.client.get(this.keys.epoch).exec();
    } catch (err) {
      throw fromEtcdError(err, this.endpoints, 'starting the coordinator');
    }
    this.log.info({ endpoints: this.endpoints }, 'connected to etcd');
  }

  /** Resigns a held leadership, revokes the membership lease, closes watches and the client. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      try {
        await Promise.all([this.election.stop(), this.membership.stop()]);
      } finally {
        this.client.close();
        this.log.info('coordinator stopped');
      }
    })();
    return this.stopped;
  }

  private assertRunning(): void {
    if (this.stopped) throw new FailedPreconditionError('the etcd coordinator backend is stopped');
  }

  async campaign(self: WorkerInfo, signal: AbortSignal): Promise<Leadership | undefined> {
    this.assertRunning();
    return this.election.campaign(self, signal);
  }

  async leader(): Promise<WorkerInfo | undefined> {
    this.assertRunning();
    return this.election.leader();
  }

  watchLeader(listener: (leader: WorkerInfo | undefined) => void): () => void {
    this.assertRunning();
    return this.election.watchLeader(listener);
  }

  async register(self: WorkerInfo): Promise<void> {
    this.assertRunning();
    return this.membership.register(self);
  }

  async members(): Promise<WorkerInfo[]> {
    this.assertRunning();
    return this.membership.members();
  }

  watchMembers(listener: (members: WorkerInfo[]) => void): () => void {
    this.assertRunning();
    return this.membership.watchMembers(listener);
  }

  /** One consistent range read of the whole cluster prefix (a single etcd revision). */
  async snapshot(): Promise<ClusterSnapshot> {
    this.assertRunning();
    let kvs;
    try {
      ({ kvs } = await this.client.getAll().prefix(this.keys.root).exec());
    } catch (err) {
      throw fromEtcdError(err, this.endpoints, 'reading the cluster snapshot');
    }
    return snapshotFromKvs(
      this.keys,
      kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString() })),
    );
  }
}

export function createEtcdBackend(options: EtcdBackendOptions): EtcdBackend {
  return new EtcdBackend(options);
}
