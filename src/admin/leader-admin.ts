/**
 * The admin calls as the leader answers them. Writes validate first (INVALID_ARGUMENT naming
 * every bad key, NOT_FOUND for unknown connectors and plugins, ALREADY_EXISTS for a taken name,
 * FAILED_PRECONDITION for offset changes on a connector that is not STOPPED) and change nothing
 * when they fail. Configs are stored exactly as sent: config references (`${env:…}`,
 * `${file:…}`) are resolved here only to validate, and on each worker when a connector opens.
 */
import { ConnectorKind, type DescribeResponse } from '../gen/tributary/connector/v1/connector_pb.js';
import { PartitionState } from '../gen/tributary/admin/v1/admin_pb.js';
import type { ConnectorRecord, Leader, TargetState } from '../coordinator/index.js';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, type ConfigProblem } from '../errors.js';
import { validateConnectorConfig, type WorkerNode } from '../worker/index.js';
import { tryResolveConfigReferences, workerConnectorKeys } from '../worker/index.js';
import { processingPlugins, unknownKeys } from '../processing/index.js';
import { tributaryConnectorKeys } from './connector-keys.js';
import { assertStopped, mirrorSinkOffsets, parseOffsetChanges, type RequestedOffset } from './offset-changes.js';
import { connectorInfo, connectorStatus, isSecretKey, pluginNameOf, SECRET_MASK, workerStatuses, type ConnectorStatusInit } from './views.js';

const TARGET_STATES: readonly TargetState[] = ['RUNNING', 'PAUSED', 'STOPPED'];

/**
 * Bound on a plugin's Validate during an admin call; below the forwarding deadline (30 s) so a
 * forwarded call gets the leader's DEADLINE_EXCEEDED naming the plugin, not a bare timeout.
 */
const VALIDATE_TIMEOUT_MS = 15_000;

export class LeaderAdmin {
  /** Names whose create is between its existence check and its write (two creates race). */
  private readonly creating = new Set<string>();

  constructor(
    private readonly node: WorkerNode,
    private readonly clusterName: string,
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
    if (!pluginName) throw new InvalidArgumentError('invalid config', [{ key: 'connector.class', message: 'is required: the name of the plugin to run (tributary plugins list)' }]);
    return this.node.worker.plugins.describe(pluginName);
  }

  private async describeOrUndefined(config: Record<string, string>): Promise<DescribeResponse | undefined> {
    try {
      return await this.describe(pluginNameOf(config));
    } catch {
      return undefined;
    }
  }

  /**
   * Every problem with a config, per key: unresolvable references, Tributary's own keys, the
   * plugin's spec and the plugin's Validate (which sees the resolved values). Throws NOT_FOUND
   * for an unknown plugin.
   */
  async problems(name: string, config: Record<string, string>): Promise<{ description: DescribeResponse; problems: ConfigProblem[] }> {
    const description = await this.describe(pluginNameOf(config));
    const { config: resolved, problems: referenceProblems } = await tryResolveConfigReferences(config, { allowedPaths: this.node.worker.allowedPaths });
    // A key whose reference failed is reported once, for the reference, not again for its value.
    const unresolved = new Set(referenceProblems.map((p) => p.key));
    const instance = await this.node.worker.plugins.start(pluginNameOf(config));
    try {
      await validateConnectorConfig(instance, name, resolved, VALIDATE_TIMEOUT_MS, this.node.options.converterDefaults);
      return { description, problems: referenceProblems };
    } catch (err) {
      if (err instanceof InvalidArgumentError) return { description, problems: [...referenceProblems, ...err.problems.filter((p) => !unresolved.has(p.key))] };
      throw err;
    } finally {
      await instance.close();
    }
  }

  private async validated(name: string, config: Record<string, string>): Promise<DescribeResponse> {
    const { description, problems } = await this.problems(name, config);
    if (problems.length > 0) throw new InvalidArgumentError(`invalid config for connector "${name}"`, problems);
    return description;
  }

