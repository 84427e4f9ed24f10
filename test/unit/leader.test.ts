import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { create } from '@bufbuild/protobuf';
import { SessionRequestSchema, TaskState as TaskStateProto, type SessionRequest, type SessionResponse } from '../../src/gen/tributary/cluster/v1/cluster_pb.js';
import { ConnectorState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { ConnectorKind } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { connectorStatus } from '../../src/admin/views.js';
import { Leader, MemoryBackend, type Leadership, type PartitionRecord, type StateWrite } from '../../src/coordinator/index.js';
import { AlreadyExistsError, UnavailableError } from '../../src/errors.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { eventually } from '../support/eventually.js';

const logger = pino({ level: 'silent' });
const SESSION_TIMEOUT = 600;
const leaders: Leader[] = [];
after(async () => {
  for (const l of leaders) await l.stop();
});

/** A worker's side of a Session, driven by hand. */
class ScriptedWorker {
  readonly up = new AsyncQueue<SessionRequest>();
  readonly received: SessionResponse[] = [];
  /** How the leader ended the session, if it failed it. */
  error: unknown;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    leader: Leader,
  ) {
    const down = leader.session(this.up, new AbortController().signal);
    void (async () => {
      try {
        for await (const m of down) this.received.push(m as SessionResponse);
      } catch (err) {
        this.error = err;
      }
    })();
  }

  send(kind: SessionRequest['kind']): void {
    this.up.push(create(SessionRequestSchema, { kind } as never));
  }

  hello(running: Array<{ connector: string; partition: string; epoch: bigint }> = [], incarnation = `${this.id}-1`): void {
    this.send({ case: 'hello', value: { workerId: this.id, address: `${this.id}:1`, capacity: 1, version: 't', running, incarnation } as never });
    this.heartbeat = setInterval(() => this.send({ case: 'heartbeat', value: {} as never }), 100);
  }

  /** Stops heartbeating without closing the stream: a worker cut off from the leader. */
  goSilent(): void {
    clearInterval(this.heartbeat);
  }

  assigned(): Array<{ partition: string; epoch: bigint; offset: string | undefined }> {
    return this.received.flatMap((m) =>
      m.kind.case === 'assign' ? m.kind.value.assignments.map((a) => ({ partition: a.ref!.partition, epoch: a.ref!.epoch, offset: a.committedOffset && Buffer.from(a.committedOffset).toString() })) : [],
    );
  }

  revoked(): Array<{ partition: string; epoch: bigint }> {
    return this.received.flatMap((m) => (m.kind.case === 'revoke' ? m.kind.value.refs.map((r) => ({ partition: r.partition, epoch: r.epoch })) : []));
  }

  fenced(): boolean {
    return this.received.some((m) => m.kind.case === 'fence');
  }
}

interface StartOptions {
  config?: Record<string, string>;
  flushIntervalMs?: number;
  /** For tests that are not about failure detection: a timeout no scheduling stall on a loaded machine reaches. */
  sessionTimeoutMs?: number;
  /** Wraps the leadership the memory backend granted (to make its writes fail, say). */
  wrap?: (granted: Leadership) => Leadership;
}

async function startLeader(partitions: PartitionRecord[], opts: StartOptions = {}): Promise<{ leader: Leader; backend: MemoryBackend; leadership: Leadership }> {
  const backend = new MemoryBackend({ logger });
  await backend.start();
  const self = { id: 'leader', address: 'leader:1', capacity: 1, version: 't' };
  const granted = (await backend.campaign(self, new AbortController().signal))!;
  const leadership = opts.wrap ? opts.wrap(granted) : granted;
  const leader = new Leader({
    self,
    leadership,
    snapshot: await backend.snapshot(),
    discover: async function* () {
      yield { snapshot: true, added: partitions, removed: [] };
      await new Promise(() => {});
    },
    sessionTimeoutMs: opts.sessionTimeoutMs ?? SESSION_TIMEOUT,
    heartbeatIntervalMs: 100,
    flushIntervalMs: opts.flushIntervalMs ?? 50,
    logger,
  });
  leaders.push(leader);
  leader.start();
  await leader.putConnector({ name: 'c', config: opts.config ?? { 'connector.class': 'x' }, targetState: 'RUNNING' });
  return { leader, backend, leadership };
}

