/**
 * The leader: owns assignment and committed offsets for the whole cluster while its Leadership
 * holds. Every worker (the leader's own too) keeps a Session stream to it.
 *
 * Invariants kept here:
 * 1. One owner at a time: a partition goes to a new worker only after its old owner acknowledged
 *    the revoke, or after the old owner's session was silent for session.timeout (workers fence
 *    themselves strictly earlier).
 * 2. A deposed leader cannot write: every state change goes through Leadership.write, and an
 *    assignment is persisted BEFORE it is sent, so a leader that lost its key hands out nothing.
 * 3. Offsets move only from the current owner: a report is applied only when it comes from the
 *    worker that owns the partition under the same epoch.
 * 5. Nothing healthy stops: only what planAssignment says must move is revoked.
 */
import type { Logger } from 'pino';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  TargetState as TargetStateProto,
  TaskState as TaskStateProto,
  type SessionRequest,
  type SessionResponseSchema,
  type Hello,
  type OffsetReport,
  type PartitionRef,
  type RevokeAck,
  type StatusReport,
} from '../gen/tributary/cluster/v1/cluster_pb.js';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, describeError } from '../errors.js';
import { AsyncQueue } from '../util/async-queue.js';
import { Backoff } from '../util/backoff.js';
import { sameConfig } from '../util/config.js';
import { partitionKey } from './assignment.js';
import type { ClusterSnapshot, ConnectorRecord, Leadership, PartitionRecord, StateWrite, StatusRecord, TargetState, WorkerInfo } from './backend.js';
import { LeaderState, type OwnedPartition } from './leader-state.js';
import { ReportBuffer } from './report-buffer.js';
import { StateWriter } from './state-writer.js';
import { planRebalance, type DirtyOwner, type RebalancePlan } from './rebalance-plan.js';
import { WorkerLiveness } from './worker-liveness.js';
import { DiscoverySupervisor, type PartitionDiscoverer } from './discovery-supervisor.js';

type SessionResponseInit = MessageInitShape<typeof SessionResponseSchema>;

export type { PartitionDiscoverer } from './discovery-supervisor.js';

/**
 * The plugin's once-per-connector hooks, run by the leader (the worker supplies them). A
 * failover may repeat a hook, so plugins must make them idempotent.
 */
export interface ConnectorLifecycle {
  /** Before a new connector is stored; a failure refuses the create. */
  created(record: ConnectorRecord): Promise<void>;
  /** Before a changed config is stored; a failure refuses the update. */
  updated(record: ConnectorRecord, previous: ConnectorRecord): Promise<void>;
  /** Before the connector is removed; best effort (a plugin that is gone must not block deletes). */
  deleted(record: ConnectorRecord): Promise<void>;
}

export interface LeaderOptions {
  self: WorkerInfo;
  leadership: Leadership;
  snapshot: ClusterSnapshot;
  discover: PartitionDiscoverer;
  lifecycle?: ConnectorLifecycle;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  flushIntervalMs: number;
  logger: Logger;
  now?: () => number;
}

interface WorkerSession {
  info: WorkerInfo;
  out: AsyncQueue<SessionResponseInit>;
  /** The worker process's incarnation from its hello (empty from older workers). */
  incarnation: string;
  closed: boolean;
  /** Announced a planned departure: gets nothing new, everything it owns is moved. */
  leaving: boolean;
  /** The highest report id received on this session. */
  reportId: bigint;
  /** A report asked to be persisted now and answered (OffsetsPersisted) since the last answer. */
  ackWanted: boolean;
  /** Offsets refused since the last answer (not owned under their epoch). */
  refused: PartitionRef[];
}

/** Answers to reports that a write in progress makes durable; `deliver` once it succeeded. */
interface ReportAcks {
  deliver(): void;
  restore(): void;
}

const targetToProto: Record<TargetState, TargetStateProto> = {
  RUNNING: TargetStateProto.RUNNING,
  PAUSED: TargetStateProto.PAUSED,
  STOPPED: TargetStateProto.STOPPED,
};

