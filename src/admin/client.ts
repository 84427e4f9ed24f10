/**
 * AdminClient: the admin API for programs, with plain data in and out (see model.ts). Every
 * worker answers (writes are forwarded to the leader), so any worker's address will do.
 *
 * ```ts
 * import { AdminClient } from 'tributary';
 * const admin = new AdminClient('127.0.0.1:8083');
 * await admin.connectors.create('orders', { 'connector.class': 'verifiable-source', topic: 'orders' });
 * console.log(await admin.connectors.status('orders'));
 * admin.close();
 * ```
 *
 * Errors are Tributary errors (src/errors.ts): InvalidArgumentError with `.problems` (one
 * `{key, message}` per bad key), NotFoundError, AlreadyExistsError, FailedPreconditionError,
 * UnavailableError (no worker or no leader reachable), DeadlineExceededError.
 */
import type * as grpc from '@grpc/grpc-js';
import { AdminService } from '../gen/tributary/admin/v1/admin_pb.js';
import { createClient, type Client } from '../grpc/index.js';
import {
  toClusterInfo,
  toConnectorInfo,
  toConnectorStatus,
  toPartitionOffset,
  toPluginInfo,
  toValidationResult,
  toWorkerStatus,
  type ClusterInfo,
  type ConnectorInfo,
  type ConnectorStatus,
  type PartitionOffset,
  type PluginInfo,
  type StatusEvent,
  type TargetStateName,
  type ValidationResult,
  type WorkerStatus,
  type WorkerRecordCounters,
} from './model.js';

export type AdminRpcClient = Client<(typeof AdminService)['method']>;

export interface AdminClientOptions {
  /** Deadline of each call (default 30 s). WatchStatus has none: it runs until aborted. */
  timeoutMs?: number;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** Bearer token sent with every call, for workers that require one (docs/security.md). */
  token?: string;
  /**
   * Metadata for one call, read when the call is made (the REST API passes its caller's
   * `authorization` through this way); merged over `token`.
   */
  callMetadata?: () => Record<string, string> | undefined;
}

/** New offsets per stream partition: text or bytes; null removes the partition's offset. */
export type OffsetChanges = Record<string, string | Uint8Array | null> | Map<string, string | Uint8Array | null>;

export class AdminClient {
  /** The generated-shape client, for anything the friendly methods do not cover. */
  readonly rpc: AdminRpcClient;
  private readonly timeoutMs: number;
  private readonly callMetadata: (() => Record<string, string> | undefined) | undefined;

  /** @param address a worker's `host:port` (any worker: non-leaders forward to the leader) */
  constructor(
    readonly address: string,
    options: AdminClientOptions = {},
  ) {
    this.rpc = createClient(AdminService, address, { credentials: options.credentials, channelOptions: options.channelOptions, metadata: options.token ? { authorization: `Bearer ${options.token}` } : undefined });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.callMetadata = options.callMetadata;
  }

  private get call() {
    return { timeoutMs: this.timeoutMs, metadata: this.callMetadata?.() };
  }

  readonly connectors = {
    /** Connector names, sorted. */
    list: async (): Promise<string[]> => (await this.rpc.listConnectors({}, this.call)).names,
    /** Every connector's definition (secrets masked). */
    infos: async (): Promise<ConnectorInfo[]> => (await this.rpc.listConnectors({ expandInfo: true }, this.call)).infos.map(toConnectorInfo),
    /** Every connector's status. */
    statuses: async (): Promise<ConnectorStatus[]> => (await this.rpc.listConnectors({ expandStatus: true }, this.call)).statuses.map(toConnectorStatus),
    /** Every connector's definition and status, in one call (`?expand=info&expand=status`). */
    overview: async (): Promise<Array<{ info: ConnectorInfo; status: ConnectorStatus | undefined }>> => {
      const res = await this.rpc.listConnectors({ expandInfo: true, expandStatus: true }, this.call);
      const statuses = new Map(res.statuses.map((s) => [s.name, toConnectorStatus(s)]));
      return res.infos.map((i) => ({ info: toConnectorInfo(i), status: statuses.get(i.name) }));
    },
    /** NOT_FOUND if unknown. */
    get: async (name: string): Promise<ConnectorInfo> => toConnectorInfo(required((await this.rpc.getConnector({ name }, this.call)).info, 'info')),
    /**
     * Creates a connector (validated first: INVALID_ARGUMENT naming bad keys, NOT_FOUND for an
     * unknown plugin, ALREADY_EXISTS for a taken name). It starts RUNNING unless told otherwise.
     */
    create: async (name: string, config: Record<string, string>, options: { initialState?: TargetStateName } = {}): Promise<ConnectorInfo> =>
      toConnectorInfo(required((await this.rpc.createConnector({ name, config, initialState: options.initialState ?? '' }, this.call)).info, 'info')),
    /** Creates or replaces a connector's config; a masked secret (`********`) keeps its stored value. */
    put: async (name: string, config: Record<string, string>): Promise<{ created: boolean; info: ConnectorInfo }> => {
      const res = await this.rpc.putConnectorConfig({ name, config }, this.call);
      return { created: res.created, info: toConnectorInfo(required(res.info, 'info')) };
    },
    delete: async (name: string): Promise<void> => void (await this.rpc.deleteConnector({ name }, this.call)),
    status: async (name: string): Promise<ConnectorStatus> => toConnectorStatus(required((await this.rpc.getConnectorStatus({ name }, this.call)).status, 'status')),
    /** Target state PAUSED: tasks stop producing but keep their partitions. */
    pause: async (name: string): Promise<void> => void (await this.rpc.pauseConnector({ name }, this.call)),
    /** Target state RUNNING (from PAUSED or STOPPED). */
    resume: async (name: string): Promise<void> => void (await this.rpc.resumeConnector({ name }, this.call)),
    /** Target state STOPPED: every partition is released; offsets are kept. */
    stop: async (name: string): Promise<void> => void (await this.rpc.stopConnector({ name }, this.call)),
    /** Restarts the connector (its partition discovery) and, with includeTasks, its partitions; onlyFailed limits both to FAILED ones. */
    restart: async (name: string, options: { includeTasks?: boolean; onlyFailed?: boolean } = {}): Promise<ConnectorStatus> =>
      toConnectorStatus(required((await this.rpc.restartConnector({ name, includeTasks: options.includeTasks ?? false, onlyFailed: options.onlyFailed ?? false }, this.call)).status, 'status')),
    /** Restarts one stream partition from its committed offset. */
    restartPartition: async (name: string, partition: string): Promise<void> => void (await this.rpc.restartPartition({ name, partition }, this.call)),
    /** Topics named by the config plus a sink's discovered topics (no active-topic tracking). */
    topics: async (name: string): Promise<string[]> => (await this.rpc.getConnectorTopics({ name }, this.call)).topics,
    /** Kafka Connect compatibility: nothing is tracked, so only checks that the connector exists. */
    resetTopics: async (name: string): Promise<void> => void (await this.rpc.resetConnectorTopics({ name }, this.call)),
  };

