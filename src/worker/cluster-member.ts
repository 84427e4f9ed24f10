/**
 * A worker's membership in the cluster: one Session stream to the current leader (found through
 * the coordinator backend's election), heartbeats, offset and status reports up; assignments,
 * revocations and fencing down. The data plane never waits on it: while there is no leader,
 * tasks keep running and reports are kept for the next one.
 *
 * Self-fencing (invariant 1): the leader may give this worker's partitions away once it has not
 * heard from it for session.timeout. So the worker stops its own tasks, without draining, once
 * it has had no heartbeat answer for session.timeout − heartbeat.interval from a leader that
 * may still be acting. A leader that is known gone cannot hand anything out (its writes are
 * fenced in etcd), so while the election shows no leader, or the old leader's port refuses
 * connections, the clock is paused; a newly elected leader gives every worker a full session
 * timeout, and the worker counts from the moment it learned of it.
 */
import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { create } from '@bufbuild/protobuf';
import {
  CoordinatorService,
  TargetState as TargetStateProto,
  TaskState as TaskStateProto,
  type Assignment,
  type PartitionRef,
  type SessionRequestSchema,
  type SessionResponse,
} from '../gen/tributary/cluster/v1/cluster_pb.js';
import { StreamPartitionSchema } from '../gen/tributary/connector/v1/connector_pb.js';
import type { CoordinatorBackend, WorkerInfo } from '../coordinator/index.js';
import { createClient } from '../grpc/index.js';
import { FailedPreconditionError, describeError } from '../errors.js';
import { AsyncQueue } from '../util/async-queue.js';
import { Backoff } from '../util/backoff.js';
import { sleep } from '../util/iterate.js';
import { sameConfig } from '../util/config.js';
import type { AssignedOffsetStore } from './assigned-offset-store.js';
import type { ConnectorRuntime } from './connector-runtime.js';
import { TaskState } from './task-state.js';
import type { Worker } from './worker.js';

type SessionRequestInit = MessageInitShape<typeof SessionRequestSchema>;

export interface ClusterMemberOptions {
  self: WorkerInfo;
  backend: CoordinatorBackend;
  worker: Worker;
  offsets: AssignedOffsetStore;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How often offset reports are sent. */
  reportIntervalMs: number;
  logger: Logger;
  now?: () => number;
}

interface Running {
  connector: string;
  partition: string;
  epoch: bigint;
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

const key = (connector: string, partition: string) => `${connector}\u0000${partition}`;

/**
 * True when the session failed in a way that proves the leader cannot act: nothing listens at
 * its address (connection refused: the process is gone), or it answered that it is no longer
 * the leader (a deposed leader's writes are fenced in etcd). A timeout proves nothing: the
 * leader may be alive behind a network cut, so the self-fencing clock keeps running.
 */
async function leaderCannotAct(err: unknown, message: string, address: string): Promise<boolean> {
  if (err instanceof FailedPreconditionError && /is not the leader/.test(message)) return true;
  if (/ECONNREFUSED/.test(message)) return true;
  // grpc-js reports a dropped connection without saying whether the peer is gone, and its
  // reconnect backoff may hold the next attempt back for a second or more: ask the port directly.
  return connectionRefused(address, 500);
}

/** True when a TCP connect to `host:port` is refused (nothing listens); false if it connects or times out. */
function connectionRefused(address: string, timeoutMs: number): Promise<boolean> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
    const done = (refused: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(refused);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(false));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

export class ClusterMember {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly running = new Map<string, Running>();
  private readonly openedWith = new Map<string, Record<string, string>>();
  /** Statuses to report (latest per partition). */
  private readonly statusQueue = new Map<string, { ref: Running; state: TaskState; error?: string; trace?: string }>();
  private readonly stopped = new AbortController();
  private leader: WorkerInfo | undefined;
  private leaderChanged = new AbortController();
  private outbound: AsyncQueue<SessionRequestInit> | undefined;
  /** When the self-fence clock runs out; undefined while no leader can act. */
  private deadline: number | undefined;
  private fenced = false;
  /** Counts fences, so an assignment being applied while one happens is undone. */
  private fences = 0;
  private leaving: { done: () => void } | undefined;
  private loop: Promise<void> | undefined;
  private unwatch: (() => void) | undefined;
  private timers: NodeJS.Timeout[] = [];
  private applying: Promise<void> = Promise.resolve();
  /** Session timings from the leader's welcome. */
  private sessionTimeoutMs: number;
  private heartbeatIntervalMs: number;