  async create(name: string, config: Record<string, string>, initialState: string) {
    const target = (initialState || 'RUNNING').toUpperCase() as TargetState;
    if (!TARGET_STATES.includes(target)) throw new InvalidArgumentError('invalid request', [{ key: 'initial_state', message: `must be one of ${TARGET_STATES.join(', ')}` }]);
    const taken = () => new AlreadyExistsError(`connector "${name}" already exists; change its config with PutConnectorConfig (tributary connectors update ${name} -f <file>)`);
    if (this.leader.connector(name) || this.creating.has(name)) throw taken();
    this.creating.add(name);
    try {
      const description = await this.validated(name, config);
      if (this.leader.connector(name)) throw taken();
      const record: ConnectorRecord = { name, config, targetState: target };
      await this.leader.putConnector(record);
      return { info: connectorInfo(record, description) };
    } finally {
      this.creating.delete(name);
    }
  }

  async put(name: string, config: Record<string, string>) {
    if (this.creating.has(name)) throw new FailedPreconditionError(`connector "${name}" is being created right now; retry in a moment`);
    const full = this.unmask(name, config, await this.describeOrUndefined(config));
    const description = await this.validated(name, full);
    const existing = this.leader.connector(name);
    const record: ConnectorRecord = { name, config: full, targetState: existing?.targetState ?? 'RUNNING' };
    const { created } = await this.leader.putConnector(record);
    return { created, info: connectorInfo(record, description) };
  }