export class Leader {
  private readonly state: LeaderState;
  private readonly sessions = new Map<string, WorkerSession>();
  private readonly liveness: WorkerLiveness;
  /** Accepted offset and status reports not yet persisted. */
  private readonly reports = new ReportBuffer();
  /** The one path to etcd: writes run one after another, each built when its turn comes. */
  private readonly writer: StateWriter;
  private readonly discovery: DiscoverySupervisor;
  /**
   * Partitions whose persisted assignment key (owners/<connector>/<partition>) is out of date,
   * with the version of that change: a rebalance writes these and its additions, nothing else.
   */
  private readonly dirtyOwners = new Map<string, DirtyOwner>();
  private dirtyVersion = 0;
  /** Workers whose old-layout assignment list still exists; deleted with the first rebalance. */
  private legacyAssignmentWorkers: string[];
  private flushing: Promise<void> | undefined;
  /** A flush was asked for while one ran: its take() came too early for the later reports. */
  private flushAgain = false;
  /** The latest report sequence taken per partition and epoch: an older report is refused. */
  private readonly reportSeqs = new Map<string, { epoch: bigint; seq: bigint }>();
  private readonly rebalanceBackoff = new Backoff({ initialMs: 100, maxMs: 5_000 });
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly stopped = new AbortController();
  private rebalanceChain: Promise<void> = Promise.resolve();
  private rebalanceQueued = false;
  private timers: NodeJS.Timeout[] = [];
  /** Offset reports refused because they came from a stale owner or epoch (for tests and metrics). */
  refusedReports = 0;

  constructor(private readonly options: LeaderOptions) {
    this.state = new LeaderState(options.snapshot);
    this.legacyAssignmentWorkers = [...(options.snapshot.legacyAssignmentWorkers ?? [])];
    // Migration from one list per worker: every partition's key is written by the first rebalance.
    if (this.legacyAssignmentWorkers.length > 0) for (const o of this.state.owners.values()) this.markDirty(o.connector, o.partition.id);
    this.log = options.logger.child({ component: 'leader', term: String(options.leadership.term) });
    this.now = options.now ?? Date.now;
    this.writer = new StateWriter(options.leadership);
    this.liveness = new WorkerLiveness(options.sessionTimeoutMs, this.now);
    this.discovery = new DiscoverySupervisor(
      options.discover,
      {
        partitionsOf: (connector) => this.state.partitions.get(connector) ?? [],
        apply: async (connector, partitions, signal) => {
          await this.writer.write([{ type: 'putPartitions', connector, partitions }]);
          if (signal.aborted) return;
          this.state.partitions.set(connector, partitions);
          this.requestRebalance();
        },
      },
      this.log,
    );
  }

  get term(): bigint {
    return this.options.leadership.term;
  }

  get epoch(): bigint {
    return this.state.epoch;
  }

  get sessionTimeoutMs(): number {
    return this.options.sessionTimeoutMs;
  }

  /** Takes over: every worker that owns partitions gets a full session timeout to reconnect. */
  start(): void {
    this.liveness.expect(this.state.workersWithAssignments());
    for (const connector of this.state.connectors.values()) this.discovery.start(connector);
    const check = setInterval(() => this.checkLiveness(), Math.max(50, Math.floor(this.options.heartbeatIntervalMs / 2)));
    const flush = setInterval(() => void this.flushReports(), this.options.flushIntervalMs);
    check.unref();
    flush.unref();
    this.timers.push(check, flush);
    this.options.leadership.lost.addEventListener('abort', () => void this.stop('leadership lost'), { once: true });
    this.log.info({ connectors: this.state.connectors.size, assignments: this.state.owners.size, epoch: String(this.state.epoch) }, 'leader started');
    this.requestRebalance();
  }

  /** Stops acting: closes sessions (workers reconnect to the next leader) and discovery. Idempotent. */
  async stop(reason = 'stopping'): Promise<void> {
    if (this.stopped.signal.aborted) return;
    this.stopped.abort();
    for (const t of this.timers) clearInterval(t);
    this.discovery.stopAll();
    await this.flushing;
    if (!this.options.leadership.lost.aborted) await this.flushReports();
    for (const s of this.sessions.values()) this.closeSession(s);
    this.sessions.clear();
    this.log.info({ reason }, 'leader stopped');
  }

  // ---------------------------------------------------------------- sessions

