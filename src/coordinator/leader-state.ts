/**
 * The leader's in-memory view of the cluster, loaded from a ClusterSnapshot and kept in step
 * with what it persists: connectors, discovered partitions, who owns what under which epoch,
 * committed offsets and statuses. Pure bookkeeping; the Leader decides and persists.
 */
import type { AssignmentRecord, ClusterSnapshot, ConnectorRecord, PartitionRecord, StatusRecord } from './backend.js';
import type { CommittedOffset } from './offset-store.js';
import { partitionKey } from './assignment.js';

export interface OwnedPartition extends AssignmentRecord {
  /** Set while a revoke is outstanding: why (a move, a drop, a restart). */
  revoking?: 'move' | 'drop' | 'restart';
}

export class LeaderState {
  readonly connectors = new Map<string, ConnectorRecord>();
  readonly partitions = new Map<string, PartitionRecord[]>();
  readonly owners = new Map<string, OwnedPartition>();
  readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  readonly statuses = new Map<string, StatusRecord>();
  epoch: bigint;

  constructor(snapshot: ClusterSnapshot) {
    for (const c of snapshot.connectors) this.connectors.set(c.name, c);
    for (const [name, list] of snapshot.partitions) this.partitions.set(name, list);
    for (const a of snapshot.assignments) this.owners.set(partitionKey({ connector: a.connector, partition: a.partition.id }), { ...a });
    for (const [name, map] of snapshot.offsets) this.offsets.set(name, new Map(map));
    for (const s of snapshot.statuses) this.statuses.set(partitionKey(s), s);
    let max = snapshot.epoch;
    for (const a of snapshot.assignments) if (a.epoch > max) max = a.epoch;
    this.epoch = max;
  }

  nextEpoch(): bigint {
    this.epoch += 1n;
    return this.epoch;
  }

  offset(connector: string, partition: string): CommittedOffset | undefined {
    return this.offsets.get(connector)?.get(partition);
  }

  setOffset(connector: string, partition: string, offset: CommittedOffset): void {
    let map = this.offsets.get(connector);
    if (!map) this.offsets.set(connector, (map = new Map()));
    map.set(partition, offset);
  }

  owner(connector: string, partition: string): OwnedPartition | undefined {
    return this.owners.get(partitionKey({ connector, partition }));
  }

  /** Assignments of one worker, as persisted under assignments/<worker>. */
  assignmentsOf(workerId: string): AssignmentRecord[] {
    const out: AssignmentRecord[] = [];
    for (const o of this.owners.values()) {
      if (o.workerId === workerId) out.push({ connector: o.connector, partition: o.partition, workerId: o.workerId, epoch: o.epoch });
    }
    return out;
  }

  workersWithAssignments(): Set<string> {
    return new Set([...this.owners.values()].map((o) => o.workerId));
  }

  /** Partitions that should run: every discovered partition of a connector that is not STOPPED. */
  desired(): Array<{ connector: string; partition: string }> {
    const out: Array<{ connector: string; partition: string }> = [];
    for (const [name, connector] of this.connectors) {
      if (connector.targetState === 'STOPPED') continue;
      for (const p of this.partitions.get(name) ?? []) out.push({ connector: name, partition: p.id });
    }
    return out;
  }

  /**
   * Per connector, `tasks.max`: the most workers that may run its partitions at once (validated
   * when the config was written; a connector without it has no cap).
   */
  workerCaps(): Map<string, number> {
    const caps = new Map<string, number>();
    for (const [name, connector] of this.connectors) {
      const raw = connector.config['tasks.max'];
      const max = raw === undefined ? NaN : Number(raw.trim());
      if (Number.isInteger(max) && max >= 1) caps.set(name, max);
    }
    return caps;
  }

  partition(connector: string, id: string): PartitionRecord | undefined {
    return this.partitions.get(connector)?.find((p) => p.id === id);
  }
}
