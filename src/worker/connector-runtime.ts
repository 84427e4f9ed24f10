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
import type { GroupOffsetStore, KafkaConnectionConfig, PartitionReader, ProducerClient, ProducerOptions, RecordProducer, TopicAdmin } from '../kafka/index.js';
import { validateConfig, type HostedPluginInstance, type PluginInstance } from '../plugins/index.js';
import type { PluginInstances, PluginLease } from './plugin-instances.js';
import { FailedPreconditionError, InvalidArgumentError, describeError, type ConfigProblem } from '../errors.js';
import { parseConnectorSettings, type ConnectorSettings } from './connector-settings.js';
import type { CreditPool } from './credits.js';
import { GroupOffsetMirror } from './group-offset-mirror.js';
import { passThroughProcessor, type RecordProcessor } from './processing.js';
import { SinkTask } from './sink-task.js';
import { SourceTask } from './source-task.js';
import { TaskState, type TaskStatus } from './task-state.js';
import type { StopReason, Task } from './task.js';

/** Kafka access shared by every connector of a worker. */
export type ProducerFactory = (connection: KafkaConnectionConfig, options: ProducerOptions) => RecordProducer;

export interface WorkerKafka {
  connection: KafkaConnectionConfig;
  producerClient: ProducerClient;
  createProducer: ProducerFactory;
  reader: PartitionReader;
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
  logger: Logger;
  processor?: RecordProcessor;
  flushIntervalMs: number;
  /** Bound for plugin calls made while starting (describe, validate). */
  pluginCallTimeoutMs?: number;
  drainTimeoutMs?: number;
}

export type ConnectorKindName = 'source' | 'sink';

/** Checks a config against the worker's keys, the plugin's spec and the plugin's own Validate. */
export async function validateConnectorConfig(instance: PluginInstance, name: string, config: Record<string, string>, timeoutMs: number): Promise<ConnectorSettings> {
  const kind = instance.description.kind === ConnectorKind.SINK ? 'sink' : 'source';
  const problems: ConfigProblem[] = [];
  let settings: ConnectorSettings | undefined;
  try {
    settings = parseConnectorSettings(name, config, kind);
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
  private mirror: GroupOffsetMirror | undefined;
  private settingsValue: ConnectorSettings | undefined;
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
      this.settingsValue = await validateConnectorConfig(this.instance, name, config, this.options.pluginCallTimeoutMs ?? 30_000);
      if (this.kind === 'source') {
        await this.createTopicIfAsked(this.settingsValue);
        this.producer = kafka.createProducer({ ...kafka.connection, clientId: `tributary-${name}` }, { client: kafka.producerClient, idempotent: true, compression: this.settingsValue.compression });
        await this.producer.start();
      } else {
        this.mirror = new GroupOffsetMirror(name, kafka.groupOffsets);
      }
    } catch (err) {
      await this.closeResources();
      throw err;
    }
    this.flushTimer = setInterval(() => void this.flushOffsets(), this.options.flushIntervalMs);
    this.flushTimer.unref();
    logger.debug({ connector: name, kind: this.kind }, 'connector runtime started');
  }

  /** Kafka Connect's topic.creation.default.* (KIP-158): create the source's topic up front. */
  private async createTopicIfAsked(settings: ConnectorSettings): Promise<void> {
    const partitions = this.options.config['topic.creation.default.partitions'];
    if (!settings.topic || partitions === undefined) return;
    const replication = this.options.config['topic.creation.default.replication.factor'];
    await this.options.kafka.admin.createTopics([{ name: settings.topic, partitions: Number(partitions), replicationFactor: replication === undefined || replication === '-1' ? undefined : Number(replication) }]);
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
    const task = this.createTask(partition, epoch);
    this.tasks.set(partition.id, task);
    await task.start();
  }

  private createTask(partition: StreamPartition, epoch: bigint): Task {
    const { kafka, offsets, credits, logger, processor, drainTimeoutMs } = this.options;
    const common = {
      connector: { name: this.name, config: this.options.config },
      partition,
      settings: this.settings,
      epoch,
      plugin: this.plugin.plugin,
      offsets,
      credits,
      processor: processor ?? passThroughProcessor,
      logger,
      drainTimeoutMs,
    };
    if (this.kind === 'source') return new SourceTask({ ...common, producer: this.producer! });
    return new SinkTask({ ...common, reader: kafka.reader, admin: kafka.admin, groupOffsets: this.mirror!, flushIntervalMs: this.options.flushIntervalMs });
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
    if (status.state === TaskState.FAILED && /stage: (drain|flush)/.test(status.error?.message ?? '') && pid !== undefined) {
      this.log.warn({ partition: task.partition, pid, err: status.error?.message }, 'plugin hung while stopping; killing its process');
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
    await this.producer?.stop().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'producer stop failed'));
    await this.lease?.release().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'plugin close failed'));
  }
}