  /** Serves one worker's Session stream. */
  session(requests: AsyncIterable<SessionRequest>, signal: AbortSignal): AsyncIterable<SessionResponseInit> {
    if (this.stopped.signal.aborted) throw new FailedPreconditionError('this worker is no longer the leader; reconnect to the current one');
    const out = new AsyncQueue<SessionResponseInit>();
    void this.readSession(requests, out, signal);
    return out;
  }

  private async readSession(requests: AsyncIterable<SessionRequest>, out: AsyncQueue<SessionResponseInit>, signal: AbortSignal): Promise<void> {
    let session: WorkerSession | undefined;
    try {
      for await (const request of requests) {
        if (this.stopped.signal.aborted || signal.aborted) break;
        const kind = request.kind;
        if (kind.case === 'hello') {
          session = this.onHello(kind.value, out);
          continue;
        }
        if (!session) throw new InvalidArgumentError('a session must start with hello');
        if (this.sessions.get(session.info.id) !== session) break;
        this.liveness.heard(session.info.id);
        switch (kind.case) {
          case 'heartbeat':
            out.push({ kind: { case: 'heartbeat', value: {} } });
            break;
          case 'offsets':
            this.onOffsets(session, kind.value);
            break;
          case 'status':
            this.onStatus(session, kind.value);
            break;
          case 'revokeAck':
            this.onRevokeAck(session, kind.value);
            break;
          case 'leave':
            this.onLeave(session);
            break;
        }
      }
      out.end();
    } catch (err) {
      out.fail(err);
    } finally {
      if (session && this.sessions.get(session.info.id) === session) {
        this.sessions.delete(session.info.id);
        session.closed = true;
        const owns = this.state.assignmentsOf(session.info.id).length;
        if (session.leaving && owns === 0) {
          this.liveness.forget(session.info.id);
          this.log.info({ workerId: session.info.id }, 'worker left the cluster');
        } else {
          this.log.info({ workerId: session.info.id, partitions: owns }, 'worker session closed; its partitions stay until the session timeout');
        }
        this.requestRebalance();
      }
    }
  }

  private onHello(hello: Hello, out: AsyncQueue<SessionResponseInit>): WorkerSession {
    const info: WorkerInfo = { id: hello.workerId, address: hello.address, capacity: hello.capacity || 1, version: hello.version };
    const previous = this.sessions.get(info.id);
    if (previous && !previous.closed && previous.incarnation && hello.incarnation && previous.incarnation !== hello.incarnation && this.liveness.alive(info.id)) {
      this.log.error({ workerId: info.id, address: info.address, running: previous.info.address }, 'refused a second process with a worker id already in use');
      throw new AlreadyExistsError(`worker id "${info.id}" is already in use by a live worker at ${previous.info.address}; start this process with another --id (or stop the other one first)`);
    }
    if (previous) this.closeSession(previous);
    const session: WorkerSession = { info, out, incarnation: hello.incarnation, closed: false, leaving: false, reportId: 0n, ackWanted: false, refused: [] };
    this.sessions.set(info.id, session);
    this.liveness.heard(info.id);
    // Revokes finished while the previous session was failing: as if their acks had arrived then.
    for (const ack of hello.revoked) this.onRevokeAck(session, ack);
    const disown = hello.running.filter((ref) => {
      const owner = this.state.owner(ref.connector, ref.partition);
      return !owner || owner.workerId !== info.id || owner.epoch !== ref.epoch;
    });
    // What the worker owns here but does not run (it fenced itself, or an assign was lost with its
    // last session) is released now and reassigned by the next rebalance, from the committed offset.
    const runs = new Set(hello.running.map((r) => `${partitionKey(r)}\u0000${r.epoch}`));
    let released = 0;
    for (const [key, o] of this.state.owners) {
      if (o.workerId !== info.id || runs.has(`${key}\u0000${o.epoch}`)) continue;
      this.state.owners.delete(key);
      this.markDirty(o.connector, o.partition.id);
      released++;
    }
    out.push({
      kind: {
        case: 'welcome',
        value: {
          leaderId: this.options.self.id,
          term: this.term,
          heartbeatIntervalMs: this.options.heartbeatIntervalMs,
          sessionTimeoutMs: this.options.sessionTimeoutMs,
          disown: disown.map((r) => ({ connector: r.connector, partition: r.partition, epoch: r.epoch })),
        },
      },
    });
    const owned = [...this.state.owners.values()].filter((o) => o.workerId === info.id);
    this.sendAssign(info.id, owned.filter((o) => !o.revoking));
    const revoking = owned.filter((o) => o.revoking);
    if (revoking.length > 0) this.sendRevoke(info.id, revoking, 'revoke outstanding from before the reconnect');
    this.log.info({ workerId: info.id, address: info.address, adopted: hello.running.length - disown.length, disowned: disown.length, released }, 'worker joined');
    this.requestRebalance();
    return session;
  }

