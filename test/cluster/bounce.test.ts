/**
 * The bounce test (TESTING.md): three workers run a verifiable source and a verifiable sink
 * steadily while workers are stopped and started in rounds — clean (SIGTERM) and hard
 * (SIGKILL), every worker in turn, one round without pauses, the leader among them. At the
 * end nothing is missing anywhere, clean rounds added no duplicate, the sink never got ahead of
 * the source, and every partition kept producing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { readVerifiableSinkFile } from '../../src/connectors/verifiable-sink/index.js';
import { committedSeqs, EmbeddedCluster, everyPartitionRunning, type AdminClient, type ClusterWorker } from '../support/cluster.js';
import { countSeqs, readTopic } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';

const PARTITIONS = 6;
let cluster: EmbeddedCluster;
const dir = mkdtempSync(join(tmpdir(), 'tributary-bounce-'));

// Fences and lost leaderships nobody injected (a starved event loop on a loaded machine): their
// repeats are at-least-once's, not a clean move's, and are reported apart.
const unplannedFences: string[] = [];
before(async () => {
  cluster = new EmbeddedCluster({
    workers: 3,
    onLogLine: (w, line) => {
      if (/fencing myself|leadership lost/.test(line)) unplannedFences.push(`${w.id}: ${line.slice(0, 200)}`);
    },
  });
  await cluster.start();
});
after(async () => {
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
});

const sourceOffsets = (admin: AdminClient) => committedSeqs(admin, 'bounce-source');

test('bounce: clean and hard restarts of every worker, the leader included; nothing lost', { timeout: 600_000 }, async () => {
  const topic = `${cluster.name}-bounce`;
  const sinkFile = join(dir, 'sink.jsonl');
  const anyAdmin = () => cluster.admin();
  await anyAdmin().createConnector({ name: 'bounce-source', config: { 'connector.class': 'verifiable-source', topic, partitions: String(PARTITIONS), 'records.per.second': '300', 'topic.creation.default.partitions': '3' } });
  await eventually(async () => (await anyAdmin().getConnectorStatus({ name: 'bounce-source' })).status!.partitions.length === PARTITIONS, { timeoutMs: 20_000 });
  await anyAdmin().createConnector({ name: 'bounce-sink', config: { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': sinkFile } });
  await everyPartitionRunning(anyAdmin, ['bounce-source', 'bounce-sink']);

  // Per hard kill and partition: the offset persisted before the kill, and one committed after
  // the partition produced again. A hard kill may repeat only seqs inside such a window (sent
  // but not yet committed when the worker died); any other repeat is a clean-move duplicate.
  const hardWindows: Array<{ worker: string; before: Map<string, number>; after: Map<string, number> }> = [];
  const bounce = async (w: ClusterWorker, signal: NodeJS.Signals, pause: boolean) => {
    // A hard kill's window opens at what etcd holds: killing the leader loses the offsets it
    // had been told but not yet persisted, and its successor starts from etcd's.
    const before = signal === 'SIGKILL' ? await cluster.durableSeqs('bounce-source') : await sourceOffsets(anyAdmin());
    const code = await cluster.kill(w, signal);
    if (signal === 'SIGTERM') assert.equal(code, 0, `${w.id} drained and exited 0 on SIGTERM`);
    if (pause) await everyPartitionRunning(anyAdmin, ['bounce-source', 'bounce-sink']);
    await cluster.startWorker(w);
    if (pause) {
      // Every partition keeps producing through the round.
      const after = await eventually<Map<string, number> | undefined>(async () => {
        const now = await sourceOffsets(anyAdmin());
        return [...before].every(([p, o]) => (now.get(p) ?? -1) > o) ? now : undefined;
      }, { timeoutMs: 30_000, message: 'every source partition produced during the round' });
      if (signal === 'SIGKILL') hardWindows.push({ worker: w.id, before, after: after! });
    }
  };
  const outsideHardWindows = (counts: ReturnType<typeof countSeqs>): string[] => {
    const stray: string[] = [];
    for (const [p, c] of counts) {
      for (const seq of c.repeated) {
        const explained = hardWindows.some((k) => seq > (k.before.get(p) ?? -1) && seq <= (k.after.get(p) ?? -1));
        if (!explained) stray.push(`${p}#${seq}`);
      }
    }
    return stray;
  };

  // Round 1: clean, each worker in turn.
  for (const w of [...cluster.workers]) await bounce(w, 'SIGTERM', true);
  const soFar = [...(await sourceOffsets(anyAdmin())).values()].reduce((n, o) => n + o + 1, 0);
  const afterClean = countSeqs([...(await readTopic(cluster.kafkaBootstrap.split(','), topic, soFar)).values()].flat());
  const cleanDuplicates = [...afterClean.values()].reduce((n, c) => n + c.duplicates, 0);
  const repeatedAt = [...afterClean].filter(([, c]) => c.duplicates > 0).map(([p, c]) => `${p}: seqs ${c.repeated.slice(0, 10).join(',')}`);
  if (unplannedFences.length === 0) assert.equal(cleanDuplicates, 0, `clean bounces repeat nothing (repeated: ${repeatedAt.join('; ')})\n${cluster.logs()}`);
  // Round 2: hard, the leader first.
  const leader = await cluster.leader();
  await bounce(leader, 'SIGKILL', true);
  for (const w of cluster.workers.filter((x) => x !== leader)) await bounce(w, 'SIGKILL', true);
  // Round 3: clean, no pause between bounces.
  for (const w of [...cluster.workers]) await bounce(w, 'SIGTERM', false);
  await everyPartitionRunning(anyAdmin, ['bounce-source', 'bounce-sink']);

  // Stop cleanly and count.
  await anyAdmin().stopConnector({ name: 'bounce-source' });
  await eventually(async () => (await anyAdmin().getConnectorStatus({ name: 'bounce-source' })).status!.partitions.every((p) => p.state === PartitionState.UNASSIGNED), { timeoutMs: 30_000 });
  const final = await sourceOffsets(anyAdmin());
  const expected = [...final.values()].reduce((n, o) => n + o + 1, 0);
  const kafka = countSeqs([...(await readTopic(cluster.kafkaBootstrap.split(','), topic, expected)).values()].flat());
  for (const [p, max] of final) assert.deepEqual(kafka.get(p)?.missing.filter((s) => s <= max), [], `partition ${p}: nothing missing in Kafka`);
  await eventually(async () => {
    const { records } = await readVerifiableSinkFile(sinkFile);
    const sink = countSeqs(records.map((r) => ({ value: Buffer.from(JSON.stringify({ partition: r.source, seq: r.seq })) })));
    return [...final].every(([p, max]) => sink.get(p) && sink.get(p)!.missing.length === 0 && sink.get(p)!.max >= max);
  }, { timeoutMs: 60_000, message: 'the sink caught up with nothing missing' });
  const { records } = await readVerifiableSinkFile(sinkFile);
  const sink = countSeqs(records.map((r) => ({ value: Buffer.from(JSON.stringify({ partition: r.source, seq: r.seq })) })));
  for (const [p, c] of sink) assert.ok(c.max <= (kafka.get(p)?.max ?? -1) && c.max <= final.get(p)!, `partition ${p}: the sink (max ${c.max}) is not ahead of the source (max ${kafka.get(p)?.max} in Kafka, ${final.get(p)} committed)`);
  const kafkaDuplicates = [...kafka.values()].reduce((n, c) => n + c.duplicates, 0);
  // Round 3 was clean: together with round 1's check, every repeat must come from a hard kill.
  const stray = outsideHardWindows(kafka);
  if (unplannedFences.length === 0) {
    assert.deepEqual(stray.slice(0, 20), [], `repeats outside the hard kills' uncommitted windows (clean moves must repeat nothing): ${stray.length}\n${cluster.logs()}`);
  } else {
    console.log(`# bounce: ${unplannedFences.length} fences or lost leaderships nobody injected (machine overloaded); ${stray.length} repeats outside the hard kills' windows are theirs:\n# ${unplannedFences.slice(0, 5).join('\n# ')}`);
  }
  console.log(`# bounce: ${expected} records over ${PARTITIONS} partitions, ${hardWindows.length} hard kills; duplicates in Kafka ${kafkaDuplicates}, all inside a hard kill's uncommitted window; sink lines ${records.length}`);
});
