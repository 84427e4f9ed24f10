/**
 * One connector on this worker: its plugin instance (one per connector per worker), its Kafka
 * producer (sources), its group-offset mirror (sinks), and a task per stream partition assigned
 * here. Whoever owns assignment (the standalone runner, or the leader through the session) calls
 * `startPartition` / `stopPartition`; nothing else starts or stops a task, so a change elsewhere
 * never restarts a healthy one.
 */
import type { Logger } from 'pino';
import type { StreamPartition } from '../gen/tributary/connector/v1/connector_pb.js';
import { ConnectorKind } from '../gen/tributary/connector/v1/connector_pb.js';
import type { OffsetStore } from '../coordinator/index.js';
import {
  createGroupOffsetStore,
  createPartitionReader,
  createTopicAdmin,
  TOKEN_COMMAND_KEY,
  validateConnection,
  type GroupOffsetStore,
  type KafkaConnectionConfig,
  type PartitionReader,
  type ProducerClient,
  type ProducerOptions,
  type RecordProducer,
  type TopicAdmin,
} from '../kafka/index.js';
import { validateConfig, type HostedPluginInstance, type PluginInstance } from '../plugins/index.js';
import type { PluginInstances, PluginLease } from './plugin-instances.js';
import { FailedPreconditionError, InvalidArgumentError, describeError, type ConfigProblem } from '../errors.js';
import { parseConnectorSettings, type ClientRole, type ConnectorSettings } from './connector-settings.js';
import type { CreditPool } from './credits.js';
import { GroupOffsetMirror } from './group-offset-mirror.js';
import { ProcessingPipeline, type RecordProcessor } from './processing.js';
import { pluginBytesAs } from '../processing/aliases.js';
import { SinkTask } from './sink-task.js';
import { SourceTask } from './source-task.js';
import { OffsetsTopic, PartitionTransactions, transactionalIdFor, transactionalIdPrefix } from './exactly-once/index.js';
import type { WorkerExactlyOnce } from './worker.js';
import { TaskState, type TaskStatus } from './task-state.js';
import type { StopReason, Task } from './task.js';
import { noopMetrics, type WorkerMetrics } from '../observability/index.js';

/** Kafka access shared by every connector of a worker. */
export type ProducerFactory = (connection: KafkaConnectionConfig, options: ProducerOptions) => RecordProducer;

export interface WorkerKafka {
  connection: KafkaConnectionConfig;
  producerClient: ProducerClient;
  createProducer: ProducerFactory;
  /** A handle on the worker's shared producer (src/worker/shared-producer.ts), when it has one. */
  sharedProducer?: () => RecordProducer;
  reader: PartitionReader;
  /** read_committed (exactly-once offsets topic, exactly-once sinks). */
  committedReader: PartitionReader;
  exactlyOnce: WorkerExactlyOnce;
  admin: TopicAdmin;
  groupOffsets: GroupOffsetStore;
}

export interface ConnectorRuntimeOptions {
  name: string;
  config: Record<string, string>;
  /** Where the connector's plugin instance comes from (shared with the leader's discovery). */
  plugins: PluginInstances;
  kafka: WorkerKafka;
  offsets: OffsetStore;
  credits: CreditPool;
  /** The worker's byte pool (records' bytes in flight); without one only records are bounded. */
  byteCredits?: CreditPool;
  logger: Logger;
  processor?: RecordProcessor;
  flushIntervalMs: number;
  /** Bound for plugin calls made while starting (describe, validate). */
  pluginCallTimeoutMs?: number;
  drainTimeoutMs?: number;
  metrics?: WorkerMetrics;
  /** The worker's key/value/header converter settings, for converters the connector does not name. */
  converterDefaults?: Readonly<Record<string, string>>;
}

export type ConnectorKindName = 'source' | 'sink';

/** Checks a config against the worker's keys, the plugin's spec and the plugin's own Validate. */
export async function validateConnectorConfig(instance: PluginInstance, name: string, config: Record<string, string>, timeoutMs: number, converterDefaults?: Readonly<Record<string, string>>): Promise<ConnectorSettings> {
  const kind = instance.description.kind === ConnectorKind.SINK ? 'sink' : 'source';
  const problems: ConfigProblem[] = [];
  let settings: ConnectorSettings | undefined;
  try {
    settings = parseConnectorSettings(name, config, kind, converterDefaults);
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    problems.push(...err.problems);
  }
  problems.push(...validateConfig(instance.description.configKeys, config));
  const answer = await instance.plugin.validate({ connector: { name, config } }, { timeoutMs });
  problems.push(...answer.errors.map((e) => ({ key: e.key, message: e.message })));
  if (problems.length > 0 || !settings) throw new InvalidArgumentError(`invalid config for connector "${name}"`, dedupe(problems));
  return settings;
}