const four: PartitionRecord[] = ['p0', 'p1', 'p2', 'p3'].map((id) => ({ id, attributes: {} }));

test('assigns discovered partitions, persisting them before telling the worker', async () => {
  const { leader, backend } = await startLeader(four);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  const snapshot = await backend.snapshot();
  assert.equal(snapshot.assignments.length, 4, 'assignments are in the store');
  for (const a of w1.assigned()) assert.ok(snapshot.assignments.some((s) => s.partition.id === a.partition && s.epoch === a.epoch && s.workerId === 'w1'));
  w1.goSilent();
});

test('refuses offset reports from an old epoch or a worker that does not own the partition', async () => {
  const { leader } = await startLeader(four);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  const p0 = w1.assigned().find((a) => a.partition === 'p0')!;
  w1.send({ case: 'offsets', value: { offsets: [{ ref: { connector: 'c', partition: 'p0', epoch: p0.epoch }, offset: Buffer.from('10') }] } as never });
  await eventually(() => leader.offsetsOf('c').get('p0') !== undefined);
  w1.send({ case: 'offsets', value: { offsets: [{ ref: { connector: 'c', partition: 'p0', epoch: p0.epoch - 1n }, offset: Buffer.from('99') }] } as never });
  const w2 = new ScriptedWorker('w2', leader);
  w2.hello();
  w2.send({ case: 'offsets', value: { offsets: [{ ref: { connector: 'c', partition: 'p0', epoch: p0.epoch }, offset: Buffer.from('77') }] } as never });
  await eventually(() => leader.refusedReports === 2, { message: 'both stale reports refused' });
  assert.equal(Buffer.from(leader.offsetsOf('c').get('p0')!.offset).toString(), '10', 'the committed offset did not move');
  w1.goSilent();
  w2.goSilent();
});

test('a joining worker gets its share only after the old owner acknowledged, starting from the final offset', async () => {
  const { leader } = await startLeader(four);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  const w2 = new ScriptedWorker('w2', leader);
  w2.hello();
  await eventually(() => w1.revoked().length === 2, { message: 'two partitions revoked from w1' });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(w2.assigned().length, 0, 'nothing is assigned before the revokes are acknowledged');
  for (const r of w1.revoked()) {
    w1.send({ case: 'revokeAck', value: { ref: { connector: 'c', partition: r.partition, epoch: r.epoch }, finalOffset: Buffer.from(`final-${r.partition}`), clean: true } as never });
  }
  await eventually(() => w2.assigned().length === 2, { message: 'moved partitions assigned to w2' });
  for (const a of w2.assigned()) {
    assert.equal(a.offset, `final-${a.partition}`, 'the new owner starts from the final offset of the old one');
    assert.ok(a.epoch > w1.assigned().find((x) => x.partition === a.partition)!.epoch, 'a move gets a newer epoch');
  }
  w1.goSilent();
  w2.goSilent();
});

test('a silent worker is fenced after the session timeout and its partitions go to live workers', async () => {
  const { leader } = await startLeader(four);
  const w1 = new ScriptedWorker('w1', leader);
  const w2 = new ScriptedWorker('w2', leader);
  w1.hello();
  w2.hello();
  await eventually(() => w1.assigned().length + w2.assigned().length === 4);
  const silentAt = Date.now();
  w1.goSilent();
  await eventually(() => w2.assigned().length === 4, { message: 'w1\'s partitions reassigned to w2' });
  const elapsed = Date.now() - silentAt;
  assert.ok(elapsed >= SESSION_TIMEOUT - 150, `reassigned after ${elapsed} ms: not before the session timeout (${SESSION_TIMEOUT} ms) since w1's last heartbeat`);
  assert.ok(w1.fenced(), 'the silent worker was told it is fenced');
  w2.goSilent();
});

