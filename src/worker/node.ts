/**
 * One `tributary worker` process: a gRPC server (Coordinator service, gRPC health, and whatever
 * the caller registers, e.g. Admin), the data plane (Worker), membership in the cluster
 * (ClusterMember), and a standing campaign for leadership; while elected, it runs the Leader.
 *
 * Lifecycle: start() binds, registers, campaigns and joins. stop() is the SIGTERM path: hand
 * every partition over (drained, zero duplicates), give up leadership, then close everything.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CoordinatorService, type SessionRequest } from '../gen/tributary/cluster/v1/cluster_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';
import { Leader, type ConnectorRecord, type CoordinatorBackend, type PartitionRecord, type WorkerInfo } from '../coordinator/index.js';
import { addService, bindServer, defaultServerOptions, shutdownServer, type TlsFiles } from '../grpc/index.js';
import type { KafkaSecurityProperties, ProducerClient } from '../kafka/index.js';
import type { ProducerFactory } from './connector-runtime.js';
import type { PluginHost } from '../plugins/index.js';
import { FailedPreconditionError, UnauthenticatedError, UnavailableError, describeError } from '../errors.js';
import { sleep } from '../util/iterate.js';
import { AssignedOffsetStore } from './assigned-offset-store.js';
import { ClusterMember } from './cluster-member.js';
import { discoverPartitions, pluginLifecycle } from './leader-discovery.js';
import { Worker, type WorkerOptions } from './worker.js';
import { WorkerHealth, noopMetrics, observeLeadership, type WorkerMetrics } from '../observability/index.js';
import { untilReached, healthWatch, metricsView } from './observed.js';
import type { AllowedPaths } from '../util/allowed-paths.js';

export const VERSION = '0.1.0';

/**
 * Long enough that a leader's death does not fence every worker: a worker fences itself at most
 * session − 2 × heartbeat after the dead leader's last answer, and must see its successor by then,
 * which etcd elects only once the old lease expires (up to 2.5 s at the minimum 2 s TTL).
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 5_000;

export interface WorkerNodeOptions {
  id: string;
  /** host:port to listen on (port 0 picks one). */
  listen: string;
  /** host:port others reach this worker at; defaults to the bound listen address. */
  advertisedAddress?: string;
  capacity?: number;
  backend: CoordinatorBackend;
  kafka: {
    brokers: string[];
    producerClient?: ProducerClient;
    /** Worker-level Kafka security properties (docs/security-kafka.md). */
    security?: KafkaSecurityProperties;
    /** Tests wrap the real producer (to count or slow sends). */
    createProducer?: ProducerFactory;
  };
  plugins: PluginHost;
  /** Where `${file:…}` config references may point; give registerBuiltinConnectors the same list. */
  allowedPaths?: AllowedPaths;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  offsetFlushIntervalMs?: number;
  topicDiscoveryIntervalMs?: number;
  maxInFlightRecords?: number;
  maxInFlightBytes?: number;
  logger: Logger;
  /** Called once when this worker cannot stay in the cluster (its id is used by another live process). */
  onFatal?: (err: Error) => void;
  /** Registers more services (Admin) on the same server. */
  registerServices?: (server: grpc.Server, node: WorkerNode) => void;
  /** Counters and histograms (docs/metrics.md); the gauges read this node when scraped. */
  metrics?: WorkerMetrics & { bind?(view: ReturnType<typeof metricsView>): void };
  /** Worker-level converter settings (`key.converter`, `value.converter.schemas.enable`, …) for every connector. */
  converterDefaults?: Readonly<Record<string, string>>;
  /** Readiness, as grpc.health.v1 and HTTP /health report it. */
  health?: WorkerHealth;
  /**
   * TLS on this worker's gRPC port and on its clients (session to the leader, forwarded admin
   * calls). With it, a session is accepted only from a peer whose certificate the CA verified.
   * The caller owns the files' reload timer (start/stop).
   */
  tls?: TlsFiles;
  /** The cluster's name (exactly-once transactional ids and offsets topic). */
  cluster?: string;
  exactlyOnce?: WorkerOptions['exactlyOnce'];
}