/**
 * The worker's connection with a connector's `<role>.override.*` security properties laid over the
 * worker's, key by key (Kafka Connect's override semantics); problems name the override keys.
 */
export function connectionWithOverrides(base: KafkaConnectionConfig, role: ClientRole, overrides: Readonly<Record<string, string>>): KafkaConnectionConfig {
  if (Object.keys(overrides).length === 0) return base;
  const prefix = `${role}.override.`;
  return {
    ...base,
    security: {
      properties: { ...base.security?.properties, ...overrides },
      keyName: (k) => (k in overrides ? `${prefix}${k}` : k),
      // A token command may come from the worker's config only (connector-settings refuses it).
      allowCommand: base.security?.allowCommand === true && !(TOKEN_COMMAND_KEY in overrides),
    },
  };
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.key}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export class ConnectorRuntime {
  readonly name: string;
  private instance: HostedPluginInstance | undefined;
  private lease: PluginLease | undefined;
  private producer: RecordProducer | undefined;
  /** Exactly-once sources: the offsets topic (each partition has its own transactional producer). */
  private offsetsTopic: OffsetsTopic | undefined;
  private mirror: GroupOffsetMirror | undefined;
  private settingsValue: ConnectorSettings | undefined;
  private pipeline: RecordProcessor | undefined;
  /** A sink's producer for its dead-letter topic (sources use their own producer). */
  private deadLetterProducer: RecordProducer | undefined;
  /** This connector's own Kafka clients where its overrides differ from the worker's; else the worker's. */
  private reader: PartitionReader | undefined;
  private admin: TopicAdmin | undefined;
  private groupOffsets: GroupOffsetStore | undefined;
  private readonly ownClients: { start(): Promise<void>; stop(): Promise<void> }[] = [];
  private readonly abort = new AbortController();
  private readonly tasks = new Map<string, Task>();
  private readonly log: Logger;
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ConnectorRuntimeOptions) {
    this.name = options.name;
    this.log = options.logger.child({ connector: options.name });
  }

  get config(): Record<string, string> {
    return this.options.config;
  }

  get kind(): ConnectorKindName {
    return this.instance?.description.kind === ConnectorKind.SINK ? 'sink' : 'source';
  }

  get settings(): ConnectorSettings {
    if (!this.settingsValue) throw new FailedPreconditionError(`connector "${this.name}" is not started`);
    return this.settingsValue;
  }

  get plugin(): PluginInstance {
    if (!this.instance) throw new FailedPreconditionError(`connector "${this.name}" is not started`);
    return this.instance;
  }

  /** Starts the plugin and checks the config; throws InvalidArgumentError naming bad keys. */
  async start(): Promise<void> {
    const { plugins, name, config, kafka, logger } = this.options;
    const pluginName = config['connector.class'] || config['plugin'];
    if (!pluginName) throw new InvalidArgumentError(`invalid config for connector "${name}"`, [{ key: 'connector.class', message: 'is required: the name of the plugin to run' }]);
    this.lease = await plugins.acquire(name, pluginName);
    this.instance = this.lease.instance;
    try {
      this.settingsValue = await validateConnectorConfig(this.instance, name, config, this.options.pluginCallTimeoutMs ?? 30_000, this.options.converterDefaults);
      const connections = this.clientConnections(this.settingsValue);
      await this.openOwnClients(connections);
      const admin = this.admin!;
      const errors = this.settingsValue.processing.errors;
      if (errors.deadLetterTopic !== undefined) {
        await admin.createTopics([{ name: errors.deadLetterTopic, partitions: 1, replicationFactor: errors.deadLetterReplicationFactor === -1 ? undefined : errors.deadLetterReplicationFactor }]);
      }
      if (this.kind === 'source' && this.settingsValue.exactlyOnce) {
        await this.createTopicIfAsked(this.settingsValue);
        this.offsetsTopic = await this.preflightExactlyOnce(this.settingsValue);
      } else if (this.kind === 'source') {
        await this.createTopicIfAsked(this.settingsValue);
        // At-least-once without producer overrides shares the worker's producer (one connection
        // for every connector; failures stay per partition through the send lanes).
        const shares =
          kafka.sharedProducer !== undefined && this.settingsValue.guarantee === 'at-least-once' && this.settingsValue.compression === 'none' && connections.producer === kafka.connection;
        this.producer = shares
          ? kafka.sharedProducer!()
          : kafka.createProducer({ ...connections.producer, clientId: `tributary-${name}` }, { client: kafka.producerClient, idempotent: true, compression: this.settingsValue.compression });
        await this.producer.start();
      } else {
        this.mirror = new GroupOffsetMirror(name, this.groupOffsets!);
        if (errors.deadLetterTopic !== undefined) {
          this.deadLetterProducer = kafka.createProducer({ ...connections.producer, clientId: `tributary-${name}-dlq` }, { client: kafka.producerClient, idempotent: true, compression: this.settingsValue.compression });
          await this.deadLetterProducer.start();
        }
      }
      const dlq = this.deadLetterProducer;
      this.pipeline = new ProcessingPipeline({
        settings: this.settingsValue.processing,
        logger: this.log,
        pluginBytesAs: pluginBytesAs(pluginName),
        writeDeadLetters: dlq ? (records) => dlq.send(records) : undefined,
        signal: this.abort.signal,
        counts: (c) => {
          const metrics = this.options.metrics;
          if (c.filtered) metrics?.recordsFiltered(name, c.filtered);
          if (c.deadLettered) metrics?.recordsDeadLettered(name, c.deadLettered);
          if (c.skipped) metrics?.recordsSkipped(name, c.skipped);
        },
      });
    } catch (err) {
      await this.closeResources();
      throw err;
    }
    this.flushTimer = setInterval(() => void this.flushOffsets(), this.options.flushIntervalMs);
    this.flushTimer.unref();
    logger.debug({ connector: name, kind: this.kind }, 'connector runtime started');
  }

  /**
   * Each client role's connection. Checked all at once before anything connects, so a bad
   * override fails the start with every offending key named (InvalidArgumentError).
   */
  private clientConnections(settings: ConnectorSettings): Record<ClientRole, KafkaConnectionConfig> {
    const { kafka } = this.options;
    const o = settings.clientOverrides;
    const connections = {
      producer: connectionWithOverrides(kafka.connection, 'producer', o.producer),
      consumer: connectionWithOverrides(kafka.connection, 'consumer', o.consumer),
      admin: connectionWithOverrides(kafka.connection, 'admin', o.admin),
    };
    const problems: ConfigProblem[] = [];
    const check = (conn: KafkaConnectionConfig, client: ProducerClient): void => {
      try {
        validateConnection(conn, client);
      } catch (err) {
        if (!(err instanceof InvalidArgumentError)) throw err;
        problems.push(...err.problems);
      }
    };
    if (this.kind === 'source' || settings.processing.errors.deadLetterTopic !== undefined) check(connections.producer, kafka.producerClient);
    if (this.kind === 'sink') check(connections.consumer, 'platformatic');
    check(connections.admin, 'platformatic');
    if (problems.length > 0) throw new InvalidArgumentError(`invalid Kafka client overrides for connector "${this.name}"`, dedupe(problems));
    return connections;
  }

  /** The worker's shared reader / admin / group-offset store, or this connector's own where it overrides them. */
  private async openOwnClients(connections: Record<ClientRole, KafkaConnectionConfig>): Promise<void> {
    const { kafka } = this.options;
    const own = <T extends { start(): Promise<void>; stop(): Promise<void> }>(client: T): T => {
      this.ownClients.push(client);
      return client;
    };
    const clientId = `tributary-${this.name}`;
    this.admin = connections.admin === kafka.connection ? kafka.admin : own(createTopicAdmin({ ...connections.admin, clientId: `${clientId}-admin` }, this.log));
    if (this.kind === 'sink') {
      // Kafka Connect commits a sink's group offsets with its consumer, so consumer.override.* applies to both.
      const shared = connections.consumer === kafka.connection;
      // Its own reader is read_committed as the worker's committedReader is, for an exactly-once sink.
      const isolation = this.settings.guarantee === 'exactly-once' ? { isolationLevel: 'read_committed' as const } : undefined;
      this.reader = shared ? undefined : own(createPartitionReader({ ...connections.consumer, clientId: `${clientId}-consumer` }, isolation, this.log));
      this.groupOffsets = shared ? kafka.groupOffsets : own(createGroupOffsetStore({ ...connections.consumer, clientId: `${clientId}-group-offsets` }, this.log));
    }
    await Promise.all(this.ownClients.map((c) => c.start()));
  }

  /**
   * KIP-618's preflight for an exactly-once source: the worker allows it, every broker offers the
   * transaction APIs, and the offsets topic exists (created compacted). Whether the principal may
   * use the transactional ids can only be proven by using them: with an authorizer present, the
   * first initTransactions of each partition fails FAILED_PRECONDITION naming the ACL.
   */
  private async preflightExactlyOnce(settings: ConnectorSettings): Promise<OffsetsTopic> {
    const { kafka } = this.options;
    const eos = kafka.exactlyOnce;
    if (eos.sourceSupport !== 'enabled') {
      throw new InvalidArgumentError(`invalid config for connector "${this.name}"`, [
        { key: 'delivery.guarantee', message: 'exactly-once needs a worker with exactly.once.source.support=enabled; this worker has it disabled' },
      ]);
    }
    const support = await kafka.admin.transactionSupport();
    if (support.missingApis.length > 0) {
      throw new FailedPreconditionError(
        `connector "${this.name}": delivery.guarantee=exactly-once needs Kafka transactions, but the brokers do not offer ${support.missingApis.join(', ')}; upgrade the brokers or use at-least-once`,
      );
    }
    const prefix = transactionalIdPrefix(eos.cluster);
    this.log.info(
      { authorizer: support.authorizer, transactionalIdPrefix: prefix },
      support.authorizer === 'none'
        ? 'exactly-once preflight: transactions supported; no authorizer on the brokers, so any principal may use the transactional ids'
        : `exactly-once preflight: transactions supported; ACLs are enforced: the principal needs WRITE and DESCRIBE on TransactionalId prefix "${prefix}" and WRITE on the data and offsets topics`,
    );
    const topic = new OffsetsTopic({ topic: settings.exactlyOnce?.offsetsTopic ?? eos.offsetsTopic, admin: kafka.admin, reader: kafka.committedReader });
    await topic.ensure();
    return topic;
  }

  /** Kafka Connect's topic.creation.default.* (KIP-158): create the source's topic up front. */
  private async createTopicIfAsked(settings: ConnectorSettings): Promise<void> {
    const partitions = this.options.config['topic.creation.default.partitions'];
    if (!settings.topic || partitions === undefined) return;
    const replication = this.options.config['topic.creation.default.replication.factor'];
    await (this.admin ?? this.options.kafka.admin).createTopics([{ name: settings.topic, partitions: Number(partitions), replicationFactor: replication === undefined || replication === '-1' ? undefined : Number(replication) }]);
  }

  private async flushOffsets(): Promise<void> {
    try {
      await this.options.offsets.flush();
      await this.mirror?.flush();
    } catch (err) {
      this.log.warn({ err: describeError(err).message }, 'offset flush failed; will retry');
    }
  }

  /** Runs a stream partition here. A partition already running is left alone. */
  async startPartition(partition: StreamPartition, epoch = 0n): Promise<void> {
    if (this.stopped) throw new FailedPreconditionError(`connector "${this.name}" is stopping`);
    const existing = this.tasks.get(partition.id);
    if (existing && ![TaskState.STOPPED, TaskState.FAILED].includes(existing.status().state)) return;
    // A FAILED task may be waiting for an automatic restart: end that before replacing it.
    if (existing?.status().state === TaskState.FAILED) await existing.stop('stop');
    const task = this.createTask(partition, epoch);
    this.tasks.set(partition.id, task);
    await task.start();
  }

  private createTask(partition: StreamPartition, epoch: bigint): Task {
    const { kafka, offsets, credits, byteCredits, logger, processor, drainTimeoutMs } = this.options;
    const common = {
      connector: { name: this.name, config: this.options.config },
      partition,
      settings: this.settings,
      epoch,
      plugin: this.plugin.plugin,
      offsets,
      credits,
      byteCredits,
      processor: processor ?? this.pipeline!,
      logger,
      drainTimeoutMs,
      restart: this.settings.restart,
      metrics: this.options.metrics ?? noopMetrics,
    };
    if (this.kind === 'source' && this.settings.exactlyOnce) {
      const exactlyOnce = this.settings.exactlyOnce;
      const offsetsTopic = this.offsetsTopic!;
      const transactionalId = transactionalIdFor(kafka.exactlyOnce.cluster, this.name, partition.id);
      const transactions = (): PartitionTransactions =>
        new PartitionTransactions({
          connector: this.name,
          partition: partition.id,
          epoch,
          transactionalId,
          producer: kafka.createProducer({ ...kafka.connection, clientId: `tributary-${this.name}` }, { client: kafka.producerClient, idempotent: true, compression: this.settings.compression, transactionalId }),
          offsetsTopic,
          logger: this.log.child({ partition: partition.id }),
        });
      return new SourceTask({ ...common, exactlyOnce: { settings: exactlyOnce, transactions } });
    }
    if (this.kind === 'source') return new SourceTask({ ...common, producer: this.producer! });
    // Exactly-once sinks read only committed records: an aborted source transaction never reaches the plugin.
    const reader = this.reader ?? (this.settings.guarantee === 'exactly-once' ? kafka.committedReader : kafka.reader);
    return new SinkTask({ ...common, reader, admin: this.admin ?? kafka.admin, groupOffsets: this.mirror!, flushIntervalMs: this.options.flushIntervalMs });
  }

  /** Drains and stops one partition; resolves with its final committed offset. */
  async stopPartition(id: string, reason: StopReason = 'revoke'): Promise<Uint8Array | undefined> {
    const task = this.tasks.get(id);
    if (!task) return undefined;
    const offset = await this.stopTask(task, reason);
    if (reason !== 'pause') this.tasks.delete(id);
    return offset;
  }

  /**
   * Stops a task; if its plugin did not drain in time, the plugin is hung: its child process is
   * killed (the host starts a fresh one) so the hang cannot hold anything else, and the
   * partition stays FAILED with the stage that hung. An in-process plugin cannot be killed; its
   * stream is abandoned.
   */
  private async stopTask(task: Task, reason: StopReason): Promise<Uint8Array | undefined> {
    const offset = await task.stop(reason);
    const status = task.status();
    const pid = this.instance?.pid;
    const hungAt = task.hungWhileStopping();
    if (hungAt !== undefined && pid !== undefined) {
      this.log.warn({ partition: task.partition, pid, stage: hungAt, err: status.error?.message }, 'plugin hung while stopping; killing its process');
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    return offset;
  }

  /** Restarts a partition (e.g. a FAILED one) from its committed offset. */
  async restartPartition(id: string, epoch = 0n): Promise<void> {
    const task = this.tasks.get(id);
    if (!task) throw new FailedPreconditionError(`partition "${id}" of connector "${this.name}" is not running on this worker`);
    const partition = task.streamPartition;
    await task.stop('stop');
    this.tasks.delete(id);
    await this.startPartition(partition, epoch);
  }

  async pause(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => this.stopTask(t, 'pause')));
  }

  /** Pauses one partition (it stays assigned here) or resumes it from its committed offset. */
  async pausePartition(id: string): Promise<void> {
    const task = this.tasks.get(id);
    if (task?.status().state === TaskState.RUNNING) await this.stopTask(task, 'pause');
  }

  async resumePartition(id: string): Promise<void> {
    const task = this.tasks.get(id);
    if (task?.status().state === TaskState.PAUSED) await task.resume();
  }

  async resume(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.resume()));
  }

  partitions(): string[] {
    return [...this.tasks.keys()];
  }

  task(id: string): Task | undefined {
    return this.tasks.get(id);
  }

  statuses(): TaskStatus[] {
    return [...this.tasks.values()].map((t) => t.status());
  }

  /**
   * Fencing: this connector's producers close at once, so nothing queued here is sent and no
   * produce request leaves after this call (a request already on the wire cannot be recalled).
   * Kill the tasks first, so their dropped sends read as the kill, not as failures. Returns how
   * many records were dropped unsent; they were never acknowledged, so never committed.
   */
  async abortProduction(reason: string): Promise<number> {
    const dropped = await Promise.all([this.producer?.abort(reason), this.deadLetterProducer?.abort(reason)]);
    return dropped.reduce<number>((sum, n) => sum + (n ?? 0), 0);
  }

  /** Drains every task, then closes the producer and the plugin. Idempotent. */
  async stop(reason: StopReason = 'stop'): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.allSettled([...this.tasks.values()].map((t) => this.stopTask(t, reason)));
    await this.flushOffsets();
    await this.closeResources();
  }

  private async closeResources(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.abort.abort();
    await this.deadLetterProducer?.stop().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'dead-letter producer stop failed'));
    await this.producer?.stop().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'producer stop failed'));
    await Promise.allSettled(this.ownClients.map((c) => c.stop()));
    this.ownClients.length = 0;
    await this.lease?.release().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'plugin close failed'));
  }
}
