/**
 * A fenced worker sends nothing to Kafka after its fence deadline, even when its broker is slow
 * (issue 25, hole 2). Three workers in network namespaces of their own (test/support/netns.ts);
 * the host-side forwarder in front of Kafka counts each produce request by arrival time.
 *
 * The victim's broker answers are delayed, so its producer has sends queued behind requests in
 * flight; then it is cut off from etcd and the other workers while Kafka still reaches it. It
 * fences itself at its deadline. A fence that drained its producer (what `producer.stop()` did)
 * would keep sending the queued records as answers trickle back; the fence must abort them.
 *
 * Then the weak-evidence case (hole 1): a worker cut off from etcd and from the new leader while
 * it still reaches the old leader's address — a closed port once the leader is killed, then a
 * restarted worker there that answers "not the leader". Neither may hold its fence clock: it
 * fences, and sends nothing after its partitions start elsewhere.
 *
 * At the end every seqno up to the committed offsets is in Kafka (counted by sequence number).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { countSeqs, readTopic } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { services } from '../support/services.js';
import { NetnsLab, netnsUnavailable, type NsWorker } from '../support/netns.js';

const PARTITIONS = 6;
const SESSION_TIMEOUT = 3_000;
/** How long the victim's broker takes to answer: long enough that sends queue behind each request. */
const RESPONSE_DELAY = 1_500;
/**
 * A produce request the victim wrote just before its fence still crosses the forwarder inside
 * its namespace before it is counted here; anything later than this after the fence was sent
 * after it.
 */
const TRANSIT_MARGIN = 1_000;
/** How long after the fence the forwarder keeps watching: a draining producer would send within a few answer delays. */
const WATCH = 6 * RESPONSE_DELAY;

const unavailable = netnsUnavailable();
if (unavailable) console.log(`# network-namespace fence test skipped: ${unavailable}`);
let lab: NetnsLab;
const topic = `netns-fence-${Date.now().toString(36)}`;

before(async () => {
  if (unavailable) return;
  const s = await services();
  lab = new NetnsLab({ kafkaBootstrap: s.kafkaBootstrap, etcdEndpoints: s.etcdEndpoints, sessionTimeoutMs: SESSION_TIMEOUT });
  await lab.start();
  for (let i = 0; i < 3; i++) await lab.addWorker();
  await lab.admin(lab.workers[0]!).createConnector({ name: 'nf-source', config: { 'connector.class': 'verifiable-source', topic, partitions: String(PARTITIONS), 'records.per.second': '200', 'topic.creation.default.partitions': '3' } });
});
after(async () => {
  await lab?.close();
});

async function placement(via: NsWorker): Promise<Map<string, string>> {
  const { status } = await lab.admin(via).getConnectorStatus({ name: 'nf-source' }, { timeoutMs: 3_000 });
  const parts = status!.partitions;
  if (parts.length !== PARTITIONS || parts.some((p) => p.state !== PartitionState.RUNNING)) {
    throw new Error(parts.map((p) => `${p.partition}=${PartitionState[p.state]}@${p.workerId}`).join(' '));
  }
  return new Map(parts.map((p) => [p.partition, p.workerId]));
}

async function leaderOf(via: NsWorker): Promise<NsWorker> {
  const { leaderId } = await lab.admin(via).getCluster({}, { timeoutMs: 2_000 });
  const leader = lab.workers.find((w) => w.id === leaderId);
  if (!leader) throw new Error(`no leader yet (${leaderId || 'none'})`);
  return leader;
}

interface LogEntry {
  time: number;
  msg: string;
  droppedRecords?: number;
  dropped?: number;
}

/** The worker's pino JSON lines (anything else it printed is skipped). */
function entries(w: NsWorker): LogEntry[] {
  return w.log.flatMap((line) => {
    try {
      const e = JSON.parse(line) as LogEntry;
      return typeof e.msg === 'string' ? [e] : [];
    } catch {
      return [];
    }
  });
}

const FENCE_MESSAGE = 'fencing myself: stopping every task';

async function rejoined(via: NsWorker, w: NsWorker): Promise<void> {
  await eventually(async () => {
    const { workers } = await lab.admin(via).listWorkers({}, { timeoutMs: 2_000 });
    return workers.some((x) => x.id === w.id && x.connected);
  }, { timeoutMs: 60_000, message: `${w.id} back in the cluster` });
}