test('a new leader keeps every existing assignment of workers that come back in time', async () => {
  const { leader, backend } = await startLeader(four);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  w1.goSilent();
  const running = w1.assigned().map((a) => ({ connector: 'c', partition: a.partition, epoch: a.epoch }));
  await leader.stop('test: failover');
  // The next leader loads the persisted state.
  const snapshot = await backend.snapshot();
  const self = { id: 'leader-2', address: 'leader-2:1', capacity: 1, version: 't' };
  const next = new Leader({
    self,
    leadership: { term: 2n, lost: new AbortController().signal, write: async () => {}, resign: async () => {} },
    snapshot,
    discover: async function* () {
      yield { snapshot: true, added: four, removed: [] };
      await new Promise(() => {});
    },
    sessionTimeoutMs: SESSION_TIMEOUT,
    heartbeatIntervalMs: 100,
    flushIntervalMs: 50,
    logger,
  });
  leaders.push(next);
  next.start();
  const back = new ScriptedWorker('w1', next);
  back.hello(running);
  await eventually(() => back.received.some((m) => m.kind.case === 'welcome'));
  const welcome = back.received.find((m) => m.kind.case === 'welcome')!;
  assert.equal(welcome.kind.case === 'welcome' && welcome.kind.value.disown.length, 0, 'nothing disowned');
  await new Promise((r) => setTimeout(r, SESSION_TIMEOUT + 300));
  assert.equal(back.revoked().length, 0, 'no partition was revoked');
  for (const a of back.assigned()) assert.ok(running.some((r) => r.partition === a.partition && r.epoch === a.epoch), 'the same epochs: nothing restarted');
  back.goSilent();
});

test('lifecycle hooks run once per connector: created before it is stored (a failure refuses it), updated with the previous config, deleted', async () => {
  const backend = new MemoryBackend({ logger });
  await backend.start();
  const self = { id: 'leader', address: 'leader:1', capacity: 1, version: 't' };
  const calls: string[] = [];
  const leader = new Leader({
    self,
    leadership: (await backend.campaign(self, new AbortController().signal))!,
    snapshot: await backend.snapshot(),
    discover: async function* () {
      // No partitions: this test is about the hooks.
      yield* [];
      await new Promise(() => {});
    },
    lifecycle: {
      created: async (r) => {
        if (r.config['refuse']) throw new Error('cannot create the replication slot');
        calls.push(`created ${r.name}`);
      },
      updated: async (r, previous) => void calls.push(`updated ${r.name} from ${previous.config['v']} to ${r.config['v']}`),
      deleted: async (r) => void calls.push(`deleted ${r.name}`),
    },
    sessionTimeoutMs: SESSION_TIMEOUT,
    heartbeatIntervalMs: 100,
    flushIntervalMs: 50,
    logger,
  });
  leaders.push(leader);
  leader.start();
  await leader.putConnector({ name: 'a', config: { v: '1' }, targetState: 'RUNNING' });
  await leader.putConnector({ name: 'a', config: { v: '1' }, targetState: 'PAUSED' });
  await leader.putConnector({ name: 'a', config: { v: '2' }, targetState: 'PAUSED' });
  await assert.rejects(leader.putConnector({ name: 'b', config: { refuse: 'yes' }, targetState: 'RUNNING' }), /replication slot/);
  assert.equal(leader.connector('b'), undefined);
  assert.equal((await backend.snapshot()).connectors.some((c) => c.name === 'b'), false, 'a refused create stores nothing');
  await leader.deleteConnector('a');
  assert.deepEqual(calls, ['created a', 'updated a from 1 to 2', 'deleted a']);
});

/** A leadership whose writes the test can fail (etcd unreachable) or hold (slow etcd). */
class FlakyLeadership implements Leadership {
  failing = false;
  gated = false;
  readonly held: Array<() => void> = [];
  constructor(private readonly inner: Leadership) {}
  get term(): bigint {
    return this.inner.term;
  }
  get lost(): AbortSignal {
    return this.inner.lost;
  }
  async write(writes: StateWrite[]): Promise<void> {
    if (this.failing) throw new UnavailableError('test: etcd is unreachable');
    if (this.gated) await new Promise<void>((resolve) => this.held.push(resolve));
    await this.inner.write(writes);
  }
  resign(): Promise<void> {
    return this.inner.resign();
  }
}

