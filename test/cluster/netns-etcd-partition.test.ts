/**
 * etcd partitioned across network namespaces: three namespaces, each with one member of a
 * 3-member etcd and one worker that talks only to its own member (test/support/netns.ts). etcd's
 * peer traffic runs on a bridge of its own; taking the leader's peer link down leaves the
 * leader's member alone without quorum while Kafka and the workers' gRPC still flow. Asserted:
 * the majority side elects a new leader, every partition runs and keeps producing, every worker
 * is back after the heal, and (counted by sequence number) nothing is missing. Whether every
 * partition runs again after the heal is printed (a known open problem, see the comment below).
 * Where namespaces cannot be created (not root, no `ip`), the test says why and skips.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { countSeqs, readTopic } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { services } from '../support/services.js';
import { NetnsLab, netnsUnavailable, type NsWorker } from '../support/netns.js';

const PARTITIONS = 6;
const unavailable = netnsUnavailable();
if (unavailable) console.log(`# etcd partition test skipped: ${unavailable}`);
let lab: NetnsLab;
const dir = mkdtempSync(join(tmpdir(), 'tributary-etcd-partition-'));
const topic = `etcdpart-${Date.now().toString(36)}`;

before(async () => {
  if (unavailable) return;
  const s = await services();
  lab = new NetnsLab({ kafkaBootstrap: s.kafkaBootstrap, etcdEndpoints: s.etcdEndpoints });
  await lab.start();
  await lab.startEtcd(3, dir);
  for (let i = 0; i < 3; i++) await lab.addWorker();
});
after(async () => {
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = <T>(what: string, fn: () => Promise<T>) => eventually(fn, { timeoutMs: 60_000, intervalMs: 500, message: what });

async function runningEverywhere(via: NsWorker): Promise<void> {
  await eventually(async () => {
    const { status } = await lab.admin(via).getConnectorStatus({ name: 'ep-source' }, { timeoutMs: 3_000 });
    const parts = status!.partitions;
    if (parts.length !== PARTITIONS || parts.some((p) => p.state !== PartitionState.RUNNING)) throw new Error(parts.map((p) => `${p.partition}=${PartitionState[p.state]}@${p.workerId}`).join(' '));
    return true;
  }, { timeoutMs: 60_000, intervalMs: 200, message: 'every partition RUNNING' });
}

const committed = (via: NsWorker) => call(`offsets from ${via.id}`, async () => new Map((await lab.admin(via).getOffsets({ name: 'ep-source' }, { timeoutMs: 5_000 })).offsets.map((o) => [o.partition, Number(o.text)])));
const leaderId = (via: NsWorker) => call(`the leader, from ${via.id}`, async () => {
  const c = await lab.admin(via).getCluster({}, { timeoutMs: 2_000 });
  if (!c.leaderId) throw new Error('no leader');
  return c.leaderId;
});

test("partition etcd's members: the leader's side loses quorum, the majority elects a new leader, records keep flowing", { skip: unavailable, timeout: 400_000 }, async () => {
  const first = lab.workers[0]!;
  await lab.admin(first).createConnector({ name: 'ep-source', config: { 'connector.class': 'verifiable-source', topic, partitions: String(PARTITIONS), 'records.per.second': '100', 'topic.creation.default.partitions': '3' } });
  await runningEverywhere(first);
  const oldId = await leaderId(first);
  const leader = lab.workers.find((w) => w.id === oldId)!;
  const majority = lab.workers.filter((w) => w !== leader);
  const via = majority[0]!;
  const before = await committed(via);
  const cutAt = Date.now();
  lab.cutEtcdPeers(leader);
  const next = await eventually(async () => {
    const id = await leaderId(via);
    if (id === oldId) throw new Error(`${oldId} still leader`);
    return id;
  }, { timeoutMs: 60_000, message: 'a leader on the majority side' });
  const electedMs = Date.now() - cutAt;
  await runningEverywhere(via);
  await eventually(async () => {
    const now = await committed(via);
    return [...before].every(([p, o]) => (now.get(p) ?? -1) > o);
  }, { timeoutMs: 60_000, message: 'every partition produced while etcd was partitioned' });
  lab.healEtcdPeers(leader);
  await eventually(async () => {
    const { workers } = await lab.admin(via).listWorkers({}, { timeoutMs: 2_000 });
    return lab.workers.every((w) => workers.some((x) => x.id === w.id && x.connected));
  }, { timeoutMs: 90_000, message: `every worker in the cluster after the heal` });
  // Known open problem (issue 25): after the heal a partition can stay STOPPED on the old
  // leader's side. Reported as a figure until it is fixed, not asserted.
  const converged = await runningEverywhere(via).then(() => 'every partition RUNNING again', (err: Error) => `NOT every partition RUNNING 60 s after the heal (${err.message.slice(err.message.indexOf(':') + 2)})`);
  assert.notEqual(next, oldId);

  await lab.admin(via).stopConnector({ name: 'ep-source' });
  await eventually(async () => (await lab.admin(via).getConnectorStatus({ name: 'ep-source' }, { timeoutMs: 3_000 })).status!.partitions.every((p) => p.state === PartitionState.UNASSIGNED), { timeoutMs: 30_000, message: 'the source stopped' });
  const final = await committed(via);
  const expected = [...final.values()].reduce((n, o) => n + o + 1, 0);
  const s = await services();
  const kafka = countSeqs([...(await readTopic(s.kafkaBootstrap.split(','), topic, expected)).values()].flat());
  let missing = 0;
  let duplicates = 0;
  for (const [p, max] of final) {
    const c = kafka.get(p);
    missing += c ? c.missing.filter((x) => x <= max).length : max + 1;
    duplicates += c?.duplicates ?? 0;
  }
  console.log(`# netns etcd partition: ${oldId}'s etcd member cut off from its peers; ${next} leader after ${electedMs} ms; every partition RUNNING and producing on the majority side; after the heal: ${converged}; ${expected} records over ${PARTITIONS} partitions, ${missing} missing, ${duplicates} duplicates`);
  assert.equal(missing, 0, 'nothing missing');
});
