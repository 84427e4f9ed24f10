/**
 * The data plane of one worker process: the Kafka components it shares between connectors
 * (partition reader, topic admin, group-offset store), the worker-wide credit pool that bounds
 * records in flight, and one ConnectorRuntime per connector with partitions here. It does not
 * decide what runs where: the standalone runner or the cluster session does, through
 * `openConnector` and the runtimes' `startPartition` / `stopPartition`.
 */
import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { OffsetStore } from '../coordinator/index.js';
import {
  createGroupOffsetStore,
  createPartitionReader,
  createProducer,
  createTopicAdmin,
  validateConnection,
  type GroupOffsetStore,
  type KafkaConnectionConfig,
  type KafkaSecurityProperties,
  type PartitionReader,
  type ProducerClient,
  type TopicAdmin,
} from '../kafka/index.js';
import type { PluginHost } from '../plugins/index.js';
import { FailedPreconditionError, InvalidArgumentError } from '../errors.js';
import { resolveConfigReferences } from './config-references.js';
import { ConnectorRuntime, type ProducerFactory } from './connector-runtime.js';
import { SharedProducer } from './shared-producer.js';
import { PluginInstances } from './plugin-instances.js';
import { CreditPool } from './credits.js';
import type { RecordProcessor } from './processing.js';
import type { StopReason } from './task.js';
import { noopMetrics, type WorkerMetrics } from '../observability/index.js';
import { AllowedPaths } from '../util/allowed-paths.js';

export interface WorkerOptions {
  id?: string;
  kafka: {
    brokers: string[];
    /** Which client produces: the faster one by measurement is the default (docs/performance.md). */
    producerClient?: ProducerClient;
    requestTimeoutMs?: number;
    /**
     * Kafka security properties by Kafka's names (`security.protocol`, `sasl.*`, `ssl.*`) for
     * every client of this worker; a connector's `producer.override.*` etc. lay theirs on top.
     */
    security?: KafkaSecurityProperties;
  };
  plugins: PluginHost;
  offsets: OffsetStore;
  /** Records in flight over the whole worker (credits granted to sources plus unflushed sink records). */
  maxInFlightRecords?: number;
  /** Bytes in flight over the whole worker (key + value + headers of the records counted above). */
  maxInFlightBytes?: number;
  /** How often committed offsets are written out (and mirrored to sink groups). */
  offsetFlushIntervalMs?: number;
  /** How long a plugin may take to answer a drain, and a sink its final flush. */
  drainTimeoutMs?: number;
  /** Bound for Describe and Validate calls. */
  pluginCallTimeoutMs?: number;
  processor?: RecordProcessor;
  /** Creates source producers; tests wrap the real one (e.g. to make Kafka slow). */
  createProducer?: ProducerFactory;
  logger?: Logger;
  /** Counters and histograms, per batch (docs/metrics.md). */
  metrics?: WorkerMetrics;
  /** Where `${file:…}` config references may point (docs/security.md). Default: `$TRIBUTARY_ALLOWED_PATHS`, else none. */
  allowedPaths?: AllowedPaths;
  /** Worker-level `key.converter`, `value.converter`, `header.converter` (+ their `.*` settings). */
  converterDefaults?: Readonly<Record<string, string>>;
  /** The cluster's name: part of exactly-once transactional ids and of the default offsets topic. */
  cluster?: string;
  /** Exactly-once sources (docs/exactly-once.md). */
  exactlyOnce?: {
    /** Kafka Connect's worker `exactly.once.source.support`; default enabled. */
    sourceSupport?: 'enabled' | 'disabled';
    /** Kafka Connect's worker `offset.storage.topic`; default `tributary-<cluster>-offsets`. */
    offsetsTopic?: string;
  };
}

/** The worker's exactly-once settings, compiled. */
export interface WorkerExactlyOnce {
  cluster: string;
  sourceSupport: 'enabled' | 'disabled';
  offsetsTopic: string;
}