async function startFlakyLeader(partitions: PartitionRecord[], flushIntervalMs = 50): Promise<{ leader: Leader; backend: MemoryBackend; leadership: FlakyLeadership }> {
  let flaky: FlakyLeadership | undefined;
  const { leader, backend } = await startLeader(partitions, { flushIntervalMs, wrap: (granted) => (flaky = new FlakyLeadership(granted)) });
  await eventually(() => leader.partitionsOf('c').length === partitions.length, { message: 'partitions discovered' });
  return { leader, backend, leadership: flaky! };
}

test('a leader whose etcd writes fail sends nothing unpersisted, retries, and ends with every partition assigned', async () => {
  const { leader, backend, leadership } = await startFlakyLeader(four);
  leadership.failing = true;
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.received.some((m) => m.kind.case === 'welcome'));
  // A reconnect while the write keeps failing: the leader must not hand out what it could not persist.
  const again = new ScriptedWorker('w1', leader);
  again.hello();
  await eventually(() => again.received.some((m) => m.kind.case === 'welcome'));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(w1.assigned().length + again.assigned().length, 0, 'nothing assigned while nothing could be persisted');
  assert.equal((await backend.snapshot()).assignments.length, 0);
  leadership.failing = false;
  await eventually(() => again.assigned().length === 4, { message: 'assigned once etcd answers again' });
  const snapshot = await backend.snapshot();
  for (const a of again.assigned()) assert.ok(snapshot.assignments.some((s) => s.partition.id === a.partition && s.epoch === a.epoch && s.workerId === 'w1'), `assignment of ${a.partition} was persisted before it was sent`);
  w1.goSilent();
  again.goSilent();
});

test('overlapping offset flushes never write an older offset after a newer one', async () => {
  const { leader, backend, leadership } = await startFlakyLeader(four, 60_000);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  const p0 = w1.assigned().find((a) => a.partition === 'p0')!;
  const report = (offset: string) => w1.send({ case: 'offsets', value: { offsets: [{ ref: { connector: 'c', partition: 'p0', epoch: p0.epoch }, offset: Buffer.from(offset) }] } as never });
  leadership.gated = true;
  report('10');
  await eventually(() => Buffer.from(leader.offsetsOf('c').get('p0')?.offset ?? []).toString() === '10');
  const first = leader.flushReports();
  await eventually(() => leadership.held.length === 1, { message: 'the first flush is in flight' });
  report('20');
  await eventually(() => Buffer.from(leader.offsetsOf('c').get('p0')?.offset ?? []).toString() === '20');
  const second = leader.flushReports();
  await new Promise((r) => setTimeout(r, 50));
  // etcd answers the later write first, if there is one in flight.
  leadership.gated = false;
  while (leadership.held.length > 0) leadership.held.pop()!();
  await Promise.all([first, second]);
  await leader.flushReports();
  const stored = (await backend.snapshot()).offsets.get('c')?.get('p0');
  assert.equal(stored && Buffer.from(stored.offset).toString(), '20', 'the newest offset is what etcd holds');
  w1.goSilent();
});

test('connector status is derived from its partitions: RUNNING only while every partition runs and its owner is heard from', async () => {
  // Staleness is judged below at an explicit instant; a 600 ms timeout would let a stalled CI machine make the
  // owner look silent in the middle of the test.
  const { leader } = await startLeader(four, { sessionTimeoutMs: 60_000 });
  const status = () => connectorStatus(leader, leader.connector('c')!, ConnectorKind.SOURCE);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  // Assigned, nothing reported yet: the partitions are starting, the connector does not run yet.
  assert.equal(status().state, ConnectorState.DEGRADED);
  const report = (partitions: string[], state: TaskStateProto) =>
    w1.send({ case: 'status', value: { statuses: w1.assigned().filter((a) => partitions.includes(a.partition)).map((a) => ({ ref: { connector: 'c', partition: a.partition, epoch: a.epoch }, state })) } as never });
  report(['p0', 'p1', 'p2', 'p3'], TaskStateProto.RUNNING);
  await eventually(() => status().state === ConnectorState.RUNNING, { message: 'RUNNING once every partition reported RUNNING' });
  report(['p2'], TaskStateProto.STOPPED);
  await eventually(() => status().state === ConnectorState.DEGRADED, { message: 'one stopped partition: DEGRADED' });
  assert.deepEqual({ ...status().counts }, { total: 4, running: 3, paused: 0, failed: 0, unassigned: 0, other: 1, stale: 0 });
  report(['p2'], TaskStateProto.RUNNING);
  await eventually(() => status().state === ConnectorState.RUNNING);
  // The owner goes silent: its last reports say RUNNING, but nobody knows any more.
  w1.goSilent();
  const stale = connectorStatus(leader, leader.connector('c')!, ConnectorKind.SOURCE, Date.now() + leader.sessionTimeoutMs + 1);
  assert.equal(stale.state, ConnectorState.DEGRADED, 'a silent owner\'s RUNNING is not believed');
  assert.equal(stale.counts?.stale, 4);
  assert.ok(stale.partitions?.every((p) => p.stale));
});

