/**
 * What every task (one stream partition of one connector) shares, source or sink: the state
 * machine, start/stop/pause/resume/kill, and the run loop that retries a session after a
 * retriable error (Kafka unreachable) from the committed offset, and FAILS on anything else.
 * A subclass runs one session — open the plugin stream, move records, drain on request.
 */
import type { Logger } from 'pino';
import type { StreamPartition } from '../gen/tributary/connector/v1/connector_pb.js';
import { describeError, isRetriable } from '../errors.js';
import { Backoff } from '../util/backoff.js';
import { sleep } from '../util/iterate.js';
import { TaskState, TaskStateMachine, type TaskStatus } from './task-state.js';
import type { StopReason, Task } from './task.js';

export interface PartitionTaskOptions {
  connector: { name: string; config: Record<string, string> };
  partition: StreamPartition;
  logger: Logger;
}

export abstract class PartitionTask implements Task {
  readonly connector: string;
  readonly partition: string;
  protected readonly state: TaskStateMachine;
  protected readonly log: Logger;
  protected lastError: { message: string; trace: string } | undefined;
  protected stopRequest: { reason: StopReason; requestedAt: number } | undefined;
  /** Set when the task was stopped without draining (fencing). */
  protected killed: string | undefined;
  protected recordsTotal = 0;
  private stopSignal = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly kind: 'source' | 'sink',
    private readonly base: PartitionTaskOptions,
  ) {
    this.connector = base.connector.name;
    this.partition = base.partition.id;
    this.state = new TaskStateMachine(`${this.connector}/${this.partition}`);
    this.log = base.logger.child({ connector: this.connector, partition: this.partition });
  }

  get streamPartition(): StreamPartition {
    return this.base.partition;
  }

  onStateChange(listener: (state: TaskState) => void): () => void {
    return this.state.onChange(listener);
  }

  /** One session: open the plugin stream at the committed offset and run until drained or failed. */
  protected abstract runSession(): Promise<void>;
  /** Wakes the running session so it sees the stop request (or the kill). */
  protected abstract interrupt(kill: boolean): void;
  /** The offset of the last committed record. */
  protected abstract committedOffset(): Uint8Array | undefined;
  /** Records handed on and not yet acknowledged. */
  protected abstract inFlight(): number;

  status(): TaskStatus {
    return {
      connector: this.connector,
      partition: this.partition,
      state: this.state.state,
      error: this.lastError,
      committedOffset: this.committedOffset(),
      inFlight: this.inFlight(),
      recordsTotal: this.recordsTotal,
    };
  }

  /** Starts the task; it reads from its committed offset. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.state.to(TaskState.STARTING);
    this.loop = this.runLoop();
  }

  /** Resolves when the task has ended (STOPPED, PAUSED after a pause, or FAILED). */
  get done(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /**
   * Drains and stops; resolves with the final committed offset. A plugin that does not drain in
   * time is cut off and the task FAILS: its partition must not be handed over as cleanly stopped.
   */
  async stop(reason: StopReason = 'stop'): Promise<Uint8Array | undefined> {
    if (!this.loop) {
      this.state.to(TaskState.STOPPED);
      return this.committedOffset();
    }
    if (!this.stopRequest) {
      this.stopRequest = { reason, requestedAt: Date.now() };
      this.stopSignal.abort();
      this.interrupt(false);
    }
    await this.loop;
    return this.committedOffset();
  }

  /**
   * Stops at once without draining (fencing: another worker may own the partition any moment).
   * Nothing more is committed; records already handed to Kafka may still land, which
   * at-least-once allows.
   */
  async kill(reason: string): Promise<void> {
    if (!this.loop) return;
    this.killed = reason;
    this.stopRequest ??= { reason: 'stop', requestedAt: Date.now() };
    this.stopSignal.abort();
    this.interrupt(true);
    await this.loop;
  }

  /** Resumes a task stopped by a pause, from its committed offset. */
  async resume(): Promise<void> {
    if (this.state.state !== TaskState.PAUSED) return;
    this.stopRequest = undefined;
    this.stopSignal = new AbortController();
    this.state.to(TaskState.STARTING);
    this.loop = this.runLoop();
  }

  private async runLoop(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
    for (;;) {
      try {
        await this.runSession();
        this.lastError = undefined;
        if (this.stopRequest?.reason === 'pause') this.state.to(TaskState.PAUSED);
        else {
          this.state.to(TaskState.STOPPING);
          this.state.to(TaskState.STOPPED);
        }
        return;
      } catch (err) {
        if (this.killed) {
          this.lastError = { message: `stopped without draining: ${this.killed}`, trace: '' };
          if (this.state.state !== TaskState.STOPPING) this.state.to(TaskState.STOPPING);
          this.state.to(TaskState.STOPPED);
          return;
        }
        this.lastError = describeError(err);
        if (isRetriable(err) && !this.stopRequest) {
          const delay = backoff.next();
          this.log.warn({ err: this.lastError.message, retryInMs: delay }, `${this.kind} task hit a retriable error; resuming from the committed offset`);
          this.state.to(TaskState.STARTING);
          await sleep(delay, this.stopSignal.signal);
          if (!this.stopRequest) continue;
        }
        this.log.error({ err: this.lastError.message }, `${this.kind} task failed`);
        this.state.to(TaskState.FAILED);
        return;
      }
    }
  }
}