  readonly offsets = {
    /** Committed offsets, per stream partition. */
    get: async (name: string): Promise<PartitionOffset[]> => (await this.rpc.getOffsets({ name }, this.call)).offsets.map(toPartitionOffset),
    /** Only while STOPPED (FAILED_PRECONDITION otherwise); INVALID_ARGUMENT for malformed entries. */
    alter: async (name: string, changes: OffsetChanges): Promise<void> => {
      const entries = changes instanceof Map ? [...changes] : Object.entries(changes);
      const offsets = entries.map(([partition, v]) =>
        v === null ? { partition } : typeof v === 'string' ? { partition, text: v } : { partition, offset: v },
      );
      await this.rpc.alterOffsets({ name, offsets }, this.call);
    },
    /** Removes every committed offset (a sink's group goes back to its auto.offset.reset position). Only while STOPPED. */
    reset: async (name: string): Promise<void> => void (await this.rpc.resetOffsets({ name }, this.call)),
  };

  readonly plugins = {
    list: async (): Promise<PluginInfo[]> => (await this.rpc.listPlugins({}, this.call)).plugins.map(toPluginInfo),
  };

  readonly config = {
    /** Checks a config (it names its plugin in connector.class); problems come back per key, not thrown. */
    validate: async (config: Record<string, string>): Promise<ValidationResult> => toValidationResult(await this.rpc.validateConfig({ config }, this.call)),
  };

  readonly workers = {
    list: async (): Promise<WorkerStatus[]> => (await this.rpc.listWorkers({}, this.call)).workers.map(toWorkerStatus),
  };

  readonly cluster = {
    info: async (): Promise<ClusterInfo> => toClusterInfo(await this.rpc.getCluster({}, this.call)),
  };

  /** Record counters of the worker this client talks to (not forwarded). */
  readonly recordCounters = {
    get: async (): Promise<WorkerRecordCounters> => {
      const r = await this.rpc.getRecordCounters({}, this.call);
      return {
        workerId: r.workerId,
        startedAtMs: Number(r.startedAtMs),
        connectors: r.connectors.map((c) => ({ connector: c.connector, sourceRecordsProduced: Number(c.sourceRecordsProduced), sinkRecordsWritten: Number(c.sinkRecordsWritten) })),
      };
    },
  };

  /** Log level of the worker this client talks to (not forwarded). */
  readonly logLevel = {
    get: async (): Promise<string> => (await this.rpc.getLogLevel({}, this.call)).level,
    /** Returns the previous level. */
    set: async (level: string): Promise<string> => (await this.rpc.setLogLevel({ level }, this.call)).previous,
  };

  /**
   * The current status of each connector (or of `name` only), then every change, until `signal`
   * aborts (the iteration then just ends). NOT_FOUND when `name` is unknown.
   */
  async *watchStatus(name = '', options: { signal?: AbortSignal } = {}): AsyncGenerator<StatusEvent> {
    try {
      for await (const r of this.rpc.watchStatus({ name }, { signal: options.signal, metadata: this.callMetadata?.() })) {
        const event: StatusEvent = { connector: r.status?.name ?? '', deleted: r.deleted };
        if (!r.deleted && r.status) event.status = toConnectorStatus(r.status);
        yield event;
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      throw err;
    }
  }

  /** Closes the channel. */
  close(): void {
    this.rpc.close();
  }
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new Error(`the server's answer has no ${field}`);
  return value;
}
