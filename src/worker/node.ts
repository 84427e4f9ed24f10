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
import { addService, bindServer, defaultServerOptions, shutdownServer } from '../grpc/index.js';
import type { ProducerClient } from '../kafka/index.js';
import type { PluginHost } from '../plugins/index.js';
import { FailedPreconditionError, UnavailableError, describeError } from '../errors.js';
import { sleep } from '../util/iterate.js';
import { AssignedOffsetStore } from './assigned-offset-store.js';
import { ClusterMember } from './cluster-member.js';
import { discoverPartitions, pluginLifecycle } from './leader-discovery.js';
import { Worker } from './worker.js';

export const VERSION = '0.1.0';

export interface WorkerNodeOptions {
  id: string;
  /** host:port to listen on (port 0 picks one). */
  listen: string;
  /** host:port others reach this worker at; defaults to the bound listen address. */
  advertisedAddress?: string;
  capacity?: number;
  backend: CoordinatorBackend;
  kafka: { brokers: string[]; producerClient?: ProducerClient };
  plugins: PluginHost;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  offsetFlushIntervalMs?: number;
  topicDiscoveryIntervalMs?: number;
  maxInFlightRecords?: number;
  logger: Logger;
  /** Registers more services (Admin) on the same server. */
  registerServices?: (server: grpc.Server, node: WorkerNode) => void;
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

  constructor(readonly options: WorkerNodeOptions) {
    this.log = options.logger.child({ workerId: options.id });
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 3_000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 500;
    if (this.heartbeatIntervalMs * 2 >= this.sessionTimeoutMs) {
      throw new Error(`heartbeat.interval (${this.heartbeatIntervalMs} ms) must be less than half of session.timeout (${this.sessionTimeoutMs} ms)`);
    }
    this.worker = new Worker({
      id: options.id,
      kafka: { brokers: options.kafka.brokers, producerClient: options.kafka.producerClient },
      plugins: options.plugins,
      offsets: this.offsets,
      offsetFlushIntervalMs: options.offsetFlushIntervalMs,
      maxInFlightRecords: options.maxInFlightRecords,
      logger: options.logger,
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
        const leader = this.leaderValue;
        if (!leader) throw new FailedPreconditionError(`worker ${this.options.id} is not the leader`);
        return leader.session(requests, context.signal);
      },
    });
    addService(this.server, Health, {
      check: async () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
      async *watch(_request, context) {
        yield { status: HealthCheckResponse_ServingStatus.SERVING };
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
      },
    });
    this.options.registerServices?.(this.server, this);
    const port = await bindServer(this.server, this.options.listen);
    const host = this.options.listen.slice(0, this.options.listen.lastIndexOf(':'));
    this.selfInfo = { id: this.options.id, address: this.options.advertisedAddress ?? `${host}:${port}`, capacity: this.options.capacity ?? 1, version: VERSION };

    await backend.start();
    await this.worker.start();
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
    });
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
          leadership,
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
