/**
 * What the console server pushes to browsers (server-sent events) and answers on its JSON
 * routes. Plain data only: the UI under console/ imports these types (type-only, nothing at run
 * time), so both sides agree on one shape.
 */

export type PartitionStateName = 'UNASSIGNED' | 'STARTING' | 'RUNNING' | 'PAUSED' | 'STOPPING' | 'STOPPED' | 'FAILED' | 'UNKNOWN';

export interface ConsolePartition {
  partition: string;
  state: PartitionStateName;
  /** Owning worker; empty while unassigned. */
  workerId: string;
  epoch: number;
  stale: boolean;
  error?: string;
  trace?: string;
  /** Committed offset as text when printable (most plugins use text offsets). */
  offset?: string;
}

export interface ConsoleLag {
  topic: string;
  partition: number;
  /** Committed offset of the `connect-<name>` group (undefined: nothing committed yet). */
  committed?: number;
  /** High watermark of the topic-partition. */
  end: number;
  lag: number;
}

export interface ConsoleConnector {
  name: string;
  kind: 'source' | 'sink' | 'unknown';
  plugin: string;
  /** Observed state (from WatchStatus). */
  state: string;
  /** Desired state (what operators set). */
  targetState: string;
  error?: string;
  partitions: ConsolePartition[];
  counts: { total: number; running: number; paused: number; failed: number; unassigned: number; other: number };
  /** Config as the admin API returns it: secrets are already `********`. */
  config: Record<string, string>;
  topics: string[];
  /** Records per second over the last sample interval (see docs/console.md for how it is measured). */
  recordsPerSecond: number | null;
  /** The last samples of recordsPerSecond, oldest first (the sparkline). */
  history: number[];
  /** Sinks only: lag per topic-partition of the `connect-<name>` group. */
  lag: ConsoleLag[];
}

export interface ConsoleWorker {
  id: string;
  address: string;
  leader: boolean;
  connected: boolean;
  /** `connector/partition` of every stream partition assigned to it. */
  partitions: string[];
}

export interface ConsoleEvent {
  /** ms since the epoch. */
  at: number;
  kind: 'leader-changed' | 'worker-joined' | 'worker-left' | 'partition-moved' | 'partition-failed' | 'partition-restarted' | 'partition-state' | 'connector-created' | 'connector-deleted' | 'connector-state';
  connector?: string;
  partition?: string;
  message: string;
}

export interface ConsoleState {
  /** The worker serving this console. */
  servedBy: string;
  cluster: string;
  leaderId: string;
  term: number;
  epoch: number;
  workers: ConsoleWorker[];
  connectors: ConsoleConnector[];
  /** Why the last refresh failed (e.g. no leader during a failover); cleared when one succeeds. */
  problem?: string;
  /** ms since the epoch of the last successful refresh. */
  updatedAt: number;
}

export interface ConsoleSession {
  workerId: string;
  /** The worker requires a bearer token (admin.tokens.file). */
  authRequired: boolean;
  /** Set when a valid token was presented. */
  principal?: string;
  roles: string[];
  /** The worker allows actions from the console (console.actions=true). */
  actionsEnabled: boolean;
  /** Actions are enabled and this caller may take them (operator role, or no auth). */
  canAct: boolean;
}

export type ConsoleAction = 'pause' | 'resume' | 'stop' | 'restart';
