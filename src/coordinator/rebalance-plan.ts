/**
 * One rebalance, planned without touching the leader's state: which partitions to assign (each
 * under a fresh epoch), which to revoke (moved or no longer running), and the etcd writes that
 * persist it. The leader writes these first and applies them to memory and sends them only once
 * the write succeeded (invariant 2). Writes grow with what changed: one key per added, moved or
 * released partition, not the whole assignment.
 */
import { partitionKey, planAssignment, type Ownership } from './assignment.js';
import type { AssignmentRecord, StateWrite } from './backend.js';
import type { LeaderState, OwnedPartition } from './leader-state.js';

/** An owner key whose persisted value is out of date, with the version of that change. */
export interface DirtyOwner {
  connector: string;
  partition: string;
  version: number;
}

export interface RebalanceInputs {
  state: LeaderState;
  /** Every worker the leader knows: connected ones take partitions unless leaving; silent ones keep theirs. */
  workers: Array<{ id: string; capacity: number; connected: boolean; leaving: boolean }>;
  dirtyOwners: ReadonlyMap<string, DirtyOwner>;
  /** Workers whose assignments are still stored in the old one-list-per-worker layout. */
  legacyAssignmentWorkers: readonly string[];
}

export interface RebalancePlan {
  additions: OwnedPartition[];
  revokes: Array<{ owner: OwnedPartition; why: 'move' | 'drop'; reason: string }>;
  /** Partition keys written, with the dirty version each write covers (-1: an addition). */
  dirty: Map<string, number>;
  legacyDeleted: boolean;
  epoch: bigint;
  writes: StateWrite[];
}

export function assignmentRecord(o: OwnedPartition): AssignmentRecord {
  return { connector: o.connector, partition: o.partition, workerId: o.workerId, epoch: o.epoch };
}

export function planRebalance({ state, workers, dirtyOwners, legacyAssignmentWorkers }: RebalanceInputs): RebalancePlan {
  const connected = new Set(workers.filter((w) => w.connected).map((w) => w.id));
  const current: Ownership[] = [...state.owners.values()].map((o) => ({ connector: o.connector, partition: o.partition.id, workerId: o.workerId, revoking: o.revoking !== undefined }));
  const plan = planAssignment({
    desired: state.desired(),
    workers: workers.map((w) => ({ id: w.id, capacity: w.capacity, available: w.connected && !w.leaving })),
    current,
    maxWorkers: state.workerCaps(),
  });

  const revokes: RebalancePlan['revokes'] = [];
  for (const d of plan.drop) {
    const owner = state.owner(d.connector, d.partition);
    if (owner && connected.has(owner.workerId)) revokes.push({ owner, why: 'drop', reason: 'partition no longer runs' });
  }
  for (const m of plan.move) {
    const owner = state.owner(m.connector, m.partition);
    if (owner && connected.has(owner.workerId)) revokes.push({ owner, why: 'move', reason: 'rebalancing' });
  }
  let epoch = state.epoch;
  const additions: OwnedPartition[] = [];
  for (const a of plan.assign) {
    const partition = state.partition(a.connector, a.partition);
    if (!partition) continue;
    epoch += 1n;
    additions.push({ connector: a.connector, partition, workerId: a.workerId, epoch });
  }
  const dirty = new Map<string, number>();
  const writes: StateWrite[] = [];
  const added = new Map(additions.map((o) => [partitionKey({ connector: o.connector, partition: o.partition.id }), o]));
  for (const [key, d] of dirtyOwners) {
    dirty.set(key, d.version);
    if (added.has(key)) continue;
    const o = state.owners.get(key);
    writes.push(o ? { type: 'putAssignment', assignment: assignmentRecord(o) } : { type: 'deleteAssignment', connector: d.connector, partition: d.partition });
  }
  for (const [key, o] of added) {
    if (!dirty.has(key)) dirty.set(key, -1);
    writes.push({ type: 'putAssignment', assignment: assignmentRecord(o) });
  }
  const legacyDeleted = legacyAssignmentWorkers.length > 0;
  // Last, so a batch cut short (etcd's per-transaction cap) never loses the old list first.
  for (const workerId of legacyAssignmentWorkers) writes.push({ type: 'deleteLegacyAssignments', workerId });
  if (writes.length > 0) writes.push({ type: 'putEpoch', epoch });
  return { additions, revokes, dirty, legacyDeleted, epoch, writes };
}
