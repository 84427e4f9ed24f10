/**
 * Applies the leader's instructions to this worker's data plane: assignments (open the
 * connector's runtime, start the partition from the committed offset the assignment carries,
 * apply its target state), disowns, revokes (drain, final offset) and the fence's stop of
 * everything. It keeps what runs here under which epoch, and the latest status of each, to be
 * reported; the session with the leader (ClusterMember) decides when to apply and what to send.
 */
import { create } from '@bufbuild/protobuf';
import { TargetState as TargetStateProto, TaskState as TaskStateProto, type Assignment, type PartitionRef } from '../gen/tributary/cluster/v1/cluster_pb.js';
import { StreamPartitionSchema } from '../gen/tributary/connector/v1/connector_pb.js';
import { partitionKey } from '../coordinator/index.js';
import { describeError } from '../errors.js';
import { sameConfig } from '../util/config.js';
import type { AssignedOffsetStore } from './assigned-offset-store.js';
import type { ConnectorRuntime } from './connector-runtime.js';
import { TaskState } from './task-state.js';
import type { Worker } from './worker.js';

export interface Running {
  connector: string;
  partition: string;
  epoch: bigint;
}

/** One partition's status as reported to the leader. */
export interface StatusEntry {
  ref: { connector: string; partition: string; epoch: bigint };
  state: TaskStateProto;
  error: string;
  trace: string;
}

const taskStateToProto: Record<TaskState, TaskStateProto> = {
  [TaskState.UNASSIGNED]: TaskStateProto.UNASSIGNED,
  [TaskState.STARTING]: TaskStateProto.STARTING,
  [TaskState.RUNNING]: TaskStateProto.RUNNING,
  [TaskState.PAUSED]: TaskStateProto.PAUSED,
  [TaskState.STOPPING]: TaskStateProto.STOPPING,
  [TaskState.STOPPED]: TaskStateProto.STOPPED,
  [TaskState.FAILED]: TaskStateProto.FAILED,
};

const key = (connector: string, partition: string) => partitionKey({ connector, partition });

export class AssignmentApplier {
  private readonly running = new Map<string, Running>();
  private readonly openedWith = new Map<string, Record<string, string>>();
  /** Statuses to report (latest per partition). */
  private readonly statusQueue = new Map<string, { ref: Running; state: TaskState; error?: string; trace?: string }>();
  /** Counts fences, so an assignment being applied while one happens is undone. */
  private fences = 0;

  constructor(
    private readonly worker: Worker,
    private readonly offsets: AssignedOffsetStore,
  ) {}

  get size(): number {
    return this.running.size;
  }

  partitions(): Running[] {
    return [...this.running.values()];
  }

  async apply(assignments: Assignment[]): Promise<void> {
    const fences = this.fences;
    for (const a of assignments) {
      if (this.fences !== fences) return;
      if (!a.ref || !a.partition) continue;
      const ref: Running = { connector: a.ref.connector, partition: a.ref.partition, epoch: a.ref.epoch };
      const k = key(ref.connector, ref.partition);
      const existing = this.running.get(k);
      let runtime: ConnectorRuntime | undefined;
      try {
        runtime = await this.runtimeFor(ref.connector, a.config);
      } catch (err) {
        const { message, trace } = describeError(err);
        this.running.set(k, ref);
        this.statusQueue.set(k, { ref, state: TaskState.FAILED, error: message, trace });
        continue;
      }
      if (existing && existing.epoch === ref.epoch) {
        await this.applyTargetState(runtime, ref, a.targetState);
        continue;
      }
      if (existing) await runtime.task(ref.partition)?.kill('reassigned under a newer epoch');
      // Stamped with the epoch that committed it (exactly-once recovery compares it with the offsets topic's).
      this.offsets.assign(ref.connector, ref.partition, a.committedOffset, a.committedOffsetEpoch ?? ref.epoch);
      this.running.set(k, ref);
      await runtime.startPartition(create(StreamPartitionSchema, a.partition), ref.epoch);
      const task = runtime.task(ref.partition);
      if (this.fences !== fences) {
        // Fenced while starting: this assignment is void.
        await task?.kill('fenced while starting');
        this.running.delete(k);
        return;
      }
      // Only while this assignment is the current one: a late state change of a task replaced
      // under a newer epoch would queue a report with the old epoch (which the leader refuses)
      // in place of the queued report of the task that replaced it, under the same key.
      task?.onStateChange(() => {
        if (this.running.get(k) === ref) this.queueStatus(ref);
      });
      this.queueStatus(ref);
      await this.applyTargetState(runtime, ref, a.targetState);
    }
  }

