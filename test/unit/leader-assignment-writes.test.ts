/**
 * Control-plane writes grow with what changed (issue 26): each partition's assignment is its own
 * key, so a rebalance writes the partitions it adds, moves or releases and nothing else; the old
 * one-list-per-worker layout is still read and replaced by the first leader that writes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { create } from '@bufbuild/protobuf';
import { SessionRequestSchema, type SessionRequest, type SessionResponse } from '../../src/gen/tributary/cluster/v1/cluster_pb.js';
import { Leader, MemoryBackend, type ClusterSnapshot, type Leadership, type PartitionRecord, type StateWrite } from '../../src/coordinator/index.js';
import { ClusterKeys } from '../../src/coordinator/store-layout/keys.js';
import { encodeAssignment, encodeAssignments, encodeConnector, encodePartitions } from '../../src/coordinator/store-layout/codec.js';
import { planWrites, snapshotFromKvs } from '../../src/coordinator/store-layout/state.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { eventually } from '../support/eventually.js';

const logger = pino({ level: 'silent' });
const leaders: Leader[] = [];
const timers: NodeJS.Timeout[] = [];
after(async () => {
  for (const t of timers) clearInterval(t);
  for (const l of leaders) await l.stop();
});

const parts = (n: number): PartitionRecord[] => Array.from({ length: n }, (_, i) => ({ id: `p${i}`, attributes: {} }));

class Worker {
  readonly up = new AsyncQueue<SessionRequest>();
  readonly received: SessionResponse[] = [];

  constructor(
    readonly id: string,
    leader: Leader,
  ) {
    const down = leader.session(this.up, new AbortController().signal);
    void (async () => {
      for await (const m of down) this.received.push(m as SessionResponse);
    })();
  }

  hello(running: Array<{ connector: string; partition: string; epoch: bigint }> = []): void {
    this.up.push(create(SessionRequestSchema, { kind: { case: 'hello', value: { workerId: this.id, address: `${this.id}:1`, capacity: 1, version: 't', running, incarnation: `${this.id}-1` } } } as never));
    timers.push(setInterval(() => this.up.push(create(SessionRequestSchema, { kind: { case: 'heartbeat', value: {} } } as never)), 100));
  }

  assigned(): Array<{ connector: string; partition: string; epoch: bigint }> {
    return this.received.flatMap((m) => (m.kind.case === 'assign' ? m.kind.value.assignments.map((a) => ({ connector: a.ref!.connector, partition: a.ref!.partition, epoch: a.ref!.epoch })) : []));
  }

  revoked(): number {
    return this.received.filter((m) => m.kind.case === 'revoke').length;
  }
}

/** A leader on the memory backend whose every write batch is recorded; `partitions` config sizes each connector. */
async function startLeader(snapshot?: (backend: MemoryBackend) => Promise<ClusterSnapshot>) {
  const backend = new MemoryBackend({ logger });
  await backend.start();
  const self = { id: 'leader', address: 'leader:1', capacity: 1, version: 't' };
  const real = (await backend.campaign(self, new AbortController().signal))!;
  const batches: StateWrite[][] = [];
  const leadership: Leadership = {
    term: real.term,
    lost: real.lost,
    write: (writes) => {
      batches.push(writes);
      return real.write(writes);
    },
    resign: () => real.resign(),
  };
  const leader = new Leader({
    self,
    leadership,
    snapshot: snapshot ? await snapshot(backend) : await backend.snapshot(),
    discover: async function* (connector) {
      yield { snapshot: true, added: parts(Number(connector.config.partitions)), removed: [] };
      await new Promise(() => {});
    },
    sessionTimeoutMs: 5_000,
    heartbeatIntervalMs: 100,
    flushIntervalMs: 50,
    logger,
  });
  leaders.push(leader);
  leader.start();
  return { leader, backend, batches };
}

const assignmentWrites = (batches: StateWrite[][]) => batches.flat().filter((w) => w.type === 'putAssignment' || w.type === 'deleteAssignment' || w.type === 'deleteLegacyAssignments');

test('a new connector writes the assignment keys of its own partitions only, not every worker’s whole list', async () => {
  const { leader, backend, batches } = await startLeader();
  const w1 = new Worker('w1', leader);
  const w2 = new Worker('w2', leader);
  w1.hello();
  w2.hello();
  await leader.putConnector({ name: 'big', config: { 'connector.class': 'x', partitions: '40' }, targetState: 'RUNNING' });
  await eventually(() => w1.assigned().length + w2.assigned().length === 40);
  const before = batches.length;

  await leader.putConnector({ name: 'small', config: { 'connector.class': 'x', partitions: '2' }, targetState: 'RUNNING' });
  await eventually(() => w1.assigned().length + w2.assigned().length === 42);
  const writes = assignmentWrites(batches.slice(before));
  assert.deepEqual(
    writes.map((w) => (w.type === 'putAssignment' ? `${w.assignment.connector}/${w.assignment.partition.id}` : w.type)).sort(),
    ['small/p0', 'small/p1'],
    'only the two new partitions are written',
  );
  const snapshot = await backend.snapshot();
  assert.equal(snapshot.assignments.length, 42);
  assert.equal(w1.revoked() + w2.revoked(), 0, 'nothing was moved');
});