  private closeSession(session: WorkerSession): void {
    if (session.closed) return;
    session.closed = true;
    session.out.end();
  }

  private ownedBy(session: WorkerSession, ref: { connector: string; partition: string; epoch: bigint } | undefined): OwnedPartition | undefined {
    if (!ref) return undefined;
    const owner = this.state.owner(ref.connector, ref.partition);
    if (!owner || owner.workerId !== session.info.id || owner.epoch !== ref.epoch) return undefined;
    return owner;
  }

  private onOffsets(session: WorkerSession, report: OffsetReport): void {
    for (const o of report.offsets) {
      const owner = this.ownedBy(session, o.ref);
      if (!owner || !o.ref) {
        this.refusedReports++;
        if (o.ref) session.refused.push(o.ref);
        this.log.debug({ workerId: session.info.id, ref: o.ref && { ...o.ref, epoch: String(o.ref.epoch) } }, 'refused an offset report from a stale owner or epoch');
        continue;
      }
      const key = partitionKey(o.ref);
      const last = this.reportSeqs.get(key);
      if (o.seq > 0n && last && last.epoch === o.ref.epoch && o.seq <= last.seq) {
        // Delivered late (e.g. over a session that ended after a newer one began): never move back.
        this.refusedReports++;
        this.log.debug({ workerId: session.info.id, connector: o.ref.connector, partition: o.ref.partition, seq: String(o.seq), last: String(last.seq) }, 'refused an offset report older than one already taken');
        continue;
      }
      if (o.seq > 0n) this.reportSeqs.set(key, { epoch: o.ref.epoch, seq: o.seq });
      this.commitOffset(o.ref.connector, o.ref.partition, o.offset, o.ref.epoch);
    }
    if (report.reportId > session.reportId) session.reportId = report.reportId;
    if (report.persistNow) {
      session.ackWanted = true;
      void this.flushReports();
    }
  }

  /** Captures the answers owed to sessions whose reports the write being built makes durable. */
  private captureReportAcks(): ReportAcks {
    const owed = [...this.sessions.values()].filter((s) => s.ackWanted).map((s) => ({ session: s, reportId: s.reportId, refused: s.refused.splice(0) }));
    for (const o of owed) o.session.ackWanted = false;
    return {
      deliver: () => {
        for (const o of owed) {
          if (!o.session.closed) o.session.out.push({ kind: { case: 'offsetsPersisted', value: { reportId: o.reportId, refused: o.refused } } });
        }
      },
      restore: () => {
        for (const o of owed) {
          o.session.ackWanted = true;
          o.session.refused.push(...o.refused);
        }
      },
    };
  }

  private commitOffset(connector: string, partition: string, offset: Uint8Array, epoch: bigint): void {
    // A late report for a deleted connector must not bring its offsets back.
    if (!this.state.connectors.has(connector)) return;
    const current = this.state.offset(connector, partition);
    if (current && current.epoch > epoch) return;
    const committed = { offset, epoch };
    this.state.setOffset(connector, partition, committed);
    this.reports.mark('offset', connector, partition);
  }