  constructor(private readonly options: ClusterMemberOptions) {
    this.log = options.logger.child({ component: 'member' });
    this.now = options.now ?? Date.now;
    this.sessionTimeoutMs = options.sessionTimeoutMs;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs;
    options.offsets.onFlush(() => this.sendReports());
  }

  /** The leader this worker follows, if known. */
  get currentLeader(): WorkerInfo | undefined {
    return this.leader;
  }

  start(): void {
    this.unwatch = this.options.backend.watchLeader((leader) => this.onLeader(leader));
    const heartbeat = setInterval(() => this.outbound?.push({ kind: { case: 'heartbeat', value: {} } }), this.heartbeatIntervalMs);
    const report = setInterval(() => this.sendReports(), this.options.reportIntervalMs);
    const fence = setInterval(() => this.checkFence(), Math.max(20, Math.floor(this.heartbeatIntervalMs / 5)));
    for (const t of [heartbeat, report, fence]) t.unref();
    this.timers.push(heartbeat, report, fence);
    this.loop = this.connectLoop();
  }

  private onLeader(leader: WorkerInfo | undefined): void {
    if (leader?.id === this.leader?.id && leader?.address === this.leader?.address) return;
    this.log.info({ leader: leader?.id ?? null, address: leader?.address }, leader ? 'leader elected' : 'no leader');
    this.leader = leader;
    // A new leader gives us a full session timeout from its election; no leader can act meanwhile.
    this.deadline = leader ? this.now() + this.fenceAfterMs() : undefined;
    this.leaderChanged.abort();
    this.leaderChanged = new AbortController();
  }

  private fenceAfterMs(): number {
    return this.sessionTimeoutMs - this.heartbeatIntervalMs;
  }

  private checkFence(): void {
    if (this.fenced || this.deadline === undefined || this.running.size === 0) return;
    if (this.now() <= this.deadline) return;
    void this.fence(`no answer from leader ${this.leader?.id ?? '?'} for ${this.fenceAfterMs()} ms (session.timeout − heartbeat.interval)`);
  }

  /** Stops every task without draining: another worker may own them any moment now. */
  private async fence(reason: string): Promise<void> {
    if (this.fenced) return;
    this.fenced = true;
    this.fences++;
    this.log.warn({ reason, partitions: this.running.size }, 'fencing myself: stopping every task');
    const all = [...this.running.values()];
    await Promise.allSettled(all.map((r) => this.options.worker.connector(r.connector)?.task(r.partition)?.kill(reason)));
    for (const r of all) {
      this.running.delete(key(r.connector, r.partition));
      this.options.offsets.release(r.connector, r.partition);
    }
    await this.closeIdleConnectors();
    this.fenced = false;
  }

