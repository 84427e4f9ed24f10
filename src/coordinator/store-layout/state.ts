/**
 * Cluster state as etcd keys: turns a batch of StateWrites into the operations of one transaction,
 * and a range read of the cluster prefix back into a ClusterSnapshot.
 *
 * A batch means "apply these in order", but etcd refuses a transaction that puts one key twice or
 * puts a key inside a range it also deletes. `planWrites` therefore folds the batch into its net
 * effect (last write of a key wins; a prefix delete drops earlier writes under it). Only a prefix
 * delete followed by a put under the same prefix (delete a connector, then create it again) cannot
 * be folded without knowing which keys exist: such a prefix is marked for expansion, and the
 * writer replaces it by deletes of the keys that exist there (read just before the transaction;
 * the leader is the only writer of these keys, so nothing appears in between).
 *
 * Planning costs O(writes × prefix deletes in the batch), not O(writes²): a put is checked only
 * against the batch's prefix deletes (a handful: three per deleted connector), never against
 * every other write, so a rebalance that assigns thousands of partitions plans in linear time.
 */
import type { AssignmentRecord, ClusterSnapshot, StateWrite } from '../backend.js';
import type { CommittedOffset } from '../offset-store.js';
import type { ClusterKeys } from './keys.js';
import {
  decodeAssignment,
  decodeAssignments,
  decodeConnector,
  decodeEpoch,
  decodeOffset,
  decodePartitions,
  decodeStatus,
  encodeAssignment,
  encodeConnector,
  encodeEpoch,
  encodeOffset,
  encodePartitions,
  encodeStatus,
} from './codec.js';

export type KeyOp =
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string; expand: boolean };

/** The net effect of `writes`, in order, with no two operations touching the same key. */
export function planWrites(keys: ClusterKeys, writes: readonly StateWrite[]): KeyOp[] {
  // Insertion order is the order of each key's last write; re-setting an entry moves it last.
  const plan = new Map<string, KeyOp>();
  // The prefix deletes currently in `plan`, apart, so a put is checked against these only.
  const prefixes = new Map<string, KeyOp & { op: 'deletePrefix' }>();
  const set = (id: string, op: KeyOp) => {
    plan.delete(id);
    plan.set(id, op);
  };
  const coveringPrefix = (key: string): (KeyOp & { op: 'deletePrefix' }) | undefined => {
    for (const op of prefixes.values()) if (key.startsWith(op.prefix)) return op;
    return undefined;
  };
  const put = (key: string, value: string) => {
    const covering = coveringPrefix(key);
    if (covering) covering.expand = true;
    set(`k:${key}`, { op: 'put', key, value });
  };
  const del = (key: string) => {
    plan.delete(`k:${key}`);
    const covering = coveringPrefix(key);
    // Already deleted by the prefix; if the prefix gets expanded, the key is among those read.
    if (!covering) set(`k:${key}`, { op: 'delete', key });
  };
  const delPrefix = (prefix: string) => {
    if (coveringPrefix(prefix)) {
      // An earlier, wider prefix delete covers it; only writes made since then need undoing.
      for (const [id, op] of plan) if (op.op !== 'deletePrefix' && op.key.startsWith(prefix)) plan.delete(id);
      return;
    }
    for (const [id, op] of plan) {
      const target = op.op === 'deletePrefix' ? op.prefix : op.key;
      if (!target.startsWith(prefix)) continue;
      plan.delete(id);
      if (op.op === 'deletePrefix') prefixes.delete(op.prefix);
    }
    const op: KeyOp & { op: 'deletePrefix' } = { op: 'deletePrefix', prefix, expand: false };
    set(`p:${prefix}`, op);
    prefixes.set(prefix, op);
  };

  for (const w of writes) {
    switch (w.type) {
      case 'putConnector':
        put(keys.connectorConfig(w.record.name), encodeConnector(w.record));
        break;
      case 'deleteConnector':
        delPrefix(keys.connectorPrefix(w.name));
        delPrefix(keys.offsetsPrefix(w.name));
        delPrefix(keys.statusPrefix(w.name));
        break;
      case 'putPartitions':
        put(keys.connectorPartitions(w.connector), encodePartitions(w.partitions));
        break;
      case 'putAssignment':
        put(keys.owner(w.assignment.connector, w.assignment.partition.id), encodeAssignment(w.assignment));
        break;
      case 'deleteAssignment':
        del(keys.owner(w.connector, w.partition));
        break;
      case 'deleteLegacyAssignments':
        del(keys.assignments(w.workerId));
        break;
      case 'commitOffset':
        put(keys.offset(w.connector, w.partition), encodeOffset(w.offset));
        break;
      case 'deleteOffset':
        del(keys.offset(w.connector, w.partition));
        break;
      case 'putStatus':
        put(keys.status(w.status.connector, w.status.partition), encodeStatus(w.status));
        break;
      case 'deleteStatus':
        del(keys.status(w.connector, w.partition));
        break;
      case 'putEpoch':
        put(keys.epoch, encodeEpoch(w.epoch));
        break;
      default: {
        const unknown: never = w;
        throw new Error(`unknown state write ${JSON.stringify(unknown)}`);
      }
    }
  }
  return [...plan.values()];
}

