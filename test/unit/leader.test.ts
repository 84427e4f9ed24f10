import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { create } from '@bufbuild/protobuf';
import { SessionRequestSchema, type SessionRequest, type SessionResponse } from '../../src/gen/tributary/cluster/v1/cluster_pb.js';
import { Leader, MemoryBackend, type PartitionRecord } from '../../src/coordinator/index.js';
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
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    leader: Leader,
  ) {
    const down = leader.session(this.up, new AbortController().signal);
    void (async () => {
      for await (const m of down) this.received.push(m as SessionResponse);
    })();
  }

  send(kind: SessionRequest['kind']): void {
    this.up.push(create(SessionRequestSchema, { kind } as never));
  }

  hello(running: Array<{ connector: string; partition: string; epoch: bigint }> = []): void {
    this.send({ case: 'hello', value: { workerId: this.id, address: `${this.id}:1`, capacity: 1, version: 't', running } as never });
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

async function startLeader(partitions: PartitionRecord[]): Promise<{ leader: Leader; backend: MemoryBackend }> {
  const backend = new MemoryBackend({ logger });
  await backend.start();
  const self = { id: 'leader', address: 'leader:1', capacity: 1, version: 't' };
  const leadership = (await backend.campaign(self, new AbortController().signal))!;
  const leader = new Leader({
    self,
    leadership,
    snapshot: await backend.snapshot(),
    discover: async function* () {
      yield { snapshot: true, added: partitions, removed: [] };
      await new Promise(() => {});
    },
    sessionTimeoutMs: SESSION_TIMEOUT,
    heartbeatIntervalMs: 100,
    flushIntervalMs: 50,
    logger,
  });
  leaders.push(leader);
  leader.start();
  await leader.putConnector({ name: 'c', config: { 'connector.class': 'x' }, targetState: 'RUNNING' });
  return { leader, backend };
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
