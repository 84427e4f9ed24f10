/**
 * The coordinator's storage and election seam. Two backends implement it: `etcd` (distributed;
 * the default for `tributary worker`) and `memory` (one process; `tributary standalone` and unit
 * tests). The leader is the only writer of cluster state, and every write goes through its
 * `Leadership`: on etcd a transaction guarded by the leader's own election key (compare on its
 * create revision), so a deposed leader cannot write even before it notices its successor
 * (invariant 2).
 *
 * etcd layout (kept in sync with store-layout/keys.ts):
 *   /tributary/<cluster>/leader/…                        election (etcd3 Election)
 *   /tributary/<cluster>/workers/<id>                     lease-bound WorkerInfo (JSON)
 *   /tributary/<cluster>/connectors/<name>/config         ConnectorRecord (JSON)
 *   /tributary/<cluster>/connectors/<name>/partitions     discovered stream partitions (JSON)
 *   /tributary/<cluster>/owners/<name>/<partition>        AssignmentRecord of one partition (JSON)
 *   /tributary/<cluster>/assignments/<worker-id>          AssignmentRecord[] (JSON): the layout before
 *                                                          per-partition keys; still read, deleted by
 *                                                          the first leader that writes the new one
 *   /tributary/<cluster>/offsets/<name>/<partition>       committed offset + epoch (JSON, offset base64)
 *   /tributary/<cluster>/status/<name>/<partition>        StatusRecord (JSON)
 *   /tributary/<cluster>/epoch                            last assignment epoch handed out
 */
import type { CommittedOffset } from './offset-store.js';

export type TargetState = 'RUNNING' | 'PAUSED' | 'STOPPED';

export interface WorkerInfo {
  id: string;
  /** host:port of the worker's gRPC server (Coordinator and Admin services). */
  address: string;
  /** Relative weight for balancing (1 = one share). */
  capacity: number;
  version: string;
}

export interface ConnectorRecord {
  name: string;
  config: Record<string, string>;
  targetState: TargetState;
}

/** A stream partition as stored: id plus what a sink needs to fetch it. */
export interface PartitionRecord {
  id: string;
  attributes: Record<string, string>;
  topic?: string;
  kafkaPartition?: number;
}

export interface AssignmentRecord {
  connector: string;
  partition: PartitionRecord;
  workerId: string;
  /** Monotonic across the cluster and across leaders; reports from older epochs are refused. */
  epoch: bigint;
}

export interface StatusRecord {
  connector: string;
  partition: string;
  workerId: string;
  state: string;
  error?: string;
  trace?: string;
  epoch: bigint;
  /** ms since epoch. */
  updatedAt: number;
}

/** One write of cluster state; a batch of them is applied in one transaction. */
export type StateWrite =
  | { type: 'putConnector'; record: ConnectorRecord }
  | { type: 'deleteConnector'; name: string }
  | { type: 'putPartitions'; connector: string; partitions: PartitionRecord[] }
  /** Who owns one partition under which epoch (one key per partition: writes grow with what changed). */
  | { type: 'putAssignment'; assignment: AssignmentRecord }
  | { type: 'deleteAssignment'; connector: string; partition: string }
  /** Removes a worker's assignment list of the old layout (assignments/<worker-id>). */
  | { type: 'deleteLegacyAssignments'; workerId: string }
  | { type: 'commitOffset'; connector: string; partition: string; offset: CommittedOffset }
  | { type: 'deleteOffset'; connector: string; partition: string }
  | { type: 'putStatus'; status: StatusRecord }
  | { type: 'deleteStatus'; connector: string; partition: string }
  | { type: 'putEpoch'; epoch: bigint };

/** Everything a new leader loads to pick up where the previous one stopped. */
export interface ClusterSnapshot {
  connectors: ConnectorRecord[];
  partitions: Map<string, PartitionRecord[]>;
  assignments: AssignmentRecord[];
  /** connector → partition → committed offset */
  offsets: Map<string, Map<string, CommittedOffset>>;
  statuses: StatusRecord[];
  /** The last assignment epoch handed out (0 if none). */
  epoch: bigint;
  /**
   * Workers whose assignment list is still stored in the old one-key-per-worker layout (read
   * into `assignments`); the new leader rewrites them as per-partition keys and deletes these.
   */
  legacyAssignmentWorkers?: string[];
}

export interface Leadership {
  /** The leader's term: grows with every election (etcd: the election key's create revision). */
  readonly term: bigint;
  /** Aborted the moment leadership is known lost (lease expired, key deleted, resigned). */
  readonly lost: AbortSignal;
  /**
   * Applies `writes` in one transaction, only while this leadership holds. Throws
   * NotLeaderError (a FailedPreconditionError) and aborts `lost` when it does not.
   */
  write(writes: StateWrite[]): Promise<void>;
  /** Gives leadership up (SIGTERM on the leader). */
  resign(): Promise<void>;
}

export interface CoordinatorBackend {
  readonly kind: 'etcd' | 'memory';
  /**
   * The longest a leader that died can still appear elected (its lease TTL plus how late the
   * backend may expire it), in ms. A session timeout must leave room for it, or a leader's death
   * fences every worker before its successor can answer them.
   */
  readonly leaderExpiryMs?: number;
  start(): Promise<void>;
  /** Releases leases and watches; a held leadership is resigned. Idempotent. */
  stop(): Promise<void>;

  /**
   * Campaigns for leadership as `self` (advertised to others as the leader's WorkerInfo);
   * resolves when elected, or with undefined if `signal` aborts first.
   */
  campaign(self: WorkerInfo, signal: AbortSignal): Promise<Leadership | undefined>;
  /** The current leader, if any. */
  leader(): Promise<WorkerInfo | undefined>;
  /** Calls `listener` with the current leader, then on every change. Returns an unsubscribe. */
  watchLeader(listener: (leader: WorkerInfo | undefined) => void): () => void;

  /** Registers this worker as a member until stop() or its death (lease-bound on etcd). */
  register(self: WorkerInfo): Promise<void>;
  members(): Promise<WorkerInfo[]>;
  /** Calls `listener` with the member list on every change. Returns an unsubscribe. */
  watchMembers(listener: (members: WorkerInfo[]) => void): () => void;

  /** Reads the whole cluster state (a new leader's first step; admin reads). */
  snapshot(): Promise<ClusterSnapshot>;
}