test('a revoke acknowledged deletes that partition’s key, and the rest stay as they were', async () => {
  const { leader, backend, batches } = await startLeader();
  const w1 = new Worker('w1', leader);
  w1.hello();
  await leader.putConnector({ name: 'c', config: { 'connector.class': 'x', partitions: '6' }, targetState: 'RUNNING' });
  await eventually(() => w1.assigned().length === 6);
  const w2 = new Worker('w2', leader);
  w2.hello();
  // w1 gives up 3 for balance: acknowledge each revoke.
  await eventually(() => w1.revoked() > 0);
  const refs = w1.received.flatMap((m) => (m.kind.case === 'revoke' ? m.kind.value.refs : []));
  assert.equal(refs.length, 3);
  const before = batches.length;
  for (const ref of refs) w1.up.push(create(SessionRequestSchema, { kind: { case: 'revokeAck', value: { ref, clean: true } } } as never));
  await eventually(() => w2.assigned().length === 3);
  const moved = new Set(refs.map((r) => r.partition));
  for (const w of assignmentWrites(batches.slice(before))) {
    const id = w.type === 'putAssignment' ? w.assignment.partition.id : w.type === 'deleteAssignment' ? w.partition : w.type;
    assert.ok(moved.has(id), `only moved partitions are written (wrote ${id})`);
  }
  const snapshot = await backend.snapshot();
  const byId = new Map(snapshot.assignments.map((a) => [a.partition.id, a]));
  const first = new Map(w1.assigned().map((a) => [a.partition, a.epoch]));
  for (const [id, a] of byId) {
    if (moved.has(id)) assert.equal(a.workerId, 'w2');
    else assert.equal(a.epoch, first.get(id), `unmoved ${id} keeps its epoch`);
  }
});

test('the old one-list-per-worker layout is read, rewritten as per-partition keys and deleted; nothing restarts', async () => {
  const keys = new ClusterKeys('legacy');
  const partitions = parts(3);
  const list = partitions.map((p, i) => ({ connector: 'c', partition: p, workerId: 'w1', epoch: BigInt(i + 1) }));
  const kvs = [
    { key: keys.connectorConfig('c'), value: encodeConnector({ name: 'c', config: { 'connector.class': 'x', partitions: '3' }, targetState: 'RUNNING' }) },
    { key: keys.connectorPartitions('c'), value: encodePartitions(partitions) },
    { key: keys.assignments('w1'), value: encodeAssignments(list) },
  ];
  const legacy = snapshotFromKvs(keys, kvs);
  assert.deepEqual(legacy.legacyAssignmentWorkers, ['w1']);
  assert.equal(legacy.assignments.length, 3);

  const { leader, backend, batches } = await startLeader(async () => legacy);
  const w1 = new Worker('w1', leader);
  w1.hello(list.map((a) => ({ connector: 'c', partition: a.partition.id, epoch: a.epoch })));
  await eventually(() => batches.flat().some((w) => w.type === 'deleteLegacyAssignments'));
  const snapshot = await backend.snapshot();
  assert.deepEqual(
    snapshot.assignments.map((a) => `${a.partition.id}@${a.epoch}/${a.workerId}`).sort(),
    ['p0@1/w1', 'p1@2/w1', 'p2@3/w1'],
    'each partition keeps its owner and epoch under its own key',
  );
  assert.equal(snapshot.legacyAssignmentWorkers, undefined);
  assert.equal(w1.revoked(), 0, 'no revoke');
  assert.ok(w1.assigned().every((a) => list.some((l) => l.partition.id === a.partition && l.epoch === a.epoch)), 'no new epoch for an adopted partition');
});

test('a per-partition key wins over an old list naming the same partition', () => {
  const keys = new ClusterKeys('mixed');
  const p = { id: 'p0', attributes: {} };
  const snapshot = snapshotFromKvs(keys, [
    { key: keys.owner('c', 'p0'), value: encodeAssignment({ connector: 'c', partition: p, workerId: 'w2', epoch: 9n }) },
    { key: keys.assignments('w1'), value: encodeAssignments([{ connector: 'c', partition: p, workerId: 'w1', epoch: 4n }, { connector: 'c', partition: { id: 'p1', attributes: {} }, workerId: 'w1', epoch: 5n }]) },
  ]);
  assert.deepEqual(snapshot.assignments.map((a) => `${a.partition.id}@${a.epoch}/${a.workerId}`).sort(), ['p0@9/w2', 'p1@5/w1']);
});

test('the write plan: a put under a prefix deleted earlier marks it for expansion; one outside does not', () => {
  const keys = new ClusterKeys('plan');
  const status = (connector: string) => ({ type: 'putStatus' as const, status: { connector, partition: 'p0', workerId: 'w', state: 'RUNNING', epoch: 1n, updatedAt: 0 } });
  const ops = planWrites(keys, [status('a'), { type: 'deleteConnector', name: 'a' }, status('b'), status('a'), ...parts(500).map((p) => ({ type: 'putAssignment' as const, assignment: { connector: 'b', partition: p, workerId: 'w', epoch: 1n } }))]);
  const prefixes = ops.filter((o) => o.op === 'deletePrefix');
  assert.deepEqual(prefixes.map((o) => [o.prefix, o.expand]), [
    [keys.connectorPrefix('a'), false],
    [keys.offsetsPrefix('a'), false],
    [keys.statusPrefix('a'), true],
  ]);
  assert.equal(ops.filter((o) => o.op === 'put').length, 502);
});