test('a second process with a worker id already in use is refused; the same process may reconnect', async () => {
  const { leader } = await startLeader(four);
  const first = new ScriptedWorker('w1', leader);
  first.hello([], 'process-a');
  await eventually(() => first.assigned().length === 4);
  const impostor = new ScriptedWorker('w1', leader);
  impostor.hello([], 'process-b');
  await eventually(() => impostor.error !== undefined, { message: 'the second process is refused' });
  assert.ok(impostor.error instanceof AlreadyExistsError, `refused with ALREADY_EXISTS, got ${String(impostor.error)}`);
  assert.match((impostor.error as Error).message, /worker id "w1" is already in use/);
  assert.equal(impostor.received.length, 0, 'the refused process got nothing');
  assert.equal(leader.ownersOf('c').filter((o) => o.workerId === 'w1').length, 4, 'the first process keeps its partitions');
  // The first process's own reconnect (same incarnation) replaces its session as before.
  const reconnect = new ScriptedWorker('w1', leader);
  reconnect.hello(first.assigned().map((a) => ({ connector: 'c', partition: a.partition, epoch: a.epoch })), 'process-a');
  await eventually(() => reconnect.received.some((m) => m.kind.case === 'welcome'));
  assert.equal(reconnect.error, undefined);
  first.goSilent();
  impostor.goSilent();
  reconnect.goSilent();
});

test('deleting a connector drops its buffered reports: re-created under the same name it starts from nothing', async () => {
  const { leader, backend } = await startFlakyLeader(four, 60_000);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  const p0 = w1.assigned().find((a) => a.partition === 'p0')!;
  w1.send({ case: 'offsets', value: { offsets: [{ ref: { connector: 'c', partition: 'p0', epoch: p0.epoch }, offset: Buffer.from('41') }] } as never });
  await eventually(() => leader.offsetsOf('c').get('p0') !== undefined, { message: 'the report was accepted (not yet flushed)' });
  await leader.deleteConnector('c');
  await leader.flushReports();
  assert.equal((await backend.snapshot()).offsets.get('c')?.size ?? 0, 0, 'no offset of the deleted connector in the store');
  // The worker drains the dropped partitions and acknowledges, as a real one does.
  await eventually(() => w1.revoked().length === 4, { message: 'the deleted connector\'s partitions revoked' });
  for (const r of w1.revoked()) w1.send({ case: 'revokeAck', value: { ref: { connector: 'c', partition: r.partition, epoch: r.epoch }, clean: true } as never });
  await eventually(() => leader.ownersOf('c').length === 0);
  await leader.putConnector({ name: 'c', config: { 'connector.class': 'x' }, targetState: 'RUNNING' });
  await eventually(() => w1.assigned().filter((a) => a.epoch > p0.epoch + 3n).length === 4, { message: 're-created partitions assigned again' });
  for (const a of w1.assigned().filter((x) => x.epoch > p0.epoch + 3n)) assert.equal(a.offset, undefined, `${a.partition} starts from nothing`);
  w1.goSilent();
});