export interface CompiledWorkerOptions {
  id: string;
  brokers: string[];
  producerClient: ProducerClient;
  requestTimeoutMs: number;
  security: KafkaSecurityProperties;
  maxInFlightRecords: number;
  maxInFlightBytes: number;
  offsetFlushIntervalMs: number;
  drainTimeoutMs: number;
  pluginCallTimeoutMs: number;
  exactlyOnce: WorkerExactlyOnce;
}

export const DEFAULT_MAX_INFLIGHT_RECORDS = 500_000;
export const DEFAULT_MAX_INFLIGHT_BYTES = 512 * 1024 * 1024;

/** Every default in one place; durations in ms. */
export function compileWorkerOptions(options: WorkerOptions): CompiledWorkerOptions {
  if (options.kafka.brokers.length === 0) throw new Error('worker needs at least one Kafka broker (KAFKA_BOOTSTRAP)');
  return {
    id: options.id ?? `worker-${randomUUID().slice(0, 8)}`,
    brokers: options.kafka.brokers,
    producerClient: options.kafka.producerClient ?? 'platformatic',
    requestTimeoutMs: options.kafka.requestTimeoutMs ?? 30_000,
    security: { ...options.kafka.security },
    maxInFlightRecords: options.maxInFlightRecords ?? DEFAULT_MAX_INFLIGHT_RECORDS,
    maxInFlightBytes: options.maxInFlightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES,
    offsetFlushIntervalMs: options.offsetFlushIntervalMs ?? 1_000,
    drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
    pluginCallTimeoutMs: options.pluginCallTimeoutMs ?? 30_000,
    exactlyOnce: compileExactlyOnce(options),
  };
}

function compileExactlyOnce(options: WorkerOptions): WorkerExactlyOnce {
  const cluster = options.cluster ?? 'tributary';
  const sourceSupport = options.exactlyOnce?.sourceSupport ?? 'enabled';
  if (sourceSupport !== 'enabled' && sourceSupport !== 'disabled') {
    throw new InvalidArgumentError('invalid worker config', [{ key: 'exactly.once.source.support', message: `must be enabled or disabled, got "${String(sourceSupport)}"` }]);
  }
  const offsetsTopic = options.exactlyOnce?.offsetsTopic ?? `tributary-${cluster.replace(/[^A-Za-z0-9._-]/g, '_')}-offsets`.slice(0, 249);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(offsetsTopic)) {
    throw new InvalidArgumentError('invalid worker config', [{ key: 'offset.storage.topic', message: `"${offsetsTopic}" is not a valid Kafka topic name` }]);
  }
  return { cluster, sourceSupport, offsetsTopic };
}

