/**
 * A worker's membership in the cluster: one Session stream to the current leader (found through
 * the coordinator backend's election), heartbeats, offset and status reports up; assignments,
 * revocations and fencing down. The data plane never waits on it: while there is no leader,
 * tasks keep running and reports are kept for the next one.
 *
 * Self-fencing (invariant 1): the leader may give this worker's partitions away once it has not
 * heard from it for session.timeout. So the worker stops its own tasks, without draining, at the
 * FenceClock's deadline. Only live answers of a leader and fresh reads of the election move that
 * deadline (see fence-clock.ts); while answers are overdue the member reads the election once per
 * heartbeat interval.
 *
 * What the leader's instructions do to the data plane (start, disown, revoke, fence every task)
 * is the AssignmentApplier's (assignment-applier.ts); this file is the session and its clock.
 */
import type { Logger } from 'pino';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  CoordinatorService,
  type PartitionRef,
  type RevokeAckSchema,
  type SessionRequestSchema,
  type SessionResponse,
} from '../gen/tributary/cluster/v1/cluster_pb.js';
import { partitionKey, type CoordinatorBackend, type WorkerInfo } from '../coordinator/index.js';
import { createClient } from '../grpc/index.js';
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { AlreadyExistsError, PermissionDeniedError, UnauthenticatedError, describeError } from '../errors.js';
import { AsyncQueue } from '../util/async-queue.js';
import { Backoff } from '../util/backoff.js';
import { sleep } from '../util/iterate.js';
import type { AssignedOffsetStore } from './assigned-offset-store.js';
import { AssignmentApplier, type Running } from './assignment-applier.js';
import { FenceClock } from './fence-clock.js';
import type { Worker } from './worker.js';
import type { HealthReporter, WorkerMetrics } from '../observability/index.js';

type SessionRequestInit = MessageInitShape<typeof SessionRequestSchema>;
type RevokeAckInit = MessageInitShape<typeof RevokeAckSchema>;

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
  metrics?: WorkerMetrics;
  /** Told when the worker joins (a leader's welcome) and when it fences itself. */
  health?: HealthReporter;
  /** Called once when membership cannot go on (another live process uses this worker id). */
  onFatal?: (err: Error) => void;
  /** Channel credentials for the session to the leader (TLS with this worker's certificate); default plaintext. */
  credentials?: grpc.ChannelCredentials;
}

const key = (connector: string, partition: string) => partitionKey({ connector, partition });

export class ClusterMember {
  private readonly log: Logger;
  private readonly now: () => number;
  /** What runs here under which epoch, and applying the leader's instructions to it. */
  private readonly applier: AssignmentApplier;
  private readonly stopped = new AbortController();
  private leader: WorkerInfo | undefined;
  private leaderChanged = new AbortController();
  private outbound: AsyncQueue<SessionRequestInit> | undefined;
  /** Ends the current session (after a self-fence: the leader must learn at once that nothing runs here). */
  private endSession: (() => void) | undefined;
  /** The last reason a leader refused the session (logged once per reason). */
  private lastRefusal: string | undefined;
  private readonly clock: FenceClock;
  /** Tells this process apart from another one started with the same worker id. */
  private readonly incarnation = randomUUID();
  /** The current session's requests that the leader answers (hello, heartbeats), oldest first. */
  private unanswered: Array<{ sentAt: number; seq: number }> = [];
  /** Counts messages pushed to any session: the leader handles a session's messages in order. */
  private sentSeq = 0;
  /**
   * Revoke acks not yet known to have reached a leader, by partition: `before` is a message
   * sequence at or after theirs, so an answer to a request with a higher one proves delivery.
   * Sent again in the next hello if the session ends first (else a clean move loses its final
   * offset and the next owner repeats records).
   */
  private readonly undeliveredRevokeAcks = new Map<string, { ack: RevokeAckInit; before: number }>();
  private reportIds = 0n;
  private lastAnswerAt = 0;
  private lastElectionReadAt = 0;
  private readingElection = false;
  private rereadElection = false;
  private fenced = false;
  private leaving: { done: () => void } | undefined;
  /** Revokes being applied (a partition stopping, its connector closing). */
  private revokesInFlight = 0;
  private loop: Promise<void> | undefined;
  private unwatch: (() => void) | undefined;
  private timers: NodeJS.Timeout[] = [];
  private applying: Promise<void> = Promise.resolve();
  /** Session timings from the leader's welcome. */
  private sessionTimeoutMs: number;
  private heartbeatIntervalMs: number;
  private term = 0n;

