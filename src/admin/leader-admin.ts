/**
 * The admin calls as the leader answers them. Writes validate first (INVALID_ARGUMENT naming
 * every bad key, NOT_FOUND for unknown connectors and plugins, ALREADY_EXISTS for a taken name)
 * and change nothing when they fail.
 */
import { create } from '@bufbuild/protobuf';
import {
  ConfigKeySchema,
  ConfigType,
  ConnectorKind,
  type DescribeResponse,
} from '../gen/tributary/connector/v1/connector_pb.js';
import { PartitionState } from '../gen/tributary/admin/v1/admin_pb.js';
import type { ConnectorRecord, Leader, TargetState } from '../coordinator/index.js';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, type ConfigProblem } from '../errors.js';
import { validateConnectorConfig, type WorkerNode } from '../worker/index.js';
import { connectorInfo, connectorStatus, pluginNameOf, SECRET_MASK, workerStatuses, type ConnectorStatusInit } from './views.js';

const TARGET_STATES: readonly TargetState[] = ['RUNNING', 'PAUSED', 'STOPPED'];

export class LeaderAdmin {
  constructor(
    private readonly node: WorkerNode,
    private readonly cluster: string,
  ) {}

  get leader(): Leader {
    return this.node.requireLeader();
  }

  private record(name: string): ConnectorRecord {
    const record = this.leader.connector(name);
    if (!record) throw new NotFoundError(`connector "${name}" not found; list them with: tributary connectors list`);
    return record;
  }

  /** The plugin's description, or NOT_FOUND listing the known plugins. */
  async describe(pluginName: string): Promise<DescribeResponse> {
    if (!pluginName) throw new InvalidArgumentError('invalid config', [{ key: 'connector.class', message: 'is required: the name of the plugin to run' }]);
    return this.node.worker.plugins.describe(pluginName);
  }

  private async describeOrUndefined(config: Record<string, string>): Promise<DescribeResponse | undefined> {
    try {
      return await this.describe(pluginNameOf(config));
    } catch {
      return undefined;
    }
  }

  /** Every problem with a config, per key; throws NOT_FOUND for an unknown plugin. */
  async problems(name: string, config: Record<string, string>): Promise<{ description: DescribeResponse; problems: ConfigProblem[] }> {
    const description = await this.describe(pluginNameOf(config));
    const instance = await this.node.worker.plugins.start(pluginNameOf(config));
    try {
      await validateConnectorConfig(instance, name, config, 30_000);
      return { description, problems: [] };
    } catch (err) {
      if (err instanceof InvalidArgumentError) return { description, problems: [...err.problems] };
      throw err;
    } finally {
      await instance.close();
    }
  }

