/**
 * What every task (one stream partition of one connector) shares, source or sink: the state
 * machine, start/stop/pause/resume/kill, and the run loop. The loop retries a session from the
 * committed offset after a retriable error (Kafka unreachable, the plugin's shared process down
 * until the host has a fresh one) without counting it, and FAILS on anything else; a FAILED
 * partition is then restarted on its own per its connector's restart policy
 * (restart-policy.ts), and stays FAILED with the reason and the attempt count once the policy
 * gives up. A stop, a pause or a kill is never retried.
 * A subclass runs one session — open the plugin stream, move records, drain on request.
 */
import type { Logger } from 'pino';
import type { StreamPartition } from '../gen/tributary/connector/v1/connector_pb.js';
import { describeError, isRetriable, StopStageTimeoutError } from '../errors.js';
import { Backoff } from '../util/backoff.js';
import { sleep } from '../util/iterate.js';
import { noRestarts, restartDelayMs, type RestartPolicy } from './restart-policy.js';
import { TaskState, TaskStateMachine, type TaskStatus } from './task-state.js';
import type { StopReason, Task } from './task.js';

export interface PartitionTaskOptions {
  connector: { name: string; config: Record<string, string> };
  partition: StreamPartition;
  logger: Logger;
  /** Automatic restarts after a non-retriable failure (default: none). */
  restart?: RestartPolicy;
}

export abstract class PartitionTask implements Task {
  readonly connector: string;
  readonly partition: string;
  protected readonly state: TaskStateMachine;
  protected readonly log: Logger;
  protected lastError: { message: string; trace: string } | undefined;
  /** The stage of stopping that timed out, when that is how this task last failed. */
  private stopStageTimedOut: StopStageTimeoutError['stage'] | undefined;
  protected stopRequest: { reason: StopReason; requestedAt: number } | undefined;
  /** Set when the task was stopped without draining (fencing). */
  protected killed: string | undefined;
  protected recordsTotal = 0;
  /** Automatic restarts since the partition last committed a record (restart-policy.ts). */
  private restartAttempts = 0;
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
    // Running again after a retry or a restart: the old error no longer describes the partition.
    // Registered first, so status listeners added later already see it cleared.
    this.state.onChange((state) => {
      if (state === TaskState.RUNNING) {
        this.lastError = undefined;
        this.stopStageTimedOut = undefined;
      }
    });
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

  hungWhileStopping(): StopStageTimeoutError['stage'] | undefined {
    return this.state.state === TaskState.FAILED ? this.stopStageTimedOut : undefined;
  }

  status(): TaskStatus {
    return {
      connector: this.connector,
      partition: this.partition,
      state: this.state.state,
      error: this.lastError,
      committedOffset: this.committedOffset(),
      inFlight: this.inFlight(),
      recordsTotal: this.recordsTotal,
      restartAttempts: this.restartAttempts,
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
    const policy = this.base.restart ?? noRestarts;
    for (;;) {
      const recordsAtStart = this.recordsTotal;
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
        const error = describeError(err);
        this.stopStageTimedOut = err instanceof StopStageTimeoutError ? err.stage : undefined;
        if (this.recordsTotal > recordsAtStart) {
          // It moved records since the last failure: this one starts a fresh count.
          this.restartAttempts = 0;
          backoff.reset();
        }
        if (isRetriable(err) && !this.stopRequest) {
          const delay = backoff.next();
          this.lastError = error;
          this.log.warn({ err: error.message, retryInMs: delay }, `${this.kind} task hit a retriable error; resuming from the committed offset`);
          this.state.to(TaskState.STARTING);
          await sleep(delay, this.stopSignal.signal);
          if (!this.stopRequest) continue;
        }
        if (this.stopRequest || this.restartAttempts >= policy.maxAttempts) {
          const gaveUp = policy.maxAttempts > 0 && !this.stopRequest;
          this.lastError = gaveUp
            ? { message: `${error.message} (gave up after ${this.restartAttempts} automatic restarts, task.restart.max.attempts=${policy.maxAttempts}; restart the partition once the cause is fixed)`, trace: error.trace }
            : error;
          this.log.error({ err: error.message, restartAttempts: this.restartAttempts }, `${this.kind} task failed`);
          this.state.to(TaskState.FAILED);
          return;
        }
        this.restartAttempts++;
        const delay = restartDelayMs(this.restartAttempts, policy);
        this.lastError = { message: `${error.message} (automatic restart ${this.restartAttempts} of ${policy.maxAttempts} in ${delay} ms)`, trace: error.trace };
        this.log.error({ err: error.message, restartAttempt: this.restartAttempts, restartInMs: delay }, `${this.kind} task failed; restarting it from the committed offset`);
        this.state.to(TaskState.FAILED);
        await sleep(delay, this.stopSignal.signal);
        if (this.stopRequest) return;
        this.state.to(TaskState.STARTING);
      }
    }
  }
}
