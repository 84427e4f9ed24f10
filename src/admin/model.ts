/**
 * The admin API as plain data, for the client library and the CLI: enums as names, 64-bit
 * counters as numbers, absent strings as undefined. Proto → model conversion lives here, in one
 * place, so callers never see protobuf messages.
 */
import type {
  ConnectorInfo as ConnectorInfoProto,
  ConnectorStatus as ConnectorStatusProto,
  GetClusterResponse,
  PartitionOffset as PartitionOffsetProto,
  PluginInfo as PluginInfoProto,
  ValidateConfigResponse,
  WorkerStatus as WorkerStatusProto,
} from '../gen/tributary/admin/v1/admin_pb.js';
import { ConnectorState, PartitionState } from '../gen/tributary/admin/v1/admin_pb.js';
import { ConfigType, ConnectorKind, type ConfigKey } from '../gen/tributary/connector/v1/connector_pb.js';
import type { ConfigProblem } from '../errors.js';

export type ConnectorKindName = 'source' | 'sink' | 'unknown';
export type TargetStateName = 'RUNNING' | 'PAUSED' | 'STOPPED';
export type ConnectorStateName = 'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'UNASSIGNED' | 'DEGRADED' | 'UNKNOWN';
export type PartitionStateName = 'UNASSIGNED' | 'STARTING' | 'RUNNING' | 'PAUSED' | 'STOPPING' | 'STOPPED' | 'FAILED' | 'UNKNOWN';
export type ConfigTypeName = 'string' | 'int' | 'double' | 'boolean' | 'list' | 'duration_ms' | 'unspecified';

/** A connector's definition. Secret values come back as `********`. */
export interface ConnectorInfo {
  name: string;
  config: Record<string, string>;
  targetState: TargetStateName;
  kind: ConnectorKindName;
  plugin: string;
}

export interface PartitionStatus {
  partition: string;
  state: PartitionStateName;
  /** The worker that owns it; empty while unassigned. */
  workerId: string;
  error?: string;
  trace?: string;
  /** The epoch of its current assignment (grows on every reassignment or restart). */
  epoch: number;
  /** Its owner has not been heard from for a session timeout: `state` may no longer be true. */
  stale?: boolean;
}

/** A connector's partitions by observed state (`other`: starting, stopping or stopped). */
export interface PartitionCounts {
  total: number;
  running: number;
  paused: number;
  failed: number;
  unassigned: number;
  other: number;
  stale: number;
}

export interface ConnectorStatus {
  name: string;
  state: ConnectorStateName;
  kind: ConnectorKindName;
  /** A connector-level problem, e.g. partition discovery failing. */
  error?: string;
  partitions: PartitionStatus[];
  counts?: PartitionCounts;
}

/** A change pushed by WatchStatus: a connector's new status, or its deletion. */
export interface StatusEvent {
  connector: string;
  deleted: boolean;
  status?: ConnectorStatus;
}

export interface PartitionOffset {
  partition: string;
  offset: Uint8Array;
  /** The offset as text when it is printable (most plugins use text offsets). */
  text?: string;
}

export interface ConfigKeyInfo {
  name: string;
  type: ConfigTypeName;
  required: boolean;
  defaultValue?: string;
  documentation: string;
  secret: boolean;
  allowedValues: string[];
  group: string;
}

export interface PluginInfo {
  name: string;
  version: string;
  kind: ConnectorKindName;
  /** source, sink, converter, header_converter, transformation or predicate. */
  type: string;
  aliases: string[];
  summary: string;
  configKeys: ConfigKeyInfo[];
}

export interface ValidationResult {
  plugin: string;
  valid: boolean;
  /** One entry per offending key. */
  errors: ConfigProblem[];
  /** Tributary's own keys, then the plugin's. */
  configKeys: ConfigKeyInfo[];
  /** Keys nobody reads (they change nothing); the config is valid with them. */
  warnings: ConfigProblem[];
}

export interface WorkerStatus {
  id: string;
  address: string;
  version: string;
  leader: boolean;
  connected: boolean;
  /** ms since the epoch of the last message the leader got from it; undefined if never. */
  lastHeartbeatMs?: number;
  /** `connector/partition` of each stream partition assigned to it. */
  partitions: string[];
}

export interface ClusterInfo {
  cluster: string;
  leaderId: string;
  leaderAddress: string;
  /** Leadership term: grows with every election. */
  term: number;
  /** Assignment epoch: grows with every assignment. */
  epoch: number;
  version: string;
  members: WorkerStatus[];
}

