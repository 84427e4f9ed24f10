/**
 * Invariant 1 under a network cut: a worker cut off from the leader (a TCP proxy that stops
 * moving bytes, so no socket closes) stops its own tasks strictly before the leader gives its
 * partitions to another worker. Two WorkerNodes in this process share one memory coordinator;
 * the follower reaches the leader only through the proxy. Kafka is the real broker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend, type CoordinatorBackend, type WorkerInfo } from '../../src/coordinator/index.js';
import { registerBuiltinConnectors } from '../../src/connectors/index.js';
import { PluginHost } from '../../src/plugins/index.js';
import { TaskState, WorkerNode } from '../../src/worker/index.js';
import { eventually } from '../support/eventually.js';
import { quietLogger, uniqueName } from '../support/data-plane.js';
import { services } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** One shared backend seen through a node's eyes: its own stop() is a no-op, leader addresses may be rewritten. */
function view(shared: CoordinatorBackend, rewrite: (leader: WorkerInfo) => WorkerInfo = (l) => l): CoordinatorBackend {
  return {
    kind: shared.kind,
    start: () => shared.start(),
    stop: async () => {},
    campaign: (self, signal) => shared.campaign(self, signal),
    leader: async () => {
      const l = await shared.leader();
      return l && rewrite(l);
    },
    watchLeader: (listener) => shared.watchLeader((l) => listener(l && rewrite(l))),
    register: (self) => shared.register(self),
    members: () => shared.members(),
    watchMembers: (listener) => shared.watchMembers(listener),
    snapshot: () => shared.snapshot(),
  };
}

const SESSION_TIMEOUT = 3_000;
const HEARTBEAT = 500;
let shared: MemoryBackend;
let leaderNode: WorkerNode;
let followerNode: WorkerNode;
let proxy: TcpProxy;

before(async () => {
  const { kafkaBootstrap } = await services();
  shared = new MemoryBackend({ logger: quietLogger });
  await shared.start();
  const plugins = () => {
    const host = new PluginHost({ logger: quietLogger });
    registerBuiltinConnectors(host);
    return host;
  };
  const common = { kafka: { brokers: kafkaBootstrap.split(',') }, sessionTimeoutMs: SESSION_TIMEOUT, heartbeatIntervalMs: HEARTBEAT, offsetFlushIntervalMs: 200, logger: quietLogger };
  leaderNode = new WorkerNode({ ...common, id: 'leader', listen: '127.0.0.1:0', backend: view(shared), plugins: plugins() });
  await leaderNode.start();
  await eventually(() => leaderNode.leader !== undefined, { message: 'first node leads' });
  const [host, port] = leaderNode.self.address.split(':');
  proxy = new TcpProxy({ host: host!, port: Number(port) });
  const proxied = await proxy.start();
  followerNode = new WorkerNode({ ...common, id: 'follower', listen: '127.0.0.1:0', backend: view(shared, (l) => (l.id === 'leader' ? { ...l, address: proxied } : l)), plugins: plugins() });
  await followerNode.start();
});

after(async () => {
  proxy.resume();
  await followerNode.stop(5_000);
  await leaderNode.stop(5_000);
  await proxy.stop();
  await shared.stop();
});

test('a worker cut off from the leader fences itself before its partitions move; never two owners', async () => {
  const leader = leaderNode.leader!;
  const topic = uniqueName('fence');
  await leader.putConnector({ name: 'fence', config: { 'connector.class': 'verifiable-source', topic, partitions: '4', 'records.per.second': '200', 'topic.creation.default.partitions': '1' }, targetState: 'RUNNING' });
  await eventually(() => followerNode.membership!.partitions().length === 2 && leaderNode.membership!.partitions().length === 2, { timeoutMs: 20_000, message: 'two partitions on each worker' });
  const followerHad = new Set(followerNode.membership!.partitions().map((p) => p.partition));

  let fencedAt: number | undefined;
  let movedAt: number | undefined;
  let overlaps = 0;
  const cutAt = Date.now();
  proxy.suspend();
  await eventually(() => {
    const now = Date.now();
    const onFollower = new Set(followerNode.membership!.partitions().map((p) => p.partition));
    const takenByLeader = leader.ownersOf('fence').filter((o) => o.workerId === 'leader' && followerHad.has(o.partition.id)).map((o) => o.partition.id);
    if (fencedAt === undefined && onFollower.size === 0) fencedAt = now;
    if (movedAt === undefined && takenByLeader.length > 0) movedAt = now;
    if (takenByLeader.some((p) => onFollower.has(p))) overlaps++;
    return fencedAt !== undefined && movedAt !== undefined && takenByLeader.length === followerHad.size;
  }, { timeoutMs: 20_000, intervalMs: 10, message: 'the follower fenced itself and its partitions moved' });
  console.log(`# network cut: follower fenced itself after ${fencedAt! - cutAt} ms, the leader reassigned after ${movedAt! - cutAt} ms (session timeout ${SESSION_TIMEOUT} ms)`);
  assert.equal(overlaps, 0, 'no partition ever had two owners');
  assert.ok(fencedAt! < movedAt!, 'the follower stopped its tasks before the leader moved them');
  assert.ok(followerNode.membership!.partitions().length === 0);
  assert.equal(followerNode.health.status().serving, false, 'health is NOT_SERVING while fenced');
  assert.match(followerNode.health.status().reason, /fenced/);

  // The link heals: the follower rejoins and gets its share back, from the committed offsets.
  proxy.resume();
  await eventually(() => followerNode.membership!.partitions().length === 2, { timeoutMs: 30_000, message: 'the follower rejoined and got its share back' });
  assert.equal(followerNode.health.status().serving, true, 'SERVING again after the rejoin');
});

test('a worker that fenced itself while the leader still hears it has its partitions running again within a session timeout', async () => {
  const leader = leaderNode.leader!;
  const nodes = new Map([['leader', leaderNode], ['follower', followerNode]]);
  const runningEverywhere = () => {
    const owners = leader.ownersOf('fence');
    return owners.length === 4 && owners.every((o) => {
      const node = nodes.get(o.workerId)!;
      const here = node.membership!.partitions().some((p) => p.partition === o.partition.id && p.epoch === o.epoch);
      return here && node.worker.connector('fence')?.task(o.partition.id)?.status().state === TaskState.RUNNING;
    });
  };
  await eventually(runningEverywhere, { timeoutMs: 20_000, message: 'every partition running on its owner' });
  // A stall shorter than the session timeout but longer than the fence margin: the follower fences
  // itself, then the leader hears it again before it would have declared it dead.
  proxy.suspend();
  await eventually(() => followerNode.membership!.partitions().length === 0, { timeoutMs: 10_000, intervalMs: 10, message: 'the follower fenced itself' });
  proxy.resume();
  const resumedAt = Date.now();
  await eventually(runningEverywhere, { timeoutMs: SESSION_TIMEOUT, intervalMs: 20, message: 'every partition running again within a session timeout of the fence' });
  console.log(`# stall: every partition running again ${Date.now() - resumedAt} ms after the link came back`);
});
