/**
 * Failover figures of a 3-worker cluster (real worker processes, test/support/cluster.ts) with
 * the default session timeout, measured the way test/cluster/failover.test.ts measures them:
 * a verifiable source of 6 stream partitions at 500 records/s each, and the time from a kill -9
 * until the moved partitions' committed offsets move again on live workers (the Admin API is
 * polled every 100 ms; commits are flushed every 500 ms, which the figures include). Then a
 * kill -9 of the leader (a new leader answering; the leader's partitions producing again), and
 * a worker joining (time until its share runs on it).
 */
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { EmbeddedCluster, type AdminClient, type ClusterWorker } from '../support/cluster.js';
import { DEFAULT_SESSION_TIMEOUT_MS } from '../../src/worker/index.js';
import { eventually } from '../support/eventually.js';

export interface FailoverResult {
  sessionTimeoutMs: number;
  figures: Array<{ name: string; ms: number }>;
}

const SESSION_TIMEOUT_MS = DEFAULT_SESSION_TIMEOUT_MS;

async function owners(admin: AdminClient, name: string): Promise<Map<string, { worker: string; state: PartitionState }>> {
  const { status } = await admin.getConnectorStatus({ name }, { timeoutMs: 5_000 });
  return new Map(status!.partitions.map((p) => [p.partition, { worker: p.workerId, state: p.state }]));
}

async function committed(admin: AdminClient, name: string): Promise<Map<string, number>> {
  const { offsets } = await admin.getOffsets({ name }, { timeoutMs: 5_000 });
  return new Map(offsets.map((o) => [o.partition, Number(o.text)]));
}

async function allRunning(admin: AdminClient, name: string): Promise<Map<string, { worker: string; state: PartitionState }>> {
  return eventually(async () => {
    const o = await owners(admin, name);
    if (o.size !== 6 || [...o.values()].some((v) => v.state !== PartitionState.RUNNING)) throw new Error('not all running');
    return o;
  }, { timeoutMs: 30_000, intervalMs: 100, message: 'all 6 partitions RUNNING' });
}

/** ms from `killedAt` until every partition in `moved` runs off `victim` and committed > 50 past its offset at the kill. */
async function producingAgain(admin: () => AdminClient, name: string, victim: ClusterWorker, moved: string[], atKill: Map<string, number>, killedAt: number): Promise<number> {
  await eventually(async () => {
    const o = await owners(admin(), name);
    const now = await committed(admin(), name);
    return moved.every((p) => o.get(p)?.worker !== victim.id && o.get(p)?.state === PartitionState.RUNNING && (now.get(p) ?? -1) > (atKill.get(p) ?? -1) + 50);
  }, { timeoutMs: 30_000, intervalMs: 100, message: 'moved partitions producing again' });
  return Date.now() - killedAt;
}

export async function benchFailover(): Promise<FailoverResult> {
  const cluster = new EmbeddedCluster({ workers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS });
  const figures: FailoverResult['figures'] = [];
  try {
    await cluster.start();
    const name = 'bench-failover';
    await cluster.admin().createConnector({
      name,
      config: { 'connector.class': 'verifiable-source', topic: `${cluster.name}-failover`, partitions: '6', 'records.per.second': '500', 'topic.creation.default.partitions': '3' },
    });
    await allRunning(cluster.admin(), name);

    // kill -9 of a worker that is not the leader.
    let leader = await cluster.leader();
    let before = await allRunning(cluster.admin(leader), name);
    const victim = cluster.live().find((w) => w !== leader && [...before.values()].some((o) => o.worker === w.id))!;
    let moved = [...before].filter(([, o]) => o.worker === victim.id).map(([p]) => p);
    let atKill = await committed(cluster.admin(leader), name);
    let killedAt = Date.now();
    await cluster.kill(victim, 'SIGKILL');
    figures.push({ name: `kill -9 worker: its ${moved.length} partitions producing again`, ms: await producingAgain(() => cluster.admin(leader), name, victim, moved, atKill, killedAt) });

    // A worker joins: time until it runs its share.
    const joinedAt = Date.now();
    await cluster.startWorker(victim);
    await eventually(async () => [...(await owners(cluster.admin(leader), name)).values()].filter((o) => o.worker === victim.id && o.state === PartitionState.RUNNING).length === 2, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'the joined worker running its share',
    });
    figures.push({ name: 'a worker joins: process start to its 2 partitions RUNNING', ms: Date.now() - joinedAt });

    // kill -9 of the leader.
    leader = await cluster.leader();
    const survivor = cluster.live().find((w) => w !== leader)!;
    before = await allRunning(cluster.admin(survivor), name);
    moved = [...before].filter(([, o]) => o.worker === leader.id).map(([p]) => p);
    atKill = await committed(cluster.admin(survivor), name);
    killedAt = Date.now();
    await cluster.kill(leader, 'SIGKILL');
    await eventually(async () => {
      const c = await cluster.admin(survivor).getCluster({}, { timeoutMs: 1_000 });
      if (!c.leaderId || c.leaderId === leader.id) throw new Error(`leader still ${c.leaderId}`);
      return c;
    }, { timeoutMs: 15_000, intervalMs: 50, message: 'a new leader' });
    figures.push({ name: 'kill -9 leader: a new leader answering', ms: Date.now() - killedAt });
    figures.push({ name: `kill -9 leader: its ${moved.length} partitions producing again`, ms: await producingAgain(() => cluster.admin(survivor), name, leader, moved, atKill, killedAt) });
    return { sessionTimeoutMs: SESSION_TIMEOUT_MS, figures };
  } finally {
    await cluster.close();
  }
}