  private async connectLoop(): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 });
    while (!this.stopped.signal.aborted) {
      const leader = this.leader;
      if (!leader) {
        await sleep(this.heartbeatIntervalMs, this.anyOf(this.leaderChanged.signal));
        continue;
      }
      try {
        await this.runSession(leader);
        backoff.reset();
      } catch (err) {
        const message = describeError(err).message;
        if (this.leader?.id === leader.id && (await leaderCannotAct(err, message, leader.address))) {
          // The leader we followed can no longer hand our partitions out; its successor will give
          // us a full session timeout from its election, so keep running until then.
          this.deadline = undefined;
        }
        this.log.debug({ leader: leader.id, err: message }, 'session to leader failed; retrying');
      }
      if (this.leaving && !this.leader) break;
      await sleep(backoff.next(), this.anyOf(this.leaderChanged.signal));
    }
  }

  private anyOf(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, this.stopped.signal]);
  }

  private async runSession(leader: WorkerInfo): Promise<void> {
    const client = createClient(CoordinatorService, leader.address);
    const out = new AsyncQueue<SessionRequestInit>();
    const abort = new AbortController();
    const onChange = () => abort.abort();
    this.leaderChanged.signal.addEventListener('abort', onChange, { once: true });
    this.stopped.signal.addEventListener('abort', onChange, { once: true });
    try {
      out.push({
        kind: {
          case: 'hello',
          value: {
            workerId: this.options.self.id,
            address: this.options.self.address,
            capacity: this.options.self.capacity,
            version: this.options.self.version,
            running: [...this.running.values()].map((r) => ({ connector: r.connector, partition: r.partition, epoch: r.epoch })),
          },
        },
      });
      this.outbound = out;
      for await (const message of client.session(out, { signal: abort.signal })) {
        this.onMessage(message, leader);
      }
    } finally {
      if (this.outbound === out) this.outbound = undefined;
      out.end();
      this.leaderChanged.signal.removeEventListener('abort', onChange);
      this.stopped.signal.removeEventListener('abort', onChange);
      client.close();
    }
  }

  private onMessage(message: SessionResponse, leader: WorkerInfo): void {
    const kind = message.kind;
    switch (kind.case) {
      case 'welcome': {
        this.deadline = this.now() + this.fenceAfterMs();
        if (kind.value.sessionTimeoutMs > 0) this.sessionTimeoutMs = kind.value.sessionTimeoutMs;
        if (kind.value.heartbeatIntervalMs > 0) this.heartbeatIntervalMs = kind.value.heartbeatIntervalMs;
        this.log.info({ leader: leader.id, term: String(kind.value.term), disown: kind.value.disown.length }, 'session established');
        this.enqueue(() => this.disown(kind.value.disown));
        // The new leader gets our latest offsets and statuses at once.
        for (const r of this.running.values()) {
          const offset = this.options.offsets.latestOf(r.connector, r.partition);
          if (offset) this.options.offsets.commit(r.connector, r.partition, offset, r.epoch);
          this.queueStatus(r);
        }
        this.sendReports();
        if (this.leaving) this.outbound?.push({ kind: { case: 'leave', value: {} } });
        break;
      }
      case 'heartbeat':
        this.deadline = this.now() + this.fenceAfterMs();
        break;
      case 'assign':
        this.enqueue(() => this.applyAssignments(kind.value.assignments));
        break;
      case 'revoke':
        // In order with assignments: a revoke must not overtake the assignment it undoes.
        this.enqueue(async () => {
          await Promise.all(kind.value.refs.map((ref) => this.revoke(ref)));
        });
        break;
      case 'fence':
        void this.fence(`fenced by the leader: ${kind.value.reason}`);
        break;
    }
  }

  /** Assignments are applied one batch at a time, in order. */
  private enqueue(work: () => Promise<void>): void {
    this.applying = this.applying.then(work).catch((err: unknown) => this.log.error({ err: describeError(err).message }, 'applying leader instructions failed'));
  }

  private async disown(refs: PartitionRef[]): Promise<void> {
    for (const ref of refs) {
      const k = key(ref.connector, ref.partition);
      const r = this.running.get(k);
      if (!r || r.epoch !== ref.epoch) continue;
      await this.options.worker.connector(r.connector)?.task(r.partition)?.kill('the leader gave this partition to another worker');
      this.running.delete(k);
      this.options.offsets.release(r.connector, r.partition);
    }
    await this.closeIdleConnectors();
  }

  private async applyAssignments(assignments: Assignment[]): Promise<void> {
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
      this.options.offsets.assign(ref.connector, ref.partition, a.committedOffset, ref.epoch);
      this.running.set(k, ref);
      await runtime.startPartition(create(StreamPartitionSchema, a.partition), ref.epoch);
      const task = runtime.task(ref.partition);
      if (this.fences !== fences) {
        // Fenced while starting: this assignment is void.
        await task?.kill('fenced while starting');
        this.running.delete(k);
        return;
      }
      task?.onStateChange(() => this.queueStatus(ref));
      this.queueStatus(ref);
      await this.applyTargetState(runtime, ref, a.targetState);
    }
    this.sendReports();
  }

  private async applyTargetState(runtime: ConnectorRuntime, ref: Running, target: TargetStateProto): Promise<void> {
    if (target === TargetStateProto.PAUSED) await runtime.pausePartition(ref.partition);
    else if (target === TargetStateProto.RUNNING) await runtime.resumePartition(ref.partition);
  }

  /** The connector's runtime here, opened with `config` (reopened when the config changed and nothing runs). */
  private async runtimeFor(connector: string, config: Record<string, string>): Promise<ConnectorRuntime> {
    const worker = this.options.worker;
    let runtime = worker.connector(connector);
    const openedWith = this.openedWith.get(connector);
    if (runtime && openedWith && !sameConfig(openedWith, config) && runtime.partitions().length === 0) {
      await worker.closeConnector(connector);
      runtime = undefined;
    }
    if (!runtime) {
      runtime = await worker.openConnector(connector, config);
      // The config as the leader sent it (references unresolved), to notice changes.
      this.openedWith.set(connector, config);
    }
    return runtime;
  }

  private async revoke(ref: PartitionRef): Promise<void> {
    const k = key(ref.connector, ref.partition);
    const r = this.running.get(k);
    let finalOffset: Uint8Array | undefined;
    let clean = true;
    if (r && r.epoch === ref.epoch) {
      const task = this.options.worker.connector(r.connector)?.task(r.partition);
      if (task) {
        finalOffset = await this.options.worker.connector(r.connector)!.stopPartition(r.partition, 'revoke');
        clean = task.status().state === TaskState.STOPPED;
      }
      finalOffset ??= this.options.offsets.latestOf(r.connector, r.partition);
      this.running.delete(k);
      this.options.offsets.release(r.connector, r.partition);
      this.statusQueue.delete(k);
    }
    this.outbound?.push({ kind: { case: 'revokeAck', value: { ref: { connector: ref.connector, partition: ref.partition, epoch: ref.epoch }, finalOffset, clean } } });
    await this.closeIdleConnectors();
    if (this.leaving && this.running.size === 0) this.leaving.done();
  }

  private async closeIdleConnectors(): Promise<void> {
    for (const runtime of this.options.worker.connectors()) {
      const busy = [...this.running.values()].some((r) => r.connector === runtime.name);
      if (busy) continue;
      await this.options.worker.closeConnector(runtime.name);
      this.openedWith.delete(runtime.name);
    }
  }

  private queueStatus(ref: Running): void {
    const task = this.options.worker.connector(ref.connector)?.task(ref.partition);
    if (!task) return;
    const status = task.status();
    this.statusQueue.set(key(ref.connector, ref.partition), { ref, state: status.state, error: status.error?.message, trace: status.error?.trace });
  }

  private sendReports(): void {
    const out = this.outbound;
    if (!out) return;
    const offsets = this.options.offsets.takeReport();
    if (offsets.length > 0) {
      out.push({ kind: { case: 'offsets', value: { offsets: offsets.map((o) => ({ ref: { connector: o.connector, partition: o.partition, epoch: o.epoch }, offset: o.offset })) } } });
    }
    if (this.statusQueue.size > 0) {
      const statuses = [...this.statusQueue.values()].map((s) => ({
        ref: { connector: s.ref.connector, partition: s.ref.partition, epoch: s.ref.epoch },
        state: taskStateToProto[s.state],
        error: s.error ?? '',
        trace: s.trace ?? '',
      }));
      this.statusQueue.clear();
      out.push({ kind: { case: 'status', value: { statuses } } });
    }
  }

  /** Running partitions, for status pages and tests. */
  partitions(): Running[] {
    return [...this.running.values()];
  }

  /**
   * Planned departure (SIGTERM): asks the leader to move every partition away (each drained and
   * handed over), waits until none is left or `deadlineMs` passes, then drains whatever remains
   * locally. Resolves when this worker runs nothing.
   */
  async leave(deadlineMs: number): Promise<void> {
    if (this.running.size > 0 && this.outbound) {
      await new Promise<void>((resolve) => {
        this.leaving = { done: resolve };
        this.outbound?.push({ kind: { case: 'leave', value: {} } });
        setTimeout(resolve, deadlineMs).unref();
      });
    }
    // Whatever the leader did not take (no leader, or too slow): drain here.
    for (const r of [...this.running.values()]) {
      await this.options.worker.connector(r.connector)?.stopPartition(r.partition, 'stop');
      this.running.delete(key(r.connector, r.partition));
    }
    this.sendReports();
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.unwatch?.();
    for (const t of this.timers) clearInterval(t);
    await this.loop;
    await this.applying;
  }
}

