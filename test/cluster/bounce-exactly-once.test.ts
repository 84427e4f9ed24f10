/**
 * The bounce test in exactly-once mode (Kafka Connect's own system test promises the same):
 * three workers run an exactly-once verifiable source while workers are SIGKILLed — the leader
 * first, then the others, the last round with no pause between kills. A read_committed reader
 * then finds every sequence number of every stream partition exactly once: zero missing, zero
 * duplicates, even though hard kills leave transactions open and offsets unreported.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { committedSeqs, EmbeddedCluster, everyPartitionRunning, type AdminClient, type ClusterWorker } from '../support/cluster.js';
import { countSeqs, readCommittedTopic } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';

const PARTITIONS = 4;
const NAME = 'eos-bounce-source';
let cluster: EmbeddedCluster;

before(async () => {
  cluster = new EmbeddedCluster({ workers: 3 });
  await cluster.start();
});
after(async () => {
  await cluster.close();
});

const everythingRunning = (admin: () => AdminClient) => everyPartitionRunning(admin, [NAME], { partitions: PARTITIONS });

const sourceOffsets = (admin: AdminClient) => committedSeqs(admin, NAME);

test('exactly-once bounce: SIGKILL of every worker, the leader first, one round without pause; read_committed sees zero missing and zero duplicates', { timeout: 600_000 }, async () => {
  const topic = `${cluster.name}-eos-bounce`;
  const admin = () => cluster.admin();
  await admin().createConnector({
    name: NAME,
    config: { 'connector.class': 'verifiable-source', topic, partitions: String(PARTITIONS), 'records.per.second': '200', 'delivery.guarantee': 'exactly-once', 'topic.creation.default.partitions': '2' },
  });
  await everythingRunning(admin);

  const started = Date.now();
  const hardBounce = async (w: ClusterWorker, pause: boolean) => {
    console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s: SIGKILL ${w.id}${pause ? '' : ' (no pause)'}`);
    const before = await sourceOffsets(admin());
    await cluster.kill(w, 'SIGKILL');
    if (pause) await everythingRunning(admin);
    await cluster.startWorker(w);
    if (pause) {
      await eventually(async () => {
        const now = await sourceOffsets(admin());
        return [...before].every(([p, o]) => (now.get(p) ?? -1) > o);
      }, { timeoutMs: 30_000, message: 'every partition committed during the round' });
    }
  };
  const leader = await cluster.leader();
  await hardBounce(leader, true);
  const others = cluster.workers.filter((w) => w !== leader);
  await hardBounce(others[0]!, true);
  // No pause: each worker killed and started again right away, the leader among them.
  for (const w of [...cluster.workers]) await hardBounce(w, false);
  await everythingRunning(admin);
  const settled = await sourceOffsets(admin());
  await eventually(async () => {
    const now = await sourceOffsets(admin());
    return [...settled].every(([p, o]) => (now.get(p) ?? -1) > o);
  }, { timeoutMs: 30_000, message: 'every partition commits after the last round' });

  await admin().stopConnector({ name: NAME });
  await eventually(async () => (await admin().getConnectorStatus({ name: NAME })).status!.partitions.every((p) => p.state === PartitionState.UNASSIGNED), { timeoutMs: 30_000 });
  const final = await sourceOffsets(admin());
  const counts = countSeqs(await readCommittedTopic(cluster.kafkaBootstrap.split(','), topic));
  assert.equal(counts.size, PARTITIONS);
  let total = 0;
  for (const [p, last] of final) {
    const c = counts.get(p)!;
    assert.deepEqual(c.missing, [], `${p}: nothing missing`);
    assert.deepEqual(c.repeated, [], `${p}: no duplicates`);
    assert.equal(c.max, last, `${p}: read_committed ends at the committed offset`);
    total += c.seen.length;
  }
  console.log(`# exactly-once bounce: ${total} records over ${PARTITIONS} partitions, ${cluster.workers.length + 2} SIGKILLs (leader included), 0 missing, 0 duplicates`);
});