/** The time (ms since the epoch) of the first worker log line with this message, once there is one. */
function loggedAt(w: NsWorker, message: string): number | undefined {
  return entries(w).find((e) => e.msg === message)?.time;
}

test('a fenced worker whose broker answers slowly sends no produce request after its fence deadline; nothing is lost', { skip: unavailable, timeout: 300_000 }, async () => {
  const { leader, victim, owned } = await eventually(async () => {
    const l = await leaderOf(lab.workers[0]!);
    const where = await placement(l);
    const v = lab.workers.find((w) => w !== l && [...where.values()].includes(w.id));
    if (!v) throw new Error(`no follower owns a partition: ${[...where].map(([p, w]) => `${p}@${w}`).join(' ')}`);
    return { leader: l, victim: v, owned: [...where].filter(([, w]) => w === v.id).map(([p]) => p) };
  }, { timeoutMs: 90_000, intervalMs: 500, message: 'every partition RUNNING and a follower that owns some' });
  const others = lab.workers.filter((w) => w !== victim);

  const tap = lab.kafkaTap(victim);
  tap.responseDelayMs = RESPONSE_DELAY;
  const slowFrom = Date.now();
  await eventually(() => tap.produceRequests.filter((t) => t > slowFrom + RESPONSE_DELAY).length >= 2, { timeoutMs: 30_000, message: `${victim.id} keeps producing through the slow broker` });

  const cutAt = Date.now();
  lab.isolateControlPlane(victim);
  let fencedAt: number;
  try {
    fencedAt = await eventually((): number => {
      const at = loggedAt(victim, FENCE_MESSAGE);
      if (at === undefined) throw new Error('no fence logged yet');
      return at;
    }, { timeoutMs: 30_000, message: `${victim.id} fenced itself (log)` });
    // The observation window is the point of the test: a draining producer would send in it.
    await eventually(() => Date.now() >= fencedAt + WATCH, { timeoutMs: WATCH + 5_000, intervalMs: 200, message: 'the watch window passed' });
    await eventually(async () => {
      const where = await placement(leader);
      return owned.every((p) => others.some((w) => w.id === where.get(p)));
    }, { timeoutMs: 30_000, message: `${victim.id}'s partitions RUNNING on ${others.map((w) => w.id).join('+')}` });
  } finally {
    tap.responseDelayMs = 0;
    lab.rejoinControlPlane(victim);
  }
  const healedAt = Date.now();
  const beforeFence = tap.produceRequests.filter((t) => t >= cutAt && t <= fencedAt).length;
  const late = tap.produceRequests.filter((t) => t > fencedAt + TRANSIT_MARGIN && t < healedAt).map((t) => t - fencedAt);
  // Each task logs what it dropped unsent when it was stopped; the fence, what the producers still held.
  const dropped = entries(victim).filter((e) => e.time >= fencedAt && e.msg.startsWith('records dropped unsent')).reduce((n, e) => n + (e.dropped ?? e.droppedRecords ?? 0), 0);
  console.log(`# netns fence: ${victim.id} owned ${owned.length} partitions; fenced ${fencedAt - cutAt} ms after its control-plane cut; ${beforeFence} produce requests between cut and fence, ${late.length} later than ${TRANSIT_MARGIN} ms after it (watched ${WATCH} ms); ${dropped} records dropped unsent`);
  assert.ok(dropped > 0, 'sends were queued behind the slow broker when the fence came (else the test proves nothing)');
  assert.deepEqual(late, [], `produce requests from ${victim.id} after its fence (ms after the fence)`);

  await rejoined(leader, victim);
});