/**
 * Replaces each prefix delete marked `expand` by deletes of the keys `existing(prefix)` lists,
 * except those the plan puts anyway.
 */
export async function expandPrefixDeletes(ops: KeyOp[], existing: (prefix: string) => Promise<string[]>): Promise<KeyOp[]> {
  if (!ops.some((op) => op.op === 'deletePrefix' && op.expand)) return ops;
  const written = new Set(ops.flatMap((op) => (op.op === 'deletePrefix' ? [] : [op.key])));
  const out: KeyOp[] = [];
  for (const op of ops) {
    if (op.op !== 'deletePrefix' || !op.expand) {
      out.push(op);
      continue;
    }
    for (const key of await existing(op.prefix)) if (!written.has(key)) out.push({ op: 'delete', key });
  }
  return out;
}

/** Builds a snapshot from every key-value under the cluster prefix (other keys are ignored). */
export function snapshotFromKvs(keys: ClusterKeys, kvs: Iterable<{ key: string; value: string }>): ClusterSnapshot {
  const snapshot: ClusterSnapshot = { connectors: [], partitions: new Map(), assignments: [], offsets: new Map(), statuses: [], epoch: 0n };
  // Per-partition keys win over the old per-worker lists for the same partition (a leader that
  // wrote the new layout but was deposed before deleting the old keys leaves both).
  const owners = new Map<string, AssignmentRecord>();
  const legacy = new Map<string, AssignmentRecord>();
  const legacyWorkers: string[] = [];
  const ownerId = (connector: string, partition: string) => `${connector}\u0000${partition}`;
  for (const { key, value } of kvs) {
    const parsed = keys.parse(key);
    if (!parsed) continue;
    switch (parsed.kind) {
      case 'connectorConfig':
        snapshot.connectors.push(decodeConnector(key, value));
        break;
      case 'connectorPartitions':
        snapshot.partitions.set(parsed.connector, decodePartitions(key, value));
        break;
      case 'assignments':
        legacyWorkers.push(parsed.workerId);
        for (const a of decodeAssignments(key, value)) legacy.set(ownerId(a.connector, a.partition.id), a);
        break;
      case 'owner':
        owners.set(ownerId(parsed.connector, parsed.partition), decodeAssignment(key, value));
        break;
      case 'offset': {
        let map = snapshot.offsets.get(parsed.connector);
        if (!map) snapshot.offsets.set(parsed.connector, (map = new Map<string, CommittedOffset>()));
        map.set(parsed.partition, decodeOffset(key, value));
        break;
      }
      case 'status':
        snapshot.statuses.push(decodeStatus(key, value));
        break;
      case 'epoch':
        snapshot.epoch = decodeEpoch(key, value);
        break;
      case 'leader':
      case 'worker':
        break; // election and membership are not cluster state
    }
  }
  for (const [id, a] of legacy) if (!owners.has(id)) owners.set(id, a);
  snapshot.assignments = [...owners.values()];
  if (legacyWorkers.length > 0) snapshot.legacyAssignmentWorkers = legacyWorkers;
  return snapshot;
}