/** One worker's record counters (its /metrics counters), per connector it ran records of. */
export interface WorkerRecordCounters {
  workerId: string;
  /** When the counters started from zero (ms since the epoch); a new value: the worker restarted. */
  startedAtMs: number;
  connectors: Array<{ connector: string; sourceRecordsProduced: number; sinkRecordsWritten: number }>;
}

const kinds: Record<ConnectorKind, ConnectorKindName> = { [ConnectorKind.UNSPECIFIED]: 'unknown', [ConnectorKind.SOURCE]: 'source', [ConnectorKind.SINK]: 'sink' };
const configTypes: Record<ConfigType, ConfigTypeName> = {
  [ConfigType.UNSPECIFIED]: 'unspecified',
  [ConfigType.STRING]: 'string',
  [ConfigType.INT]: 'int',
  [ConfigType.DOUBLE]: 'double',
  [ConfigType.BOOLEAN]: 'boolean',
  [ConfigType.LIST]: 'list',
  [ConfigType.DURATION_MS]: 'duration_ms',
};

function optional(s: string): string | undefined {
  return s === '' ? undefined : s;
}

export function kindName(kind: ConnectorKind): ConnectorKindName {
  return kinds[kind] ?? 'unknown';
}

export function toConnectorInfo(p: ConnectorInfoProto): ConnectorInfo {
  return { name: p.name, config: { ...p.config }, targetState: (p.targetState || 'RUNNING') as TargetStateName, kind: kindName(p.kind), plugin: p.plugin };
}

/** An enum value's name; UNKNOWN for UNSPECIFIED and for values newer than this client. */
function enumName<T extends string>(names: Record<number, string>, value: number): T | 'UNKNOWN' {
  const name = names[value];
  return name === undefined || name === 'UNSPECIFIED' ? 'UNKNOWN' : (name as T);
}

export function toConnectorStatus(p: ConnectorStatusProto): ConnectorStatus {
  const out: ConnectorStatus = {
    name: p.name,
    state: enumName<ConnectorStateName>(ConnectorState, p.state),
    kind: kindName(p.kind),
    partitions: p.partitions.map((q) => {
      const ps: PartitionStatus = { partition: q.partition, state: enumName<PartitionStateName>(PartitionState, q.state), workerId: q.workerId, epoch: Number(q.epoch) };
      if (q.stale) ps.stale = true;
      if (q.error) ps.error = q.error;
      if (q.trace) ps.trace = q.trace;
      return ps;
    }),
  };
  if (p.counts) {
    const c = p.counts;
    out.counts = { total: c.total, running: c.running, paused: c.paused, failed: c.failed, unassigned: c.unassigned, other: c.other, stale: c.stale };
  }
  if (p.error) out.error = p.error;
  return out;
}

export function toPartitionOffset(p: PartitionOffsetProto): PartitionOffset {
  const out: PartitionOffset = { partition: p.partition, offset: p.offset };
  const text = optional(p.text);
  if (text !== undefined) out.text = text;
  return out;
}

export function toConfigKey(k: ConfigKey): ConfigKeyInfo {
  const out: ConfigKeyInfo = {
    name: k.name,
    type: configTypes[k.type] ?? 'unspecified',
    required: k.required,
    documentation: k.documentation,
    secret: k.secret,
    allowedValues: [...k.allowedValues],
    group: k.group,
  };
  if (k.defaultValue !== undefined) out.defaultValue = k.defaultValue;
  return out;
}

export function toPluginInfo(p: PluginInfoProto): PluginInfo {
  return { name: p.name, version: p.version, kind: kindName(p.kind), type: p.type, aliases: [...p.aliases], summary: p.summary, configKeys: p.configKeys.map(toConfigKey) };
}

export function toValidationResult(p: ValidateConfigResponse): ValidationResult {
  return { plugin: p.plugin, valid: p.errors.length === 0, errors: p.errors.map((e) => ({ key: e.key, message: e.message })), configKeys: p.configKeys.map(toConfigKey), warnings: p.warnings.map((w) => ({ key: w.key, message: w.message })) };
}

export function toWorkerStatus(p: WorkerStatusProto): WorkerStatus {
  const out: WorkerStatus = { id: p.id, address: p.address, version: p.version, leader: p.leader, connected: p.connected, partitions: [...p.partitions] };
  if (p.lastHeartbeatMs > 0n) out.lastHeartbeatMs = Number(p.lastHeartbeatMs);
  return out;
}

export function toClusterInfo(p: GetClusterResponse): ClusterInfo {
  return { cluster: p.cluster, leaderId: p.leaderId, leaderAddress: p.leaderAddress, term: Number(p.term), epoch: Number(p.epoch), version: p.version, members: p.members.map(toWorkerStatus) };
}
