/**
 * Kafka Connect REST JSON shapes (connect/runtime/.../rest/entities in apache/kafka), built from
 * the admin model. Tasks are Tributary's stream partitions; see `taskIds` for how a partition
 * gets its stable integer task id.
 */
import type { ConfigKeyInfo, ConnectorInfo, ConnectorStatus, PartitionStateName, PartitionStatus, PluginInfo, ValidationResult } from '../model.js';

/**
 * Task ids: the position of each stream partition in the connector's partition ids sorted in
 * natural order (numbers inside ids compare as numbers: p2 < p10, orders-2 < orders-10). The id
 * of a partition does not change while the set of partitions does not, nor when partitions are
 * added that sort after it (a new Kafka partition, p7 after p6). Only a new partition that sorts
 * earlier shifts the ids after it; the partition id is in every task's config
 * (`tributary.partition`) for that reason.
 */
export function taskIds(partitions: string[]): string[] {
  return [...partitions].sort(collator.compare);
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Kafka Connect's task states are UNASSIGNED, RUNNING, PAUSED, FAILED, RESTARTING, STOPPED. */
const taskState: Record<PartitionStateName, string> = {
  UNASSIGNED: 'UNASSIGNED',
  STARTING: 'RESTARTING',
  RUNNING: 'RUNNING',
  PAUSED: 'PAUSED',
  // Still moving its last records while it drains.
  STOPPING: 'RUNNING',
  STOPPED: 'STOPPED',
  FAILED: 'FAILED',
  UNKNOWN: 'UNASSIGNED',
};

export function restTaskState(state: PartitionStateName): string {
  return taskState[state];
}

function trace(error: string | undefined, stack: string | undefined): string | undefined {
  if (!error && !stack) return undefined;
  if (!stack || stack.startsWith(error ?? '')) return stack || error;
  return `${error ?? ''}\n${stack}`;
}

export interface RestTaskState {
  id: number;
  state: string;
  worker_id: string;
  trace?: string;
}

export function restTaskStatus(id: number, p: PartitionStatus): RestTaskState {
  const out: RestTaskState = { id, state: restTaskState(p.state), worker_id: p.workerId };
  const t = trace(p.error, p.trace);
  if (t) out.trace = t;
  return out;
}

/** `GET /connectors/{name}/status`. The connector-level work (discovery) runs on the leader. */
export function restStatus(status: ConnectorStatus, leaderId: string) {
  const ids = taskIds(status.partitions.map((p) => p.partition));
  const byId = new Map(status.partitions.map((p) => [p.partition, p]));
  const connector: { state: string; worker_id: string; trace?: string } = {
    state: status.state === 'UNKNOWN' ? 'UNASSIGNED' : status.state,
    worker_id: leaderId,
  };
  if (status.error) connector.trace = status.error;
  return {
    name: status.name,
    connector,
    tasks: ids.map((partition, i) => restTaskStatus(i, byId.get(partition)!)),
    type: status.kind === 'unknown' ? 'unknown' : status.kind,
  };
}

/** A config as Kafka Connect shows it: with its `name`. */
export function restConfig(name: string, config: Record<string, string>): Record<string, string> {
  return { ...config, name };
}

/** `GET /connectors/{name}` and the answers of create / put / patch. */
export function restInfo(info: ConnectorInfo, partitions: string[]) {
  return {
    name: info.name,
    config: restConfig(info.name, info.config),
    tasks: taskIds(partitions).map((_, task) => ({ connector: info.name, task })),
    type: info.kind === 'unknown' ? 'unknown' : info.kind,
  };
}

/** `GET /connectors/{name}/tasks`. */
export function restTasks(info: ConnectorInfo, partitions: string[]) {
  return taskIds(partitions).map((partition, task) => ({
    id: { connector: info.name, task },
    config: { ...restConfig(info.name, info.config), 'tributary.partition': partition },
  }));
}

export function restPlugin(p: PluginInfo) {
  return { class: p.name, type: p.type || p.kind, version: p.version };
}

const configType: Record<ConfigKeyInfo['type'], string> = {
  string: 'STRING',
  int: 'INT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  list: 'LIST',
  duration_ms: 'LONG',
  unspecified: 'STRING',
};

/** Kafka Connect's ConfigKeyInfo (`GET /connector-plugins/{plugin}/config`, validate's `definition`). */
export function restConfigKey(k: ConfigKeyInfo, order: number) {
  return {
    name: k.name,
    type: k.secret ? 'PASSWORD' : configType[k.type],
    required: k.required,
    default_value: k.defaultValue ?? null,
    importance: k.required ? 'HIGH' : 'MEDIUM',
    documentation: k.documentation,
    group: k.group || null,
    order_in_group: -1,
    width: 'NONE',
    display_name: k.name,
    dependents: [] as string[],
    order: order,
  };
}

/** `PUT /connector-plugins/{plugin}/config/validate`: Kafka Connect's ConfigInfos. */
export function restValidation(result: ValidationResult, config: Record<string, string>) {
  const errors = new Map<string, string[]>();
  for (const e of result.errors) errors.set(e.key, [...(errors.get(e.key) ?? []), e.message]);
  const known = new Set(result.configKeys.map((k) => k.name));
  const configs = result.configKeys.map((k, i) => ({
    definition: restConfigKey(k, i),
    value: {
      name: k.name,
      value: k.secret && config[k.name] !== undefined ? '[hidden]' : (config[k.name] ?? k.defaultValue ?? null),
      recommended_values: k.allowedValues,
      errors: errors.get(k.name) ?? [],
      visible: true,
    },
  }));
  // Problems with keys outside the spec (or with the config as a whole) still count.
  for (const [key, messages] of errors) {
    if (known.has(key)) continue;
    configs.push({
      definition: restConfigKey({ name: key || 'config', type: 'string', required: false, documentation: '', secret: false, allowedValues: [], group: '' }, configs.length),
      value: { name: key || 'config', value: config[key] ?? null, recommended_values: [], errors: messages, visible: true },
    });
  }
  return {
    name: result.plugin,
    error_count: result.errors.length,
    groups: [...new Set(result.configKeys.map((k) => k.group).filter(Boolean))],
    configs,
  };
}