  constructor(private readonly options: ClusterMemberOptions) {
    this.log = options.logger.child({ component: 'member' });
    this.now = options.now ?? Date.now;
    this.applier = new AssignmentApplier(options.worker, options.offsets);
    this.sessionTimeoutMs = options.sessionTimeoutMs;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs;
    this.clock = new FenceClock(() => this.fenceAfterMs(), this.now);
    options.offsets.onFlush(() => this.sendReports());
    options.offsets.onPersist(() => this.sendReports());
  }

  /** The leader this worker follows, if known. */
  get currentLeader(): WorkerInfo | undefined {
    return this.leader;
  }

  /** The term of the leader that last welcomed this worker (0 before any). */
  get leaderTerm(): bigint {
    return this.term;
  }

  start(): void {
    this.unwatch = this.options.backend.watchLeader((leader) => this.onLeader(leader));
    const heartbeat = setInterval(() => this.sendHeartbeat(), this.heartbeatIntervalMs);
    const report = setInterval(() => this.sendReports(), this.options.reportIntervalMs);
    const fence = setInterval(() => this.checkFence(), Math.max(20, Math.floor(this.heartbeatIntervalMs / 5)));
    for (const t of [heartbeat, report, fence]) t.unref();
    this.timers.push(heartbeat, report, fence);
    this.loop = this.connectLoop();
  }

  private onLeader(leader: WorkerInfo | undefined): void {
    if (leader?.id === this.leader?.id && leader?.address === this.leader?.address) return;
    this.log.info({ leader: leader?.id ?? null, address: leader?.address }, leader ? 'leader elected' : 'no leader');
    // Whom to connect to; not evidence for the fence clock (a watch event may be late). But a
    // fresh read right now is: a successor shows in it at once, instead of up to a heartbeat
    // interval later, which matters when the old leader died just before our fence deadline.
    this.leader = leader;
    if (leader && this.clock.heardFrom !== leader.id && this.applier.size > 0) void this.readElection(true);
    if (leader) this.options.metrics?.leaderChanged();
    this.leaderChanged.abort();
    this.leaderChanged = new AbortController();
  }

  private fenceAfterMs(): number {
    return this.sessionTimeoutMs - this.heartbeatIntervalMs;
  }

  /** Pushes `message` to the current session; returns its sequence (undefined: no session). */
  private send(message: SessionRequestInit, out = this.outbound): number | undefined {
    if (!out) return undefined;
    out.push(message);
    return ++this.sentSeq;
  }

  private sendHeartbeat(): void {
    const sentAt = this.now();
    const seq = this.send({ kind: { case: 'heartbeat', value: {} } });
    if (seq !== undefined) this.unanswered.push({ sentAt, seq });
  }

  /** A welcome or heartbeat answer: the oldest unanswered request is the one it answers. */
  private onAnswer(leader: WorkerInfo): void {
    const answered = this.unanswered.shift();
    if (answered === undefined) return;
    this.lastAnswerAt = this.now();
    this.clock.answered(leader.id, answered.sentAt);
    // The leader handled everything sent before the request it answered.
    for (const [k, pending] of this.undeliveredRevokeAcks) if (pending.before < answered.seq) this.undeliveredRevokeAcks.delete(k);
    this.finishLeavingIfHandedOver();
  }

  private checkFence(): void {
    if (this.fenced || this.applier.size === 0) return;
    const now = this.now();
    if (now > this.clock.deadline()) {
      void this.fence(`no proof for ${this.fenceAfterMs()} ms (session.timeout − heartbeat.interval) that the leader still hears this worker`);
      return;
    }
    if (now - this.lastAnswerAt > this.heartbeatIntervalMs && now - this.lastElectionReadAt >= this.heartbeatIntervalMs) void this.readElection();
  }

