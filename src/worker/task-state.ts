/**
 * The task state machine, in one place. A task is one stream partition of one connector running
 * on this worker. Observed state (what the worker reports) is kept apart from the connector's
 * target state (what operators set: RUNNING, PAUSED, STOPPED); the worker reconciles the two.
 */
export enum TaskState {
  UNASSIGNED = 'UNASSIGNED',
  STARTING = 'STARTING',
  RUNNING = 'RUNNING',
  PAUSED = 'PAUSED',
  STOPPING = 'STOPPING',
  STOPPED = 'STOPPED',
  FAILED = 'FAILED',
}

const allowed: Record<TaskState, readonly TaskState[]> = {
  [TaskState.UNASSIGNED]: [TaskState.STARTING, TaskState.STOPPED],
  [TaskState.STARTING]: [TaskState.RUNNING, TaskState.PAUSED, TaskState.STOPPING, TaskState.FAILED],
  [TaskState.RUNNING]: [TaskState.PAUSED, TaskState.STOPPING, TaskState.FAILED, TaskState.STARTING],
  [TaskState.PAUSED]: [TaskState.STARTING, TaskState.STOPPING, TaskState.FAILED],
  [TaskState.STOPPING]: [TaskState.STOPPED, TaskState.FAILED],
  [TaskState.STOPPED]: [],
  // FAILED → STARTING: an automatic restart (restart-policy.ts).
  [TaskState.FAILED]: [TaskState.STOPPING, TaskState.STOPPED, TaskState.STARTING],
};

export function canTransition(from: TaskState, to: TaskState): boolean {
  return allowed[from].includes(to);
}

export interface TaskStatus {
  connector: string;
  partition: string;
  state: TaskState;
  /** Set for FAILED, and for a RUNNING task that is retrying a retriable error. */
  error?: { message: string; trace: string };
  /** Offset of the last committed record, as the connector's offsets are (opaque bytes). */
  committedOffset?: Uint8Array;
  /** Records handed to the plugin or Kafka and not yet acknowledged. */
  inFlight: number;
  recordsTotal: number;
  /** Automatic restarts since the partition last committed a record (restart-policy.ts). */
  restartAttempts?: number;
}

export class TaskStateMachine {
  private current = TaskState.UNASSIGNED;
  private readonly listeners = new Set<(state: TaskState) => void>();

  constructor(private readonly what: string) {}

  get state(): TaskState {
    return this.current;
  }

  /** Moves to `to`; throws on a transition the state machine does not allow (a bug, not input). */
  to(to: TaskState): void {
    if (this.current === to) return;
    if (!canTransition(this.current, to)) throw new Error(`${this.what}: illegal task transition ${this.current} → ${to}`);
    this.current = to;
    for (const listener of this.listeners) listener(to);
  }

  onChange(listener: (state: TaskState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