  private onStatus(session: WorkerSession, report: StatusReport): void {
    for (const s of report.statuses) {
      if (!s.ref || !this.ownedBy(session, s.ref)) {
        const owner = s.ref && this.state.owner(s.ref.connector, s.ref.partition);
        this.log.debug({ workerId: session.info.id, ref: s.ref && { ...s.ref, epoch: String(s.ref.epoch) }, owner: owner && { workerId: owner.workerId, epoch: String(owner.epoch) } }, 'refused a status report from a stale owner or epoch');
        continue;
      }
      const status: StatusRecord = {
        connector: s.ref.connector,
        partition: s.ref.partition,
        workerId: session.info.id,
        state: TaskStateProto[s.state] ?? 'UNSPECIFIED',
        error: s.error || undefined,
        trace: s.trace || undefined,
        epoch: s.ref.epoch,
        updatedAt: this.now(),
      };
      this.state.statuses.set(partitionKey(status), status);
      this.reports.mark('status', status.connector, status.partition);
    }
  }

  private onRevokeAck(session: WorkerSession, ack: RevokeAck): void {
    const owner = this.ownedBy(session, ack.ref);
    if (!owner || !ack.ref) return;
    if (ack.finalOffset !== undefined) this.commitOffset(owner.connector, owner.partition.id, ack.finalOffset, owner.epoch);
    this.state.owners.delete(partitionKey({ connector: owner.connector, partition: owner.partition.id }));
    this.markDirty(owner.connector, owner.partition.id);
    this.log.info({ connector: owner.connector, partition: owner.partition.id, workerId: owner.workerId, clean: ack.clean, reason: owner.revoking }, 'revoke acknowledged');
    this.requestRebalance();
  }

  private onLeave(session: WorkerSession): void {
    session.leaving = true;
    const owned = [...this.state.owners.values()].filter((o) => o.workerId === session.info.id && !o.revoking);
    for (const o of owned) o.revoking = 'move';
    this.sendRevoke(session.info.id, owned, 'worker leaving');
    this.log.info({ workerId: session.info.id, partitions: owned.length }, 'worker is leaving; handing its partitions over');
    this.requestRebalance();
  }

  // ---------------------------------------------------------------- liveness

  private checkLiveness(): void {
    const known = new Set([...this.sessions.keys(), ...this.state.workersWithAssignments()]);
    for (const { workerId, silentMs } of this.liveness.overdue(known)) this.declareDead(workerId, silentMs);
  }

  private declareDead(workerId: string, silentMs: number): void {
    const session = this.sessions.get(workerId);
    if (session) {
      session.out.push({ kind: { case: 'fence', value: { reason: `no heartbeat for ${silentMs} ms (session timeout ${this.options.sessionTimeoutMs} ms)` } } });
      this.closeSession(session);
      this.sessions.delete(workerId);
    }
    this.liveness.forget(workerId);
    let lost = 0;
    for (const [key, o] of this.state.owners) {
      if (o.workerId !== workerId) continue;
      this.state.owners.delete(key);
      this.markDirty(o.connector, o.partition.id);
      lost++;
    }
    this.log.warn({ workerId, silentMs, partitions: lost }, 'worker declared dead; its partitions move to live workers from their committed offsets');
    this.requestRebalance();
  }

  // ---------------------------------------------------------------- rebalance

  private markDirty(connector: string, partition: string): void {
    this.dirtyOwners.set(partitionKey({ connector, partition }), { connector, partition, version: ++this.dirtyVersion });
  }

  /**
   * Coalesces triggers: at most one rebalance runs, and one more is queued behind it. A failed
   * one (etcd unreachable for a moment) is retried with capped backoff until it succeeds or the
   * leadership is lost; nothing of it was applied or sent meanwhile.
   */
  requestRebalance(): void {
    if (this.stopped.signal.aborted || this.rebalanceQueued) return;
    this.rebalanceQueued = true;
    this.rebalanceChain = this.rebalanceChain.then(async () => {
      this.rebalanceQueued = false;
      if (this.stopped.signal.aborted) return;
      try {
        await this.rebalance();
        this.rebalanceBackoff.reset();
      } catch (err) {
        if (this.options.leadership.lost.aborted) {
          await this.stop('leadership lost');
          return;
        }
        const delay = this.rebalanceBackoff.next();
        this.log.warn({ err: describeError(err).message, retryInMs: delay }, 'rebalance could not be persisted; retrying');
        const retry = setTimeout(() => this.requestRebalance(), delay);
        retry.unref();
      }
    });
  }