  /** Stops, without draining, what the leader gave to another worker (under the epoch it names). */
  async disown(refs: PartitionRef[]): Promise<void> {
    for (const ref of refs) {
      const k = key(ref.connector, ref.partition);
      const r = this.running.get(k);
      if (!r || r.epoch !== ref.epoch) continue;
      await this.worker.connector(r.connector)?.task(r.partition)?.kill('the leader gave this partition to another worker');
      this.running.delete(k);
      this.offsets.release(r.connector, r.partition);
    }
    await this.closeIdleConnectors();
  }

  /** Drains a revoked partition (when it runs here under that epoch); returns what its ack carries. */
  async revoke(ref: PartitionRef): Promise<{ finalOffset: Uint8Array | undefined; clean: boolean }> {
    const k = key(ref.connector, ref.partition);
    const r = this.running.get(k);
    let finalOffset: Uint8Array | undefined;
    let clean = true;
    if (r && r.epoch === ref.epoch) {
      const task = this.worker.connector(r.connector)?.task(r.partition);
      if (task) {
        finalOffset = await this.worker.connector(r.connector)!.stopPartition(r.partition, 'revoke');
        clean = task.status().state === TaskState.STOPPED;
      }
      finalOffset ??= this.offsets.latestOf(r.connector, r.partition);
      this.running.delete(k);
      this.offsets.release(r.connector, r.partition);
      this.statusQueue.delete(k);
    }
    return { finalOffset, clean };
  }

  /**
   * The fence: voids assignments being applied, kills every task (each marks itself killed at
   * once), then closes the producers without draining — after the fence deadline no produce
   * request may leave this worker. Returns how many records the producers dropped unsent.
   */
  async fenceAll(reason: string): Promise<number> {
    this.fences++;
    const all = [...this.running.values()];
    const kills = all.map((r) => this.worker.connector(r.connector)?.task(r.partition)?.kill(reason));
    const dropped = await Promise.all(this.worker.connectors().map((runtime) => runtime.abortProduction(`this worker fenced itself: ${reason}`)));
    await Promise.allSettled(kills);
    for (const r of all) {
      this.running.delete(key(r.connector, r.partition));
      this.offsets.release(r.connector, r.partition);
    }
    await this.closeIdleConnectors();
    return dropped.reduce((sum, n) => sum + n, 0);
  }

  /** Drains whatever still runs here (a departure the leader did not complete). */
  async drainAll(): Promise<void> {
    for (const r of [...this.running.values()]) {
      await this.worker.connector(r.connector)?.stopPartition(r.partition, 'stop');
      this.running.delete(key(r.connector, r.partition));
    }
  }

  async closeIdleConnectors(): Promise<void> {
    for (const runtime of this.worker.connectors()) {
      const busy = [...this.running.values()].some((r) => r.connector === runtime.name);
      if (busy) continue;
      await this.worker.closeConnector(runtime.name);
      this.openedWith.delete(runtime.name);
    }
  }

  /** Queues the current status of every running partition (for a new leader). */
  queueAllStatuses(): void {
    for (const r of this.running.values()) this.queueStatus(r);
  }

  /** The queued statuses, emptied. */
  takeStatuses(): StatusEntry[] {
    const statuses = [...this.statusQueue.values()].map((s) => ({
      ref: { connector: s.ref.connector, partition: s.ref.partition, epoch: s.ref.epoch },
      state: taskStateToProto[s.state],
      error: s.error ?? '',
      trace: s.trace ?? '',
    }));
    this.statusQueue.clear();
    return statuses;
  }

  private queueStatus(ref: Running): void {
    const task = this.worker.connector(ref.connector)?.task(ref.partition);
    if (!task) return;
    const status = task.status();
    this.statusQueue.set(key(ref.connector, ref.partition), { ref, state: status.state, error: status.error?.message, trace: status.error?.trace });
  }

  private async applyTargetState(runtime: ConnectorRuntime, ref: Running, target: TargetStateProto): Promise<void> {
    if (target === TargetStateProto.PAUSED) await runtime.pausePartition(ref.partition);
    else if (target === TargetStateProto.RUNNING) await runtime.resumePartition(ref.partition);
  }

  /** The connector's runtime here, opened with `config` (reopened when the config changed and nothing runs). */
  private async runtimeFor(connector: string, config: Record<string, string>): Promise<ConnectorRuntime> {
    let runtime = this.worker.connector(connector);
    const openedWith = this.openedWith.get(connector);
    if (runtime && openedWith && !sameConfig(openedWith, config) && runtime.partitions().length === 0) {
      await this.worker.closeConnector(connector);
      runtime = undefined;
    }
    if (!runtime) {
      runtime = await this.worker.openConnector(connector, config);
      // The config as the leader sent it (references unresolved), to notice changes.
      this.openedWith.set(connector, config);
    }
    return runtime;
  }
}