  /** Secret values come back masked; writing the mask back keeps the stored value. */
  private unmask(name: string, config: Record<string, string>): Record<string, string> {
    const stored = this.leader.connector(name)?.config ?? {};
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v === SECRET_MASK && stored[k] !== undefined ? stored[k]! : v]));
  }

  private async validated(name: string, config: Record<string, string>): Promise<DescribeResponse> {
    const { description, problems } = await this.problems(name, config);
    if (problems.length > 0) throw new InvalidArgumentError(`invalid config for connector "${name}"`, problems);
    return description;
  }

  async create(name: string, config: Record<string, string>, initialState: string) {
    const target = (initialState || 'RUNNING').toUpperCase() as TargetState;
    if (!TARGET_STATES.includes(target)) throw new InvalidArgumentError('invalid request', [{ key: 'initial_state', message: `must be one of ${TARGET_STATES.join(', ')}` }]);
    if (this.leader.connector(name)) throw new AlreadyExistsError(`connector "${name}" already exists; update it with PutConnectorConfig (tributary connectors update)`);
    const description = await this.validated(name, config);
    const record: ConnectorRecord = { name, config, targetState: target };
    await this.leader.putConnector(record);
    return { info: connectorInfo(record, description) };
  }

  async put(name: string, config: Record<string, string>) {
    const full = this.unmask(name, config);
    const description = await this.validated(name, full);
    const existing = this.leader.connector(name);
    const record: ConnectorRecord = { name, config: full, targetState: existing?.targetState ?? 'RUNNING' };
    const { created } = await this.leader.putConnector(record);
    return { created, info: connectorInfo(record, description) };
  }

  async get(name: string) {
    const record = this.record(name);
    return { info: connectorInfo(record, await this.describeOrUndefined(record.config)) };
  }

  async status(name: string): Promise<ConnectorStatusInit> {
    const record = this.record(name);
    const description = await this.describeOrUndefined(record.config);
    return connectorStatus(this.leader, record, description?.kind ?? ConnectorKind.UNSPECIFIED);
  }

  async list(expandStatus: boolean, expandInfo: boolean) {
    const records = this.leader.connectors().sort((a, b) => a.name.localeCompare(b.name));
    const infos = [];
    const statuses = [];
    for (const r of records) {
      const description = expandInfo || expandStatus ? await this.describeOrUndefined(r.config) : undefined;
      if (expandInfo) infos.push(connectorInfo(r, description));
      if (expandStatus) statuses.push(connectorStatus(this.leader, r, description?.kind ?? ConnectorKind.UNSPECIFIED));
    }
    return { names: records.map((r) => r.name), infos, statuses };
  }

  async delete(name: string) {
    this.record(name);
    await this.leader.deleteConnector(name);
    return {};
  }

  async setTargetState(name: string, targetState: TargetState) {
    const record = this.record(name);
    if (record.targetState !== targetState) await this.leader.putConnector({ ...record, targetState });
    return {};
  }

  async restart(name: string, includeTasks: boolean, onlyFailed: boolean) {
    const record = this.record(name);
    if (includeTasks) {
      const failed = new Set(connectorStatus(this.leader, record, ConnectorKind.UNSPECIFIED).partitions!.filter((p) => p.state === PartitionState.FAILED).map((p) => p.partition));
      this.leader.restartPartitions(name, (id) => !onlyFailed || failed.has(id));
    }
    return { status: await this.status(name) };
  }

  async restartPartition(name: string, partition: string) {
    this.record(name);
    if (!this.leader.partitionsOf(name).some((p) => p.id === partition)) throw new NotFoundError(`connector "${name}" has no stream partition "${partition}"`);
    if (this.leader.restartPartitions(name, (id) => id === partition) === 0) {
      throw new FailedPreconditionError(`partition "${partition}" of "${name}" is not running on a connected worker (it is being moved or the connector is stopped)`);
    }
    return {};
  }

  offsets(name: string) {
    this.record(name);
    return {
      offsets: [...this.leader.offsetsOf(name)].sort(([a], [b]) => a.localeCompare(b)).map(([partition, o]) => ({ partition, offset: o.offset, text: printable(o.offset) })),
    };
  }

  async alterOffsets(name: string, offsets: Array<{ partition: string; offset: Uint8Array; text: string }>) {
    this.record(name);
    const changes = new Map<string, Uint8Array | undefined>();
    const problems: ConfigProblem[] = [];
    for (const o of offsets) {
      if (!o.partition) problems.push({ key: 'offsets.partition', message: 'each offset must name its stream partition' });
      const bytes = o.offset.length > 0 ? o.offset : o.text ? Buffer.from(o.text) : undefined;
      changes.set(o.partition, bytes);
    }
    if (problems.length > 0) throw new InvalidArgumentError('malformed offsets', problems);
    await this.leader.alterOffsets(name, changes);
    await this.mirrorSinkOffsets(name, changes);
    return {};
  }

  async resetOffsets(name: string) {
    this.record(name);
    const changes = new Map<string, Uint8Array | undefined>([...this.leader.offsetsOf(name).keys()].map((p) => [p, undefined]));
    await this.leader.alterOffsets(name, changes);
    await this.mirrorSinkOffsets(name, changes);
    return {};
  }

  /**
   * A sink's offsets live in its Kafka group too; change them there, or a sink with no offsets
   * of its own would resume from the old group position. A reset moves the group to the start.
   */
  private async mirrorSinkOffsets(name: string, changes: Map<string, Uint8Array | undefined>): Promise<void> {
    const partitions = new Map(this.leader.partitionsOf(name).map((p) => [p.id, p]));
    const commits = [];
    for (const [id, offset] of changes) {
      const p = partitions.get(id);
      if (p?.topic === undefined || p.kafkaPartition === undefined) continue;
      let next: bigint;
      if (offset === undefined) {
        const range = (await this.node.worker.admin.partitionOffsets(p.topic)).find((r) => r.partition === p.kafkaPartition);
        next = range?.earliest ?? 0n;
      } else {
        const text = Buffer.from(offset).toString();
        if (!/^\d+$/.test(text)) throw new InvalidArgumentError('malformed offsets', [{ key: `offsets.${id}`, message: `a sink offset is a Kafka offset (a decimal number), got "${text}"` }]);
        next = BigInt(text) + 1n;
      }
      commits.push({ topic: p.topic, partition: p.kafkaPartition, offset: next });
    }
    if (commits.length > 0) await this.node.worker.groupOffsets.commit(`connect-${name}`, commits);
  }

  async plugins() {
    const registrations = this.node.worker.plugins.registrations();
    const plugins = [];
    for (const r of registrations) {
      const d = await this.node.worker.plugins.describe(r.name);
      plugins.push({ name: r.name, version: d.version, kind: d.kind, summary: d.summary, configKeys: d.configKeys });
    }
    return { plugins };
  }

  async validate(config: Record<string, string>) {
    const plugin = pluginNameOf(config);
    const name = config['name'] || 'validation';
    const { description, problems } = await this.problems(name, config);
    const workerKeys = [
      create(ConfigKeySchema, { name: 'connector.class', type: ConfigType.STRING, required: true, documentation: 'The plugin to run.', group: 'Tributary' }),
      create(ConfigKeySchema, { name: 'topic', type: ConfigType.STRING, documentation: 'Default topic of a source\'s records.', group: 'Tributary' }),
      create(ConfigKeySchema, { name: 'topics', type: ConfigType.LIST, documentation: 'A sink\'s input topics (or topics.regex).', group: 'Tributary' }),
      create(ConfigKeySchema, { name: 'delivery.guarantee', type: ConfigType.STRING, defaultValue: 'at-least-once', allowedValues: ['at-least-once', 'at-most-once'], group: 'Tributary' }),
    ];
    return { plugin, errors: problems, configKeys: [...workerKeys, ...description.configKeys] };
  }

  cluster_() {
    const leader = this.leader;
    const self = this.node.self;
    return { cluster: this.cluster, leaderId: self.id, leaderAddress: self.address, term: leader.term, epoch: leader.epoch, version: self.version, members: workerStatuses(leader, self.id) };
  }

  workers() {
    return { workers: workerStatuses(this.leader, this.node.self.id) };
  }

  topics(name: string) {
    const record = this.record(name);
    const fromPartitions = this.leader.partitionsOf(name).map((p) => p.topic).filter((t): t is string => t !== undefined);
    const topics = new Set(fromPartitions);
    if (record.config['topic']) topics.add(record.config['topic']);
    return { topics: [...topics].sort() };
  }
}

function printable(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? text : '';
}