export class Worker {
  readonly options: CompiledWorkerOptions;
  readonly credits: CreditPool;
  /** The worker's byte pool, beside the record pool `credits`. */
  readonly byteCredits: CreditPool;
  readonly log: Logger;
  readonly reader: PartitionReader;
  /** read_committed: the exactly-once offsets topic, and sinks with delivery.guarantee=exactly-once. */
  readonly committedReader: PartitionReader;
  readonly admin: TopicAdmin;
  readonly groupOffsets: GroupOffsetStore;
  /** How this worker's clients reach Kafka (security included; a connector may override parts). */
  readonly connection: KafkaConnectionConfig;
  private readonly runtimes = new Map<string, ConnectorRuntime>();
  /** The producer of every at-least-once source connector without producer overrides. */
  readonly sharedProducer: SharedProducer;
  /** One plugin process per connector on this worker, shared by its runtime and the leader's work. */
  readonly instances: PluginInstances;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly input: WorkerOptions) {
    this.options = compileWorkerOptions(input);
    this.log = (input.logger ?? pino({ level: 'silent' })).child({ workerId: this.options.id });
    this.credits = new CreditPool(this.options.maxInFlightRecords);
    this.byteCredits = new CreditPool(this.options.maxInFlightBytes);
    this.instances = new PluginInstances(input.plugins, this.log, input.metrics ?? noopMetrics);
    const connection: KafkaConnectionConfig = {
      brokers: this.options.brokers,
      clientId: `tributary-${this.options.id}`,
      requestTimeoutMs: this.options.requestTimeoutMs,
      // Worker-level settings come from the operator's config file, so a token command is allowed.
      ...(Object.keys(this.options.security).length > 0 ? { security: { properties: this.options.security, allowCommand: true } } : {}),
    };
    this.connection = connection;
    // Checked for the producer's client too (the reader, admin and group offsets are platformatic).
    validateConnection(connection, this.options.producerClient);
    this.reader = createPartitionReader(connection);
    this.committedReader = createPartitionReader(connection, { isolationLevel: 'read_committed' });
    this.admin = createTopicAdmin(connection);
    this.groupOffsets = createGroupOffsetStore(connection);
    const factory = input.createProducer ?? createProducer;
    this.sharedProducer = new SharedProducer(() => factory({ ...connection, clientId: `tributary-${this.options.id}-shared` }, { client: this.options.producerClient, idempotent: true, compression: 'none' }));
  }

  get plugins(): PluginHost {
    return this.input.plugins;
  }

  /** The worker's `allowed.paths`, which `${file:…}` references obey. */
  get allowedPaths(): AllowedPaths {
    return (this.allowedPathsValue ??= this.input.allowedPaths ?? AllowedPaths.fromEnvironment());
  }

  private allowedPathsValue: AllowedPaths | undefined;

  get offsets(): OffsetStore {
    return this.input.offsets;
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.input.offsets.start();
    await Promise.all([this.reader.start(), this.committedReader.start(), this.admin.start(), this.groupOffsets.start()]);
    this.started = true;
    this.log.info({ brokers: this.options.brokers, producer: this.options.producerClient }, 'worker data plane started');
  }

  /** Starts a connector's runtime here (plugin, producer); its partitions are started separately. */
  async openConnector(name: string, config: Record<string, string>): Promise<ConnectorRuntime> {
    // ${env:…} / ${file:…} are resolved here, on the worker that runs the connector, and only
    // here (the leader keeps the references). Before the checks: nothing may await between them
    // and registering the runtime.
    const resolved = await resolveConfigReferences(config, { allowedPaths: this.allowedPaths });
    if (!this.started || this.stopping) throw new FailedPreconditionError('worker is not running');
    if (this.runtimes.has(name)) throw new FailedPreconditionError(`connector "${name}" is already open on this worker`);
    const runtime = new ConnectorRuntime({
      name,
      config: resolved,
      plugins: this.instances,
      kafka: { connection: this.connection, producerClient: this.options.producerClient, createProducer: this.input.createProducer ?? createProducer, sharedProducer: () => this.sharedProducer.acquire(), reader: this.reader, committedReader: this.committedReader, exactlyOnce: this.options.exactlyOnce, admin: this.admin, groupOffsets: this.groupOffsets },
      offsets: this.input.offsets,
      credits: this.credits,
      byteCredits: this.byteCredits,
      logger: this.log,
      processor: this.input.processor,
      flushIntervalMs: this.options.offsetFlushIntervalMs,
      pluginCallTimeoutMs: this.options.pluginCallTimeoutMs,
      drainTimeoutMs: this.options.drainTimeoutMs,
      metrics: this.input.metrics,
      converterDefaults: this.input.converterDefaults,
    });
    this.runtimes.set(name, runtime);
    try {
      await runtime.start();
    } catch (err) {
      this.runtimes.delete(name);
      throw err;
    }
    return runtime;
  }

  connector(name: string): ConnectorRuntime | undefined {
    return this.runtimes.get(name);
  }

  connectors(): ConnectorRuntime[] {
    return [...this.runtimes.values()];
  }

  /** Drains a connector's tasks and closes its runtime. */
  async closeConnector(name: string, reason: StopReason = 'stop'): Promise<void> {
    const runtime = this.runtimes.get(name);
    if (!runtime) return;
    await runtime.stop(reason);
    this.runtimes.delete(name);
  }

  /** Drains every connector (SIGTERM path), then closes Kafka components and flushes offsets. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled([...this.runtimes.keys()].map((name) => this.closeConnector(name, 'stop')));
      await Promise.allSettled([this.reader.stop(), this.committedReader.stop(), this.admin.stop(), this.groupOffsets.stop()]);
      await this.input.offsets.stop();
      this.log.info('worker data plane stopped');
    })();
    return this.stopping;
  }
}
