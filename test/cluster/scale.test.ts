/**
 * Many connectors on a small cluster (issue 26), at a size CI affords: 30 verifiable-source
 * connectors × 2 stream partitions on 3 real worker processes, then a 4th worker joins. Asserts
 * zero false failure detections over the whole run (no self-fence, no leader change, no worker
 * declared dead, no membership lease lost), every partition RUNNING and balanced ±1, the joining
 * worker taking only its share while every partition that did not move keeps its epoch (it was
 * not restarted), and every record counted by seq: each partition committed its last seq, and the
 * partitions that moved have every seq in Kafka exactly once (a planned move is clean).
 * The full-size figures come from `npm run bench -- --scale` (docs/cluster.md, "Sizing").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { EmbeddedCluster, type AdminClient, type ClusterWorker } from '../support/cluster.js';
import { countSeqs, readTopic } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';

const CONNECTORS = 30;
const PARTITIONS = 2;
const RECORDS = 300;
const TOTAL = CONNECTORS * PARTITIONS;

/** Failure detections a healthy cluster must never log. */
const FALSE_DETECTIONS: Record<string, RegExp> = {
  selfFence: /"msg":"fencing myself/,
  declaredDead: /"msg":"worker declared dead/,
  leaseLost: /"msg":"membership lease lost/,
};

type Owners = Map<string, { worker: string; epoch: bigint; state: PartitionState }>;

async function allOwners(admin: AdminClient, names: string[]): Promise<Owners> {
  const out: Owners = new Map();
  for (const name of names) {
    const { status } = await admin.getConnectorStatus({ name }, { timeoutMs: 10_000 });
    for (const p of status!.partitions) out.set(`${name}/${p.partition}`, { worker: p.workerId, epoch: p.epoch, state: p.state });
  }
  return out;
}

function perWorker(owners: Owners): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of owners.values()) m.set(o.worker, (m.get(o.worker) ?? 0) + 1);
  return m;
}

async function balancedRunning(admin: AdminClient, names: string[], workers: ClusterWorker[]): Promise<Owners> {
  return eventually(async () => {
    const o = await allOwners(admin, names);
    const running = [...o.values()].filter((v) => v.state === PartitionState.RUNNING).length;
    const counts = workers.map((w) => perWorker(o).get(w.id) ?? 0);
    if (o.size !== TOTAL || running !== TOTAL) throw new Error(`${running}/${TOTAL} RUNNING (${counts.join('/')})`);
    if (Math.max(...counts) - Math.min(...counts) > 1) throw new Error(`not balanced: ${counts.join('/')}`);
    return o;
  }, { timeoutMs: 90_000, intervalMs: 500, message: `all ${TOTAL} partitions RUNNING, balanced ±1 over ${workers.length} workers` });
}

describe('many connectors on a small cluster', { timeout: 600_000 }, () => {
  const detections: string[] = [];
  const terms = new Set<string>();
  const cluster = new EmbeddedCluster({
    workers: 3,
    // Worker processes compile TypeScript on load; on a saturated 2-core machine that took ~110 s.
    startTimeoutMs: 240_000,
    onLogLine: (w, line) => {
      for (const [what, re] of Object.entries(FALSE_DETECTIONS)) if (re.test(line)) detections.push(`${w.id} ${what}: ${line.slice(0, 300)}`);
      if (line.includes('"msg":"elected leader"')) {
        const term = /"term":"?(\d+)/.exec(line)?.[1];
        if (term) terms.add(term);
      }
    },
  });
  const names = Array.from({ length: CONNECTORS }, (_, i) => `many-${String(i).padStart(2, '0')}`);
  before(async () => {
    await cluster.start();
    await cluster.leader();
  });
  after(async () => {
    await cluster.close();
  });

  test(`${CONNECTORS} connectors × ${PARTITIONS} partitions: all RUNNING and balanced with no false failure detection; a joining worker moves only its share`, async () => {
    const workers = cluster.live();
    let i = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (i < names.length) {
          const name = names[i++]!;
          await cluster.admin(workers[i % workers.length]).createConnector({
            name,
            config: { 'connector.class': 'verifiable-source', topic: `${cluster.name}-${name}`, partitions: String(PARTITIONS), 'records.per.second': '10', 'max.records': String(RECORDS), 'topic.creation.default.partitions': '1' },
          }, { timeoutMs: 30_000 });
        }
      }),
    );
    const admin = cluster.admin();
    const before = await balancedRunning(admin, names, workers);

    const joined = await cluster.addWorker();
    const all = [...workers, joined];
    const afterJoin = await balancedRunning(admin, names, all);
    const share = perWorker(afterJoin).get(joined.id) ?? 0;
    assert.ok(share >= Math.floor(TOTAL / 4) && share <= Math.ceil(TOTAL / 4), `the joined worker runs its share (${share} of ${TOTAL})`);
    const moved: string[] = [];
    for (const [key, was] of before) {
      const now = afterJoin.get(key)!;
      if (now.worker === was.worker) assert.equal(now.epoch, was.epoch, `${key} did not move, so it was not restarted (epoch ${was.epoch} → ${now.epoch})`);
      else {
        assert.equal(now.worker, joined.id, `${key} moved only to the new worker`);
        moved.push(key);
      }
    }
    assert.equal(moved.length, share, 'exactly the joined worker’s share moved');

    // Every partition commits its last seq; the moved ones have every seq in Kafka exactly once.
    await eventually(async () => {
      for (const name of names) {
        const { offsets } = await admin.getOffsets({ name }, { timeoutMs: 10_000 });
        if (offsets.length !== PARTITIONS || offsets.some((o) => o.text !== String(RECORDS - 1))) throw new Error(`${name}: ${offsets.map((o) => `${o.partition}=${o.text}`).join(' ')}`);
      }
      return true;
    }, { timeoutMs: 120_000, intervalMs: 1_000, message: `every partition committed seq ${RECORDS - 1}` });
    const movedConnectors = [...new Set(moved.map((k) => k.split('/')[0]!))].slice(0, 4);
    for (const name of movedConnectors) {
      const counts = countSeqs([...(await readTopic(cluster.kafkaBootstrap.split(','), `${cluster.name}-${name}`, PARTITIONS * RECORDS)).values()].flat());
      for (let p = 0; p < PARTITIONS; p++) {
        const c = counts.get(`p${p}`);
        assert.ok(c, `${name}/p${p} has records`);
        assert.deepEqual(c.missing, [], `${name}/p${p}: no missing seq`);
        assert.equal(c.max, RECORDS - 1, `${name}/p${p}: up to the last seq`);
        assert.equal(c.duplicates, 0, `${name}/p${p}: a planned move produces no duplicates`);
      }
    }

    assert.deepEqual(detections, [], 'no false failure detection');
    assert.equal(terms.size, 1, `one leader for the whole run (terms seen: ${[...terms].join(', ')})`);
    console.log(`# scale scenario: ${TOTAL} partitions on 3 workers, then 4: ${moved.length} moved to the joined worker, ${TOTAL - moved.length} untouched`);
  });
});