export class WorkerNode {
  readonly worker: Worker;
  readonly offsets = new AssignedOffsetStore();
  readonly log: Logger;
  private readonly server = new grpc.Server(defaultServerOptions);
  private member: ClusterMember | undefined;
  private leaderValue: Leader | undefined;
  private readonly stopping = new AbortController();
  private campaigning: Promise<void> | undefined;
  private selfInfo: WorkerInfo | undefined;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly health: WorkerHealth;
  readonly metrics: WorkerMetrics;
  /** Credentials for this worker's gRPC clients to other workers (TLS with its certificate, or plaintext). */
  readonly clientCredentials: grpc.ChannelCredentials;

  constructor(readonly options: WorkerNodeOptions) {
    this.clientCredentials = options.tls?.channelCredentials() ?? grpc.credentials.createInsecure();
    this.log = options.logger.child({ workerId: options.id });
    this.health = options.health ?? new WorkerHealth();
    this.metrics = options.metrics ?? noopMetrics;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 500;
    if (this.heartbeatIntervalMs * 2 >= this.sessionTimeoutMs) {
      throw new Error(`heartbeat.interval (${this.heartbeatIntervalMs} ms) must be less than half of session.timeout (${this.sessionTimeoutMs} ms)`);
    }
    const expiry = options.backend.leaderExpiryMs ?? 0;
    if (this.sessionTimeoutMs <= expiry + 2 * this.heartbeatIntervalMs) {
      this.log.warn(
        { sessionTimeoutMs: this.sessionTimeoutMs, heartbeatIntervalMs: this.heartbeatIntervalMs, leaderExpiryMs: expiry },
        `session.timeout.ms leaves no room for a leader failover: if the leader dies, every worker fences itself before a successor can be elected (${expiry} ms). Raise session.timeout.ms above ${expiry + 2 * this.heartbeatIntervalMs} ms`,
      );
    }
    this.worker = new Worker({
      id: options.id,
      kafka: { brokers: options.kafka.brokers, producerClient: options.kafka.producerClient, security: options.kafka.security },
      createProducer: options.kafka.createProducer,
      plugins: options.plugins,
      allowedPaths: options.allowedPaths,
      offsets: this.offsets,
      offsetFlushIntervalMs: options.offsetFlushIntervalMs,
      maxInFlightRecords: options.maxInFlightRecords,
      maxInFlightBytes: options.maxInFlightBytes,
      logger: options.logger,
      metrics: this.metrics,
      converterDefaults: options.converterDefaults,
      cluster: options.cluster,
      exactlyOnce: options.exactlyOnce,
    });
  }

  /** This worker as others see it (set once started). */
  get self(): WorkerInfo {
    if (!this.selfInfo) throw new FailedPreconditionError('worker not started');
    return this.selfInfo;
  }

  /** The Leader while this worker is elected. */
  get leader(): Leader | undefined {
    return this.leaderValue;
  }

  get membership(): ClusterMember | undefined {
    return this.member;
  }

  async start(): Promise<void> {
    const { backend } = this.options;
    addService(this.server, CoordinatorService, {
      session: (requests: AsyncIterable<SessionRequest>, context) => {
        if (this.options.tls && !context.peerCertificate) {
          this.log.warn({ peer: context.peer }, 'refused a session: the peer has no certificate signed by the cluster CA');
          throw new UnauthenticatedError(
            `worker ${this.options.id} accepts sessions only from workers whose certificate is signed by the cluster CA (grpc.tls.ca.file); the one this worker presented is missing or signed by another CA`,
          );
        }
        const leader = this.leaderValue;
        if (!leader) throw new FailedPreconditionError(`worker ${this.options.id} is not the leader`);
        return leader.session(requests, context.signal);
      },
    });
    addService(this.server, Health, healthWatch(this.health, HealthCheckResponse_ServingStatus));
    this.options.registerServices?.(this.server, this);
    // TLS asks every client for a certificate but lets the services decide: a session without a
    // verified one is refused with UNAUTHENTICATED saying why (a handshake failure says nothing).
    const port = await bindServer(this.server, this.options.listen, this.options.tls?.serverCredentials('requested'));
    const host = this.options.listen.slice(0, this.options.listen.lastIndexOf(':'));
    this.selfInfo = { id: this.options.id, address: this.options.advertisedAddress ?? `${host}:${port}`, capacity: this.options.capacity ?? 1, version: VERSION };

    await untilReached(this.health, 'coordinator', () => backend.start(), this.stopping.signal, this.log);
    await this.worker.start();
    await untilReached(this.health, 'kafka', () => this.worker.admin.listTopics(), this.stopping.signal, this.log);
    await backend.register(this.selfInfo);
    this.member = new ClusterMember({
      self: this.selfInfo,
      backend,
      worker: this.worker,
      offsets: this.offsets,
      sessionTimeoutMs: this.sessionTimeoutMs,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      reportIntervalMs: this.options.offsetFlushIntervalMs ?? 1_000,
      logger: this.log,
      metrics: this.metrics,
      health: this.health,
      onFatal: this.options.onFatal,
      credentials: this.clientCredentials,
    });
    this.options.metrics?.bind?.(metricsView(this));
    this.member.start();
    this.campaigning = this.campaign();
    this.log.info({ address: this.selfInfo.address, backend: backend.kind }, 'worker started');
  }