  /**
   * Plans on a copy of the ownership, persists the new assignment lists (with the offsets that
   * ride along), and only then applies them to memory and sends assigns and revokes. So memory
   * and every message sent reflect persisted state only.
   */
  private async rebalance(): Promise<void> {
    let planned: ReturnType<Leader['planChanges']> | undefined;
    let offsets: ReturnType<ReportBuffer['take']> | undefined;
    await this.writer.write(() => {
      planned = this.planChanges();
      if (planned.writes.length === 0) return [];
      offsets = this.reports.take(this.state, ['offset']);
      return [...offsets.writes, ...planned.writes];
    });
    if (!planned) return;
    offsets?.settle();
    for (const [key, version] of planned.dirty) if (this.dirtyOwners.get(key)?.version === version) this.dirtyOwners.delete(key);
    if (planned.legacyDeleted) this.legacyAssignmentWorkers = [];
    if (planned.epoch > this.state.epoch) this.state.epoch = planned.epoch;

    // The state may have moved while the write was in flight: apply only what still holds.
    let stale = false;
    const assigned = new Map<string, OwnedPartition[]>();
    for (const o of planned.additions) {
      const key = partitionKey({ connector: o.connector, partition: o.partition.id });
      const session = this.sessions.get(o.workerId);
      if (this.state.owners.has(key) || !this.state.partition(o.connector, o.partition.id) || !session || session.leaving) {
        // Persisted for a worker that will not run it: the next rebalance rewrites that key.
        this.markDirty(o.connector, o.partition.id);
        stale = true;
        continue;
      }
      this.state.owners.set(key, o);
      assigned.set(o.workerId, [...(assigned.get(o.workerId) ?? []), o]);
    }
    const revokes = new Map<string, { owned: OwnedPartition[]; reason: string }>();
    for (const { owner, why, reason } of planned.revokes) {
      if (this.state.owner(owner.connector, owner.partition.id) !== owner || owner.revoking || !this.sessions.has(owner.workerId)) continue;
      owner.revoking = why;
      const entry = revokes.get(owner.workerId) ?? { owned: [], reason };
      entry.owned.push(owner);
      revokes.set(owner.workerId, entry);
    }
    for (const [workerId, list] of assigned) this.sendAssign(workerId, list);
    for (const [workerId, { owned, reason }] of revokes) this.sendRevoke(workerId, owned, reason);
    if (planned.additions.length + planned.revokes.length > 0) {
      this.log.info({ assigned: planned.additions.length, revoking: planned.revokes.length, epoch: String(this.state.epoch) }, 'rebalanced');
    }
    if (stale) this.requestRebalance();
  }

  /** What a rebalance would change, computed without touching the state (rebalance-plan.ts). */
  private planChanges(): RebalancePlan {
    const workers = [...new Set([...this.sessions.keys(), ...this.liveness.known()])].map((id) => {
      const session = this.sessions.get(id);
      return { id, capacity: session?.info.capacity ?? 1, connected: session !== undefined, leaving: session?.leaving ?? false };
    });
    return planRebalance({ state: this.state, workers, dirtyOwners: this.dirtyOwners, legacyAssignmentWorkers: this.legacyAssignmentWorkers });
  }

  private sendAssign(workerId: string, owned: OwnedPartition[]): void {
    const session = this.sessions.get(workerId);
    if (!session || owned.length === 0) return;
    session.out.push({
      kind: {
        case: 'assign',
        value: {
          assignments: owned.map((o) => {
            const connector = this.state.connectors.get(o.connector);
            return {
              ref: { connector: o.connector, partition: o.partition.id, epoch: o.epoch },
              partition: { id: o.partition.id, attributes: o.partition.attributes, topic: o.partition.topic, kafkaPartition: o.partition.kafkaPartition },
              config: connector?.config ?? {},
              targetState: targetToProto[connector?.targetState ?? 'RUNNING'],
              committedOffset: this.state.offset(o.connector, o.partition.id)?.offset,
              committedOffsetEpoch: this.state.offset(o.connector, o.partition.id)?.epoch,
            };
          }),
        },
      },
    });
  }

  private sendRevoke(workerId: string, owned: OwnedPartition[], reason: string): void {
    this.sessions.get(workerId)?.out.push({
      kind: { case: 'revoke', value: { refs: owned.map((o) => ({ connector: o.connector, partition: o.partition.id, epoch: o.epoch })), reason } },
    });
  }