test('a worker cut off from etcd and the new leader, still reaching the old leader\'s address, fences itself: nothing produced after its partitions start elsewhere', { skip: unavailable, timeout: 300_000 }, async () => {
  const { leader: old, victim, owned } = await eventually(async () => {
    const l = await leaderOf(lab.workers[0]!);
    const where = await placement(l);
    const v = lab.workers.find((w) => w !== l && [...where.values()].includes(w.id));
    if (!v) throw new Error(`no follower owns a partition: ${[...where].map(([p, w]) => `${p}@${w}`).join(' ')}`);
    return { leader: l, victim: v, owned: [...where].filter(([, w]) => w === v.id).map(([p]) => p) };
  }, { timeoutMs: 90_000, intervalMs: 500, message: 'every partition RUNNING and a follower that owns some' });
  const successor = lab.workers.find((w) => w !== old && w !== victim)!;
  const tap = lab.kafkaTap(victim);
  const fencesBefore = entries(victim).filter((e) => e.msg === FENCE_MESSAGE).length;

  // The victim loses etcd and the third worker, but still reaches the leader's address: first
  // a closed port (the leader is killed), then a live worker there that is no longer the leader.
  const cutAt = Date.now();
  lab.isolateControlPlane(victim, { stillReaches: [old] });
  let fencedAt: number;
  let elsewhereAt: number;
  try {
    old.process!.kill('SIGKILL');
    await old.exit;
    await eventually(async () => (await leaderOf(successor)) === successor, { timeoutMs: 30_000, intervalMs: 200, message: `${successor.id} leads after ${old.id} was killed` });
    await lab.startWorker(old);
    await eventually(async () => {
      const { workers } = await lab.admin(successor).listWorkers({}, { timeoutMs: 2_000 });
      return workers.some((x) => x.id === old.id && x.connected);
    }, { timeoutMs: 60_000, message: `${old.id} back as a follower` });
    fencedAt = await eventually((): number => {
      const fences = entries(victim).filter((e) => e.msg === FENCE_MESSAGE);
      if (fences.length <= fencesBefore) throw new Error('no fence logged yet');
      return fences[fencesBefore]!.time;
    }, { timeoutMs: 30_000, message: `${victim.id} fenced itself (log)` });
    await eventually(async () => {
      const where = await placement(successor);
      return owned.every((p) => where.get(p) !== victim.id);
    }, { timeoutMs: 60_000, intervalMs: 200, message: `${victim.id}'s partitions RUNNING elsewhere` });
    elsewhereAt = Date.now();
    // The victim keeps reaching the old leader's address throughout this window.
    await eventually(() => Date.now() >= elsewhereAt + WATCH, { timeoutMs: WATCH + 5_000, intervalMs: 200, message: 'the watch window passed' });
  } finally {
    lab.rejoinControlPlane(victim);
  }
  const healedAt = Date.now();
  const late = tap.produceRequests.filter((t) => t > fencedAt + TRANSIT_MARGIN && t < healedAt).map((t) => t - fencedAt);
  console.log(`# netns fence, old leader reachable: ${victim.id} owned ${owned.length} partitions; ${old.id} killed and restarted, ${successor.id} leads; ${victim.id} fenced ${fencedAt - cutAt} ms after its cut, its partitions seen RUNNING elsewhere ${elsewhereAt - cutAt} ms after it; ${late.length} produce requests later than ${TRANSIT_MARGIN} ms after the fence`);
  assert.ok(fencedAt < elsewhereAt, 'fenced before its partitions ran elsewhere');
  assert.deepEqual(late, [], `produce requests from ${victim.id} after its fence (ms after the fence)`);
  await rejoined(successor, victim);
});

test('integrity: every seqno up to the committed offsets is in Kafka', { skip: unavailable, timeout: 300_000 }, async () => {
  const via = lab.workers[0]!;
  await lab.admin(via).stopConnector({ name: 'nf-source' });
  const offsets = await eventually(async () => {
    const { status } = await lab.admin(via).getConnectorStatus({ name: 'nf-source' }, { timeoutMs: 3_000 });
    if (!status!.partitions.every((p) => p.state === PartitionState.UNASSIGNED)) throw new Error('partitions still assigned');
    return (await lab.admin(via).getOffsets({ name: 'nf-source' }, { timeoutMs: 5_000 })).offsets;
  }, { timeoutMs: 30_000, message: 'the source stopped' });
  const final = new Map(offsets.map((o) => [o.partition, Number(o.text)]));
  const expected = [...final.values()].reduce((n, o) => n + o + 1, 0);
  const s = await services();
  const kafka = countSeqs([...(await readTopic(s.kafkaBootstrap.split(','), topic, expected)).values()].flat());
  let missing = 0;
  for (const [p, max] of final) {
    const c = kafka.get(p);
    missing += c ? c.missing.filter((x) => x <= max).length : max + 1;
  }
  console.log(`# netns fence integrity: ${expected} records over ${PARTITIONS} partitions; ${missing} missing`);
  assert.equal(missing, 0, 'nothing missing');
});