  /**
   * A fresh read of the election; only its answer (never a failure) is evidence. `again`: if a
   * read is already in flight, it was sent too early to show what prompted this one, so another
   * follows it.
   */
  private async readElection(again = false): Promise<void> {
    if (this.readingElection) {
      if (again) this.rereadElection = true;
      return;
    }
    this.readingElection = true;
    const sentAt = this.now();
    this.lastElectionReadAt = sentAt;
    try {
      const leader = await this.options.backend.leader();
      this.clock.electionRead(leader?.id, sentAt);
    } catch (err) {
      this.log.debug({ err: describeError(err).message }, 'could not read the election');
    } finally {
      this.readingElection = false;
    }
    if (this.rereadElection) {
      this.rereadElection = false;
      await this.readElection();
    }
  }

  /** Stops every task without draining: another worker may own them any moment now. */
  private async fence(reason: string): Promise<void> {
    if (this.fenced) return;
    this.fenced = true;
    this.options.metrics?.fenced();
    this.options.health?.set('not-fenced', false, `fenced: ${reason}; serving again once a leader welcomes this worker`);
    this.log.warn({ reason, partitions: this.applier.size }, 'fencing myself: stopping every task');
    // No draining: after the fence deadline no produce request may leave this worker (hole 2).
    const droppedRecords = await this.applier.fenceAll(reason);
    if (droppedRecords > 0) this.log.warn({ droppedRecords }, 'records dropped unsent by the fence; they stay uncommitted and the next owners read them again');
    this.fenced = false;
    // The leader may still hear us (a stall, not a cut): a fresh hello tells it that nothing runs
    // here, so it reassigns these partitions at once instead of waiting for a session timeout.
    this.endSession?.();
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
        if (err instanceof AlreadyExistsError) {
          this.log.error({ leader: leader.id, err: err.message }, 'the leader refused this worker');
          this.options.onFatal?.(err);
          return;
        }
        const message = describeError(err).message;
        if (err instanceof UnauthenticatedError || err instanceof PermissionDeniedError) {
          // The operator must act (a certificate of the wrong CA): say so, once per distinct reason.
          if (message !== this.lastRefusal) this.log.warn({ leader: leader.id, err: message }, 'the leader refused this worker\'s session; retrying');
          this.lastRefusal = message;
        } else {
          this.log.debug({ leader: leader.id, err: message }, 'session to leader failed; retrying');
        }
      }
      if (this.leaving && !this.leader) break;
      await sleep(backoff.next(), this.anyOf(this.leaderChanged.signal));
    }
  }

  private anyOf(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, this.stopped.signal]);
  }

  private async runSession(leader: WorkerInfo): Promise<void> {
    const client = createClient(CoordinatorService, leader.address, { credentials: this.options.credentials });
    const out = new AsyncQueue<SessionRequestInit>();
    const abort = new AbortController();
    const onChange = () => abort.abort();
    this.leaderChanged.signal.addEventListener('abort', onChange, { once: true });
    this.stopped.signal.addEventListener('abort', onChange, { once: true });
    this.endSession = onChange;
    try {
      // Whatever the previous session told us is applied before we say what runs here.
      await this.applying;
      const sentAt = this.now();
      for (const pending of this.undeliveredRevokeAcks.values()) pending.before = this.sentSeq;
      const seq = this.send(
        {
          kind: {
            case: 'hello',
            value: {
              workerId: this.options.self.id,
              address: this.options.self.address,
              capacity: this.options.self.capacity,
              version: this.options.self.version,
              incarnation: this.incarnation,
              running: this.applier.partitions().map((r) => ({ connector: r.connector, partition: r.partition, epoch: r.epoch })),
              revoked: [...this.undeliveredRevokeAcks.values()].map((p) => p.ack),
            },
          },
        },
        out,
      )!;
      this.unanswered = [{ sentAt, seq }];
      this.outbound = out;
      for await (const message of client.session(out, { signal: abort.signal })) {
        this.onMessage(message, leader);
      }
    } finally {
      if (this.outbound === out) this.outbound = undefined;
      // Reports of this session that the leader did not answer may be lost: ask again next time.
      this.options.offsets.sessionLost();
      if (this.endSession === onChange) this.endSession = undefined;
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
        this.onAnswer(leader);
        if (kind.value.sessionTimeoutMs > 0) this.sessionTimeoutMs = kind.value.sessionTimeoutMs;
        if (kind.value.heartbeatIntervalMs > 0) this.heartbeatIntervalMs = kind.value.heartbeatIntervalMs;
        this.log.info({ leader: leader.id, term: String(kind.value.term), disown: kind.value.disown.length }, 'session established');
        this.lastRefusal = undefined;
        this.term = kind.value.term;
        this.options.health?.set('joined', true);
        this.options.health?.set('not-fenced', true);
        this.enqueue(() => this.applier.disown(kind.value.disown));
        // The new leader gets our latest offsets and statuses at once.
        for (const r of this.applier.partitions()) {
          const offset = this.options.offsets.latestOf(r.connector, r.partition);
          if (offset) this.options.offsets.commit(r.connector, r.partition, offset, r.epoch);
        }
        this.applier.queueAllStatuses();
        this.sendReports();
        if (this.leaving) this.send({ kind: { case: 'leave', value: {} } });
        break;
      }
      case 'offsetsPersisted': {
        const refused = new Set(kind.value.refused.map((r) => key(r.connector, r.partition)));
        this.options.offsets.persisted(kind.value.reportId, refused);
        break;
      }
      case 'heartbeat': {
        const sentAt = this.unanswered[0]?.sentAt;
        this.onAnswer(leader);
        if (sentAt !== undefined) this.options.metrics?.sessionRtt((this.now() - sentAt) / 1000);
        break;
      }
      case 'assign':
        this.enqueue(async () => {
          const started = performance.now();
          await this.applier.apply(kind.value.assignments);
          this.sendReports();
          this.options.metrics?.rebalance((performance.now() - started) / 1000);
        });
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

  private async revoke(ref: PartitionRef): Promise<void> {
    this.revokesInFlight++;
    try {
      await this.revokeOne(ref);
    } finally {
      this.revokesInFlight--;
    }
    this.finishLeavingIfHandedOver();
  }

  private async revokeOne(ref: PartitionRef): Promise<void> {
    const k = key(ref.connector, ref.partition);
    const { finalOffset, clean } = await this.applier.revoke(ref);
    const ack: RevokeAckInit = { ref: { connector: ref.connector, partition: ref.partition, epoch: ref.epoch }, finalOffset, clean };
    const seq = this.send({ kind: { case: 'revokeAck', value: ack } });
    this.undeliveredRevokeAcks.set(k, { ack, before: seq ?? this.sentSeq });
    await this.applier.closeIdleConnectors();
  }

  /**
   * Leaving ends once nothing runs here, no revoke is still closing its connector (stopping must
   * not race that), and the leader has handled every revoke ack: ending the session with an ack
   * still in the stream leaves its partition owned here until the session timeout (paused, not
   * moved). A heartbeat's answer proves everything sent before it was handled (onAnswer).
   */
  private finishLeavingIfHandedOver(): void {
    if (this.leaving && this.applier.size === 0 && this.revokesInFlight === 0 && this.undeliveredRevokeAcks.size === 0) this.leaving.done();
  }

  private sendReports(): void {
    const out = this.outbound;
    if (!out) return;
    const offsets = this.options.offsets.takeReport();
    const persistNow = this.options.offsets.persistWanted;
    if (offsets.length > 0 || persistNow) {
      const reportId = ++this.reportIds;
      this.send({
        kind: {
          case: 'offsets',
          value: {
            offsets: offsets.map((o) => ({ ref: { connector: o.connector, partition: o.partition, epoch: o.epoch }, offset: o.offset, seq: o.seq })),
            reportId,
            persistNow,
          },
        },
      });
      if (persistNow) this.options.offsets.reportSent(reportId);
    }
    const statuses = this.applier.takeStatuses();
    if (statuses.length > 0) this.send({ kind: { case: 'status', value: { statuses } } });
  }

  /** Running partitions, for status pages and tests. */
  partitions(): Running[] {
    return this.applier.partitions();
  }

  /**
   * Planned departure (SIGTERM): asks the leader to move every partition away (each drained and
   * handed over), waits until none is left or `deadlineMs` passes, then drains whatever remains
   * locally. Resolves when this worker runs nothing.
   */
  async leave(deadlineMs: number): Promise<void> {
    if (this.applier.size > 0 && this.outbound) {
      await new Promise<void>((resolve) => {
        this.leaving = { done: resolve };
        this.send({ kind: { case: 'leave', value: {} } });
        setTimeout(resolve, deadlineMs).unref();
      });
    }
    // Whatever the leader did not take (no leader, or too slow): drain here.
    await this.applier.drainAll();
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