  /**
   * Writes buffered offset and status reports in one transaction, built from the current state
   * when its turn comes. One flush at a time; a failed one leaves its keys dirty for the next.
   */
  flushReports(): Promise<void> {
    if (this.options.leadership.lost.aborted) return this.flushing ?? Promise.resolve();
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    if (this.reports.size === 0 && ![...this.sessions.values()].some((s) => s.ackWanted)) return Promise.resolve();
    this.flushing = (async () => {
      let taken: ReturnType<ReportBuffer['take']> | undefined;
      let acks: ReportAcks | undefined;
      try {
        // Built when its turn comes: every earlier write is done, so whatever reports arrived
        // before this moment are durable once this one is (or already were).
        await this.writer.write(() => {
          taken = this.reports.take(this.state);
          acks = this.captureReportAcks();
          return taken.writes;
        });
        taken?.settle();
        acks?.deliver();
      } catch (err) {
        acks?.restore();
        this.log.warn({ err: describeError(err).message }, 'could not persist offset reports; they stay buffered');
      } finally {
        this.flushing = undefined;
      }
      if (this.flushAgain) {
        this.flushAgain = false;
        await this.flushReports();
      }
    })();
    return this.flushing;
  }

  // ---------------------------------------------------------------- operations (admin)

  /** Creates or updates a connector. A changed config restarts its partitions (drain, then reassign). */
  async putConnector(record: ConnectorRecord): Promise<{ created: boolean }> {
    this.assertActive();
    const previous = this.state.connectors.get(record.name);
    if (!previous) await this.options.lifecycle?.created(record);
    else if (!sameConfig(previous.config, record.config)) await this.options.lifecycle?.updated(record, previous);
    await this.writer.write([{ type: 'putConnector', record }]);
    this.state.connectors.set(record.name, record);
    const configChanged = previous !== undefined && !sameConfig(previous.config, record.config);
    if (configChanged) {
      // Rediscover with the new config, and restart every running partition with it.
      this.discovery.stop(record.name);
      this.revokeConnector(record.name, 'restart', 'connector config changed');
    }
    if (record.targetState === 'STOPPED') this.discovery.stop(record.name);
    else this.discovery.start(record);
    if (previous && previous.targetState !== record.targetState && record.targetState !== 'STOPPED') {
      const owned = [...this.state.owners.values()].filter((o) => o.connector === record.name && !o.revoking);
      for (const workerId of new Set(owned.map((o) => o.workerId))) this.sendAssign(workerId, owned.filter((o) => o.workerId === workerId));
    }
    this.requestRebalance();
    return { created: previous === undefined };
  }

  async deleteConnector(name: string): Promise<void> {
    this.assertActive();
    const record = this.state.connectors.get(name);
    if (!record) throw new NotFoundError(`connector "${name}" not found`);
    try {
      await this.options.lifecycle?.deleted(record);
    } catch (err) {
      this.log.warn({ connector: name, err: describeError(err).message }, 'the plugin\'s ConnectorDeleted hook failed; deleting anyway');
    }
    this.discovery.stop(name);
    // Buffered reports of the connector are never written again, not even by a flush in flight.
    this.reports.fence(name);
    try {
      await this.writer.write([{ type: 'deleteConnector', name }]);
    } finally {
      this.reports.unfence(name);
    }
    this.reports.forgetConnector(name);
    for (const key of this.reportSeqs.keys()) if (key.startsWith(`${name}\u0000`)) this.reportSeqs.delete(key);
    this.discovery.forget(name);
    this.state.connectors.delete(name);
    this.state.partitions.delete(name);
    this.state.offsets.delete(name);
    for (const key of [...this.state.statuses.keys()]) if (this.state.statuses.get(key)!.connector === name) this.state.statuses.delete(key);
    this.requestRebalance();
  }

  /**
   * Restarts a connector's connector-level work, which in Tributary is its partition discovery
   * (a source plugin's WatchPartitions, a sink's topic metadata watch): clears its connector
   * error and discovers again. Running partitions are not touched (Kafka Connect's restart
   * without includeTasks). Returns false when the connector is STOPPED (nothing to restart).
   */
  restartConnector(name: string): boolean {
    this.assertActive();
    const record = this.state.connectors.get(name);
    if (!record) throw new NotFoundError(`connector "${name}" not found`);
    if (record.targetState === 'STOPPED') return false;
    this.discovery.restart(record);
    return true;
  }

