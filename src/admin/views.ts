/**
 * Proto ↔ domain conversion for the admin API, in one place: connector definitions (secrets
 * masked) and statuses built from the leader's view.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ConnectorState, PartitionState, type ConnectorInfoSchema, type ConnectorStatusSchema, type WorkerStatusSchema } from '../gen/tributary/admin/v1/admin_pb.js';
import { ConnectorKind, type DescribeResponse } from '../gen/tributary/connector/v1/connector_pb.js';
import type { ConnectorRecord, Leader } from '../coordinator/index.js';
import { isOnlyReferences } from '../worker/index.js';

export const SECRET_MASK = '********';

export type ConnectorInfoInit = MessageInitShape<typeof ConnectorInfoSchema>;
export type ConnectorStatusInit = MessageInitShape<typeof ConnectorStatusSchema>;
export type WorkerStatusInit = MessageInitShape<typeof WorkerStatusSchema>;

export function pluginNameOf(config: Record<string, string>): string {
  return config['connector.class'] || config['plugin'] || '';
}

/**
 * Keys treated as secret even when the plugin's spec does not say so (or the plugin cannot be
 * described right now): a secret must never come back in clear because a spec was incomplete.
 * Matches the last part of the key, e.g. `connection.password`, `sasl.jaas.config`, `api.key`.
 */
const SECRET_LOOKING = /(^|[._-])(password|passwd|pwd|secret|token|api[._-]?key|private[._-]?key|secret[._-]?key|access[._-]?key|credentials?|jaas[._-]config|user[._-]info)$/i;

/** True when the value of `key` must be masked, given the plugin's spec (if known). */
export function isSecretKey(key: string, description: DescribeResponse | undefined): boolean {
  return SECRET_LOOKING.test(key) || (description?.configKeys.some((k) => k.name === key && k.secret) ?? false);
}

/**
 * The config as operators may see it: values of secret keys are masked. A value made only of
 * config references (`${file:/etc/creds.properties:password}`) is shown as it is: it names where
 * the secret lives, not the secret, and operators need it to edit the config.
 */
export function maskSecrets(config: Record<string, string>, description: DescribeResponse | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, isSecretKey(k, description) && v !== '' && !isOnlyReferences(v) ? SECRET_MASK : v]));
}

export function connectorInfo(record: ConnectorRecord, description: DescribeResponse | undefined): ConnectorInfoInit {
  return {
    name: record.name,
    config: maskSecrets(record.config, description),
    targetState: record.targetState,
    kind: description?.kind ?? ConnectorKind.UNSPECIFIED,
    plugin: pluginNameOf(record.config),
  };
}

const partitionStates: Record<string, PartitionState> = {
  UNASSIGNED: PartitionState.UNASSIGNED,
  STARTING: PartitionState.STARTING,
  RUNNING: PartitionState.RUNNING,
  PAUSED: PartitionState.PAUSED,
  STOPPING: PartitionState.STOPPING,
  STOPPED: PartitionState.STOPPED,
  FAILED: PartitionState.FAILED,
};

/**
 * Connector and per-partition state from the leader's view (assignments + reported statuses).
 * The connector's state is derived from its partitions' observed states: RUNNING only when every
 * partition runs and its owner was heard from within a session timeout; FAILED when one failed
 * (or discovery fails); UNASSIGNED when none is assigned; DEGRADED otherwise.
 */
export function connectorStatus(leader: Leader, record: ConnectorRecord, kind: ConnectorKind, now = Date.now()): ConnectorStatusInit {
  const owners = new Map(leader.ownersOf(record.name).map((o) => [o.partition.id, o]));
  const workers = new Map(leader.workers().map((w) => [w.id, w]));
  const counts = { total: 0, running: 0, paused: 0, failed: 0, unassigned: 0, other: 0, stale: 0 };
  const partitions = leader.partitionsOf(record.name).map((p) => {
    const owner = owners.get(p.id);
    const status = leader.statusOf(record.name, p.id);
    const current = owner && status && status.epoch === owner.epoch && status.workerId === owner.workerId ? status : undefined;
    const state = !owner ? PartitionState.UNASSIGNED : current ? (partitionStates[current.state] ?? PartitionState.UNSPECIFIED) : PartitionState.STARTING;
    const worker = owner && workers.get(owner.workerId);
    const stale = owner !== undefined && (!worker?.connected || worker.lastSeen === undefined || now - worker.lastSeen > leader.sessionTimeoutMs);
    counts.total++;
    if (stale) counts.stale++;
    if (state === PartitionState.RUNNING) counts.running++;
    else if (state === PartitionState.PAUSED) counts.paused++;
    else if (state === PartitionState.FAILED) counts.failed++;
    else if (state === PartitionState.UNASSIGNED) counts.unassigned++;
    else counts.other++;
    return { partition: p.id, state, workerId: owner?.workerId ?? '', error: current?.error ?? '', trace: current?.trace ?? '', epoch: owner?.epoch ?? 0n, stale };
  });
  const error = leader.connectorError(record.name) ?? '';
  let state: ConnectorState;
  if (record.targetState === 'STOPPED') state = ConnectorState.STOPPED;
  else if (error || counts.failed > 0) state = ConnectorState.FAILED;
  else if (record.targetState === 'PAUSED') state = counts.paused === counts.total && counts.stale === 0 ? ConnectorState.PAUSED : ConnectorState.DEGRADED;
  else if (counts.total === 0 || counts.unassigned === counts.total) state = ConnectorState.UNASSIGNED;
  else state = counts.running === counts.total && counts.stale === 0 ? ConnectorState.RUNNING : ConnectorState.DEGRADED;
  return { name: record.name, state, kind, error, partitions, counts };
}

export function workerStatuses(leader: Leader, leaderId: string): WorkerStatusInit[] {
  const byWorker = new Map<string, string[]>();
  for (const c of leader.connectors()) {
    for (const o of leader.ownersOf(c.name)) byWorker.set(o.workerId, [...(byWorker.get(o.workerId) ?? []), `${c.name}/${o.partition.id}`]);
  }
  return leader.workers().map((w) => ({
    id: w.id,
    address: w.address,
    version: w.version,
    leader: w.id === leaderId,
    connected: w.connected,
    lastHeartbeatMs: BigInt(w.lastSeen ?? 0),
    partitions: byWorker.get(w.id) ?? [],
  }));
}