  /**
   * Get returns secret values masked; a config written back with the mask keeps the stored value,
   * so `get`, edit, `update` round-trips without knowing the secret.
   */
  private unmask(name: string, config: Record<string, string>, description: DescribeResponse | undefined): Record<string, string> {
    const stored = this.leader.connector(name)?.config ?? {};
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v === SECRET_MASK && stored[k] !== undefined && isSecretKey(k, description) ? stored[k]! : v]));
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

  /**
   * Kafka Connect's restart: the connector itself (in Tributary, its partition discovery), and
   * with `includeTasks` its partitions too; `onlyFailed` limits both to what is FAILED.
   */
  async restart(name: string, includeTasks: boolean, onlyFailed: boolean) {
    const record = this.record(name);
    const status = connectorStatus(this.leader, record, ConnectorKind.UNSPECIFIED);
    if (!onlyFailed || status.error) this.leader.restartConnector(name);
    if (includeTasks) {
      const failed = new Set(status.partitions!.filter((p) => p.state === PartitionState.FAILED).map((p) => p.partition));
      this.leader.restartPartitions(name, (id) => !onlyFailed || failed.has(id));
    }
    return { status: await this.status(name) };
  }

  async restartPartition(name: string, partition: string) {
    this.record(name);
    if (!this.leader.partitionsOf(name).some((p) => p.id === partition)) {
      throw new NotFoundError(`connector "${name}" has no stream partition "${partition}"; see them with: tributary connectors status ${name}`);
    }
    if (this.leader.restartPartitions(name, (id) => id === partition) === 0) {
      throw new FailedPreconditionError(`partition "${partition}" of "${name}" is not running on a connected worker (it is being moved, or the connector is stopped); retry, or resume the connector first`);
    }
    return {};
  }

  offsets(name: string) {
    this.record(name);
    return {
      offsets: [...this.leader.offsetsOf(name)].sort(([a], [b]) => a.localeCompare(b)).map(([partition, o]) => ({ partition, offset: o.offset, text: printable(o.offset) })),
    };
  }

  async alterOffsets(name: string, offsets: readonly RequestedOffset[]) {
    const record = this.record(name);
    const sink = (await this.describeOrUndefined(record.config))?.kind === ConnectorKind.SINK;
    const partitions = this.leader.partitionsOf(name);
    const changes = parseOffsetChanges(offsets, sink, partitions);
    assertStopped(this.leader, name);
    if (!sink) refuseExactlyOnce(name, record.config);
    // The group first: if the leader's write then fails, the sink still starts from the leader's
    // (unchanged) offsets, which win over the group's.
    if (sink) await mirrorSinkOffsets(this.node.worker, name, record.config, partitions, changes);
    await this.leader.alterOffsets(name, changes);
    return {};
  }

  async resetOffsets(name: string) {
    const record = this.record(name);
    assertStopped(this.leader, name);
    const sink = (await this.describeOrUndefined(record.config))?.kind === ConnectorKind.SINK;
    if (!sink) refuseExactlyOnce(name, record.config);
    const partitions = this.leader.partitionsOf(name);
    const ids = new Set(this.leader.offsetsOf(name).keys());
    // A sink may have group offsets (e.g. from Kafka Connect) for partitions Tributary never committed.
    if (sink) for (const p of partitions) ids.add(p.id);
    const changes = new Map<string, Uint8Array | undefined>([...ids].map((p) => [p, undefined]));
    if (sink) await mirrorSinkOffsets(this.node.worker, name, record.config, partitions, changes);
    if (changes.size > 0) await this.leader.alterOffsets(name, changes);
    return {};
  }

  async plugins() {
    const plugins = [];
    for (const r of this.node.worker.plugins.registrations()) {
      const d = await this.node.worker.plugins.describe(r.name);
      plugins.push({ name: r.name, version: d.version, kind: d.kind, summary: d.summary, configKeys: d.configKeys, type: d.kind === ConnectorKind.SINK ? 'sink' : 'source', aliases: [] });
    }
    // Converters, transforms and predicates, as Kafka Connect's connector-plugins?connectorsOnly=false.
    for (const p of processingPlugins()) plugins.push({ name: p.name, version: '', kind: ConnectorKind.UNSPECIFIED, summary: p.summary, configKeys: p.configKeys, type: p.type, aliases: p.aliases });
    return { plugins };
  }

  async validate(config: Record<string, string>) {
    const plugin = pluginNameOf(config);
    const { description, problems } = await this.problems(config['name'] || 'validation', config);
    // Keys nobody reads change nothing: say so (Kafka Connect silently ignores them).
    const warnings = unknownKeys(config, [...workerConnectorKeys, ...description.configKeys.map((k) => k.name)], description.kind === ConnectorKind.SINK ? 'sink' : 'source', this.node.options.converterDefaults).map((key) => ({
      key,
      message: `is not a setting of Tributary or of plugin ${plugin}; it has no effect (a typo?)`,
    }));
    return { plugin, errors: problems, configKeys: [...tributaryConnectorKeys(), ...description.configKeys], warnings };
  }

  cluster() {
    const leader = this.leader;
    const self = this.node.self;
    return { cluster: this.clusterName, leaderId: self.id, leaderAddress: self.address, term: leader.term, epoch: leader.epoch, version: self.version, members: workerStatuses(leader, self.id) };
  }

  workers() {
    return { workers: workerStatuses(this.leader, this.node.self.id) };
  }

  /**
   * The topics a connector is known to use: those its config names (a source's `topic`, a
   * sink's `topics`) and those of a sink's discovered partitions (which covers `topics.regex`).
   * Tributary does not track the topics a source's records actually went to (a record may name
   * its own topic), unlike Kafka Connect's active-topics tracking.
   */
  topics(name: string) {
    const record = this.record(name);
    const topics = new Set(this.leader.partitionsOf(name).map((p) => p.topic).filter((t): t is string => t !== undefined));
    if (record.config['topic']) topics.add(record.config['topic']);
    for (const t of (record.config['topics'] ?? '').split(',')) if (t.trim()) topics.add(t.trim());
    return { topics: [...topics].sort() };
  }

  /** Nothing is tracked, so there is nothing to reset; answers NOT_FOUND for an unknown connector. */
  resetTopics(name: string) {
    this.record(name);
    return {};
  }
}

function printable(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? text : '';
}

/**
 * An exactly-once source resumes from its offsets topic, which an offset change here does not
 * write (yet): refuse rather than accept a change the next run would ignore.
 */
function refuseExactlyOnce(name: string, config: Record<string, string>): void {
  if (config['delivery.guarantee'] === 'exactly-once' || config['exactly.once.support']?.trim().toLowerCase() === 'required') {
    throw new FailedPreconditionError(
      `connector "${name}" is an exactly-once source: it resumes from its offsets topic, which offset changes do not write yet; recreate it under a new name to start over (docs/exactly-once.md)`,
    );
  }
}
