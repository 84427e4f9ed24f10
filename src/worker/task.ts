import type { StreamPartition } from '../gen/tributary/connector/v1/connector_pb.js';
import type { TaskState, TaskStatus } from './task-state.js';

/** Why a task is asked to stop: a pause keeps it resumable; a revoke hands it to another worker. */
export type StopReason = 'stop' | 'pause' | 'revoke';

/** One stream partition of one connector running on this worker (source or sink). */
export interface Task {
  readonly connector: string;
  readonly partition: string;
  readonly streamPartition: StreamPartition;
  start(): Promise<void>;
  /** Drains and stops; resolves with the final committed offset. */
  stop(reason?: StopReason): Promise<Uint8Array | undefined>;
  /** Stops at once without draining (fencing). */
  kill(reason: string): Promise<void>;
  resume(): Promise<void>;
  /** Resolves when the task ended (STOPPED, PAUSED or FAILED). */
  readonly done: Promise<void>;
  status(): TaskStatus;
  /** Which stage of stopping timed out, when that is why the task is FAILED (its plugin is presumed hung). */
  hungWhileStopping(): 'drain' | 'flush' | undefined;
  onStateChange(listener: (state: TaskState) => void): () => void;
}