  private async campaign(): Promise<void> {
    const { backend } = this.options;
    while (!this.stopping.signal.aborted) {
      let leadership;
      try {
        leadership = await backend.campaign(this.self, this.stopping.signal);
      } catch (err) {
        this.log.warn({ err: describeError(err).message }, 'campaign failed; retrying');
        await sleep(1_000, this.stopping.signal);
        continue;
      }
      if (!leadership) return;
      try {
        const snapshot = await backend.snapshot();
        const leader = new Leader({
          self: this.self,
          leadership: observeLeadership(leadership, this.metrics),
          snapshot,
          discover: (connector: ConnectorRecord, signal: AbortSignal): AsyncIterable<{ snapshot: boolean; added: PartitionRecord[]; removed: string[] }> =>
            discoverPartitions(this.worker, connector, signal, this.options.topicDiscoveryIntervalMs ?? 5_000, this.log),
          lifecycle: pluginLifecycle(this.worker, 30_000),
          sessionTimeoutMs: this.sessionTimeoutMs,
          heartbeatIntervalMs: this.heartbeatIntervalMs,
          flushIntervalMs: this.options.offsetFlushIntervalMs ?? 1_000,
          logger: this.log,
        });
        this.leaderValue = leader;
        leader.start();
        this.metrics.elected(leadership.term);
        this.log.info({ term: String(leadership.term) }, 'elected leader');
        await new Promise<void>((resolve) => {
          if (leadership.lost.aborted || this.stopping.signal.aborted) return resolve();
          leadership.lost.addEventListener('abort', () => resolve(), { once: true });
          this.stopping.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        if (!this.stopping.signal.aborted) {
          this.leaderValue = undefined;
          await leader.stop('leadership lost');
        }
      } catch (err) {
        this.log.error({ err: describeError(err).message }, 'leadership ended with an error');
        this.leaderValue = undefined;
        await leadership.resign().catch(() => {});
      }
    }
  }

  /** The leader's Leader object, or UNAVAILABLE naming what to do (for admin writes). */
  requireLeader(): Leader {
    if (!this.leaderValue) throw new UnavailableError(`worker ${this.options.id} is not the leader`);
    return this.leaderValue;
  }

  /**
   * SIGTERM: hand every partition over through the leader (each drained, zero duplicates), give
   * leadership up, stop. Bounded by `deadlineMs`.
   */
  async stop(deadlineMs = 30_000): Promise<void> {
    if (this.stopping.signal.aborted) return;
    const started = Date.now();
    this.health.shuttingDown();
    await this.member?.leave(deadlineMs);
    this.stopping.abort();
    await this.member?.stop();
    const leader = this.leaderValue;
    this.leaderValue = undefined;
    await leader?.stop('worker stopping');
    await this.campaigning;
    await this.worker.stop();
    await this.options.backend.stop();
    await shutdownServer(this.server, Math.max(100, deadlineMs - (Date.now() - started)));
    this.log.info({ ms: Date.now() - started }, 'worker stopped');
  }
}