test('offset reports carry a sequence: one not above the last taken for that epoch never moves the offset back', async () => {
  const { leader } = await startLeader(four);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  const p0 = w1.assigned().find((a) => a.partition === 'p0')!;
  const ref = { connector: 'c', partition: 'p0', epoch: p0.epoch };
  w1.send({ case: 'offsets', value: { offsets: [{ ref, offset: Buffer.from('20'), seq: 5n }] } as never });
  await eventually(() => leader.offsetsOf('c').get('p0')?.offset.toString() === '20', { message: 'seq 5 taken' });
  const refusedBefore = leader.refusedReports;
  // Delivered late: an older commit of the same epoch.
  w1.send({ case: 'offsets', value: { offsets: [{ ref, offset: Buffer.from('12'), seq: 3n }] } as never });
  w1.send({ case: 'offsets', value: { offsets: [{ ref, offset: Buffer.from('25'), seq: 6n }] } as never });
  await eventually(() => leader.offsetsOf('c').get('p0')?.offset.toString() === '25', { message: 'seq 6 taken' });
  assert.equal(leader.refusedReports, refusedBefore + 1, 'exactly the older report was refused');
  w1.goSilent();
});

test('persist_now: the leader answers OffsetsPersisted only once the offset is in the store, naming refused partitions', async () => {
  const { leader, backend } = await startLeader(four);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  const p1 = w1.assigned().find((a) => a.partition === 'p1')!;
  w1.send({
    case: 'offsets',
    value: {
      offsets: [
        { ref: { connector: 'c', partition: 'p1', epoch: p1.epoch }, offset: Buffer.from('41'), seq: 1n },
        { ref: { connector: 'c', partition: 'p2', epoch: p1.epoch - 100n }, offset: Buffer.from('9'), seq: 1n },
      ],
      reportId: 7n,
      persistNow: true,
    } as never,
  });
  const answer = await eventually(() => w1.received.find((m) => m.kind.case === 'offsetsPersisted'), { message: 'OffsetsPersisted' });
  assert.equal(answer!.kind.case, 'offsetsPersisted');
  const value = answer!.kind.value as { reportId: bigint; refused: Array<{ partition: string }> };
  assert.equal(value.reportId, 7n);
  assert.deepEqual(value.refused.map((r) => r.partition), ['p2']);
  // Answered after the write: the store already holds the offset.
  const stored = (await backend.snapshot()).offsets.get('c')?.get('p1');
  assert.equal(stored && Buffer.from(stored.offset).toString(), '41');
  w1.goSilent();
});

test('a hello carrying revoke acks of a session that failed applies them first: the final offset is kept', async () => {
  const { leader } = await startLeader(four);
  const w1 = new ScriptedWorker('w1', leader);
  w1.hello();
  await eventually(() => w1.assigned().length === 4);
  const p3 = w1.assigned().find((a) => a.partition === 'p3')!;
  w1.goSilent();
  // The same process reconnects: p3 was stopped under a revoke whose ack the old session lost.
  const again = new ScriptedWorker('w1', leader);
  const running = w1.assigned().filter((a) => a.partition !== 'p3').map((a) => ({ connector: 'c', partition: a.partition, epoch: a.epoch }));
  again.send({
    case: 'hello',
    value: { workerId: 'w1', address: 'w1:1', capacity: 1, version: 't', running, incarnation: 'w1-1', revoked: [{ ref: { connector: 'c', partition: 'p3', epoch: p3.epoch }, finalOffset: Buffer.from('333'), clean: true }] } as never,
  });
  await eventually(() => leader.offsetsOf('c').get('p3')?.offset.toString() === '333', { message: 'the final offset from the hello was committed' });
  again.goSilent();
});

test('tasks.max caps the workers a connector runs on: three workers, tasks.max=2, four partitions on two of them', async () => {
  const { leader } = await startLeader(four, { config: { 'connector.class': 'x', 'tasks.max': '2' } });
  const ws = ['w1', 'w2', 'w3'].map((id) => new ScriptedWorker(id, leader));
  for (const w of ws) w.hello();
  after(() => {
    for (const w of ws) w.goSilent();
  });
  // Settled: all four placed and none holds more than two (balanced, whether capped or not).
  const perWorker = () => leader.ownersOf('c').reduce((m, o) => m.set(o.workerId, (m.get(o.workerId) ?? 0) + 1), new Map<string, number>());
  await eventually(() => leader.ownersOf('c').length === 4 && [...perWorker().values()].every((n) => n <= 2));
  const hosts = new Set(leader.ownersOf('c').map((o) => o.workerId));
  assert.equal(hosts.size, 2, `hosts: ${[...hosts].join(', ')}`);
  assert.equal(ws.filter((w) => w.assigned().length === 0).length, 1, 'one worker got nothing of the connector');
});