  /** Restarts partitions: each is drained and assigned again from its committed offset. */
  restartPartitions(connector: string, filter: (partition: string) => boolean): number {
    this.assertActive();
    let n = 0;
    for (const o of this.state.owners.values()) {
      if (o.connector !== connector || o.revoking || !filter(o.partition.id)) continue;
      if (!this.sessions.has(o.workerId)) continue;
      o.revoking = 'restart';
      this.sendRevoke(o.workerId, [o], 'restart requested');
      n++;
    }
    return n;
  }

  /**
   * Replaces committed offsets (undefined removes one). Only while the connector is STOPPED and
   * nothing of it runs, as in Kafka Connect: a running task would overwrite them.
   */
  async alterOffsets(name: string, offsets: Map<string, Uint8Array | undefined>): Promise<void> {
    this.assertActive();
    const record = this.state.connectors.get(name);
    if (!record) throw new NotFoundError(`connector "${name}" not found`);
    if (record.targetState !== 'STOPPED') throw new FailedPreconditionError(`connector "${name}" is ${record.targetState}; stop it first (tributary connectors stop ${name}), then change its offsets`);
    if (this.ownersOf(name).length > 0) throw new FailedPreconditionError(`connector "${name}" still has partitions releasing; retry in a moment`);
    const epoch = this.state.epoch;
    const writes: StateWrite[] = [];
    for (const [partition, offset] of offsets) {
      if (offset === undefined) {
        this.state.offsets.get(name)?.delete(partition);
        writes.push({ type: 'deleteOffset', connector: name, partition });
      } else {
        const committed = { offset, epoch };
        this.state.setOffset(name, partition, committed);
        writes.push({ type: 'commitOffset', connector: name, partition, offset: committed });
      }
      this.reports.forget('offset', name, partition);
    }
    if (writes.length > 0) await this.writer.write(writes);
  }

  private revokeConnector(name: string, why: 'restart' | 'drop', reason: string): void {
    const byWorker = new Map<string, OwnedPartition[]>();
    for (const o of this.state.owners.values()) {
      if (o.connector !== name || o.revoking) continue;
      o.revoking = why;
      byWorker.set(o.workerId, [...(byWorker.get(o.workerId) ?? []), o]);
    }
    for (const [workerId, owned] of byWorker) this.sendRevoke(workerId, owned, reason);
  }

  private assertActive(): void {
    if (this.stopped.signal.aborted || this.options.leadership.lost.aborted) throw new FailedPreconditionError('this worker is no longer the leader; retry against the current leader');
  }

  // ---------------------------------------------------------------- reads

  connector(name: string): ConnectorRecord | undefined {
    return this.state.connectors.get(name);
  }

  connectors(): ConnectorRecord[] {
    return [...this.state.connectors.values()];
  }

  connectorError(name: string): string | undefined {
    return this.discovery.errorOf(name);
  }

  partitionsOf(name: string): PartitionRecord[] {
    return this.state.partitions.get(name) ?? [];
  }

  ownersOf(name: string): OwnedPartition[] {
    return [...this.state.owners.values()].filter((o) => o.connector === name);
  }

  statusOf(connector: string, partition: string): StatusRecord | undefined {
    return this.state.statuses.get(partitionKey({ connector, partition }));
  }

  offsetsOf(name: string): Map<string, { offset: Uint8Array; epoch: bigint }> {
    return new Map(this.state.offsets.get(name) ?? []);
  }

  workers(): Array<WorkerInfo & { connected: boolean; lastSeen: number | undefined; partitions: number }> {
    const ids = new Set([...this.sessions.keys(), ...this.liveness.known()]);
    return [...ids].map((id) => {
      const s = this.sessions.get(id);
      return {
        ...(s?.info ?? { id, address: '', capacity: 1, version: '' }),
        connected: s !== undefined,
        lastSeen: this.liveness.lastSeenOf(id),
        partitions: [...this.state.owners.values()].filter((o) => o.workerId === id).length,
      };
    });
  }
}
