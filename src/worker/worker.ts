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
import { createGroupOffsetStore, createPartitionReader, createProducer, createTopicAdmin, type GroupOffsetStore, type PartitionReader, type ProducerClient, type TopicAdmin } from '../kafka/index.js';
import type { PluginHost } from '../plugins/index.js';
import { FailedPreconditionError } from '../errors.js';
import { resolveConfigReferences } from './config-references.js';
import { ConnectorRuntime, type ProducerFactory } from './connector-runtime.js';
import { PluginInstances } from './plugin-instances.js';
import { CreditPool } from './credits.js';
import type { RecordProcessor } from './processing.js';
import type { StopReason } from './task.js';

export interface WorkerOptions {
  id?: string;
  kafka: {
    brokers: string[];
    /** Which client produces: the faster one by measurement is the default (docs/performance.md). */
    producerClient?: ProducerClient;
    requestTimeoutMs?: number;
  };
  plugins: PluginHost;
  offsets: OffsetStore;
  /** Records in flight over the whole worker (credits granted to sources plus unflushed sink records). */
  maxInFlightRecords?: number;
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
}

export interface CompiledWorkerOptions {
  id: string;
  brokers: string[];
  producerClient: ProducerClient;
  requestTimeoutMs: number;
  maxInFlightRecords: number;
  offsetFlushIntervalMs: number;
  drainTimeoutMs: number;
  pluginCallTimeoutMs: number;
}

/** Every default in one place; durations in ms. */
export function compileWorkerOptions(options: WorkerOptions): CompiledWorkerOptions {
  if (options.kafka.brokers.length === 0) throw new Error('worker needs at least one Kafka broker (KAFKA_BOOTSTRAP)');
  return {
    id: options.id ?? `worker-${randomUUID().slice(0, 8)}`,
    brokers: options.kafka.brokers,
    producerClient: options.kafka.producerClient ?? 'platformatic',
    requestTimeoutMs: options.kafka.requestTimeoutMs ?? 30_000,
    maxInFlightRecords: options.maxInFlightRecords ?? 500_000,
    offsetFlushIntervalMs: options.offsetFlushIntervalMs ?? 1_000,
    drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
    pluginCallTimeoutMs: options.pluginCallTimeoutMs ?? 30_000,
  };
}

export class Worker {
  readonly options: CompiledWorkerOptions;
  readonly credits: CreditPool;
  readonly log: Logger;
  readonly reader: PartitionReader;
  readonly admin: TopicAdmin;
  readonly groupOffsets: GroupOffsetStore;
  private readonly runtimes = new Map<string, ConnectorRuntime>();
  /** One plugin process per connector on this worker, shared by its runtime and the leader's work. */
  readonly instances: PluginInstances;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly input: WorkerOptions) {
    this.options = compileWorkerOptions(input);
    this.log = (input.logger ?? pino({ level: 'silent' })).child({ workerId: this.options.id });
    this.credits = new CreditPool(this.options.maxInFlightRecords);
    this.instances = new PluginInstances(input.plugins, this.log);
    const connection = { brokers: this.options.brokers, clientId: `tributary-${this.options.id}`, requestTimeoutMs: this.options.requestTimeoutMs };
    this.reader = createPartitionReader(connection);
    this.admin = createTopicAdmin(connection);
    this.groupOffsets = createGroupOffsetStore(connection);
  }

  get plugins(): PluginHost {
    return this.input.plugins;
  }

  get offsets(): OffsetStore {
    return this.input.offsets;
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.input.offsets.start();
    await Promise.all([this.reader.start(), this.admin.start(), this.groupOffsets.start()]);
    this.started = true;
    this.log.info({ brokers: this.options.brokers, producer: this.options.producerClient }, 'worker data plane started');
  }

  /** Starts a connector's runtime here (plugin, producer); its partitions are started separately. */
  async openConnector(name: string, config: Record<string, string>): Promise<ConnectorRuntime> {
    // ${env:…} / ${file:…} are resolved here, on the worker that runs the connector, and only
    // here (the leader keeps the references). Before the checks: nothing may await between them
    // and registering the runtime.
    const resolved = await resolveConfigReferences(config);
    if (!this.started || this.stopping) throw new FailedPreconditionError('worker is not running');
    if (this.runtimes.has(name)) throw new FailedPreconditionError(`connector "${name}" is already open on this worker`);
    const runtime = new ConnectorRuntime({
      name,
      config: resolved,
      plugins: this.instances,
      kafka: { connection: { brokers: this.options.brokers, clientId: `tributary-${this.options.id}`, requestTimeoutMs: this.options.requestTimeoutMs }, producerClient: this.options.producerClient, createProducer: this.input.createProducer ?? createProducer, reader: this.reader, admin: this.admin, groupOffsets: this.groupOffsets },
      offsets: this.input.offsets,
      credits: this.credits,
      logger: this.log,
      processor: this.input.processor,
      flushIntervalMs: this.options.offsetFlushIntervalMs,
      pluginCallTimeoutMs: this.options.pluginCallTimeoutMs,
      drainTimeoutMs: this.options.drainTimeoutMs,
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
      await Promise.allSettled([this.reader.stop(), this.admin.stop(), this.groupOffsets.stop()]);
      await this.input.offsets.stop();
      this.log.info('worker data plane stopped');
    })();
    return this.stopping;
  }
}
