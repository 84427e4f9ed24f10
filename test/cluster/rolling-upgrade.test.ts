/**
 * A rolling upgrade (docs/deployment.md): three workers run a verifiable source and a verifiable
 * sink; each worker in turn gets SIGTERM (it drains: every partition is handed over), is started
 * again (the "new version") and serves before the next one goes. Throughout, a watcher samples
 * every partition's state through the workers that are not being restarted.
 *
 * Asserted: zero missing and zero duplicates, in Kafka and in the sink; every worker exits 0;
 * every partition keeps producing; and no partition is paused longer than one clean move: each
 * stretch of time in which a partition was not RUNNING ends with it RUNNING on a worker (it
 * never stays stopped across a second handover, and never waits for the restarted worker).
 * The longest pause is printed as a figure, not asserted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { readVerifiableSinkFile } from '../../src/connectors/verifiable-sink/index.js';
import { EmbeddedCluster, type ClusterWorker } from '../support/cluster.js';
import { countSeqs, readTopic } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';

const PARTITIONS = 6;
let cluster: EmbeddedCluster;
const dir = mkdtempSync(join(tmpdir(), 'tributary-rolling-'));

before(async () => {
  cluster = new EmbeddedCluster({ workers: 3 });
  await cluster.start();
});
after(async () => {
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Pause { connector: string; partition: string; from: string; to: string | undefined; ms: number; during: string }

test('rolling upgrade: every worker restarted in turn with SIGTERM; no record lost or repeated, no partition paused beyond one move', { timeout: 600_000 }, async () => {
  const topic = `${cluster.name}-rolling`;
  const sinkFile = join(dir, 'sink.jsonl');
  const names = ['rolling-source', 'rolling-sink'];
  const admin = () => cluster.admin();
  await admin().createConnector({ name: 'rolling-source', config: { 'connector.class': 'verifiable-source', topic, partitions: String(PARTITIONS), 'records.per.second': '200', 'topic.creation.default.partitions': '3' } });
  await eventually(async () => (await admin().getConnectorStatus({ name: 'rolling-source' })).status!.partitions.length === PARTITIONS, { timeoutMs: 20_000 });
  await admin().createConnector({ name: 'rolling-sink', config: { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': sinkFile } });
  // Admin calls go to the live workers other than the one being restarted, the first that answers.
  let restarting: ClusterWorker | undefined;
  const status = async (name: string) => {
    let last: unknown;
    for (const w of cluster.live().filter((x) => x !== restarting)) {
      try {
        return (await cluster.admin(w).getConnectorStatus({ name }, { timeoutMs: 3_000 })).status!;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
  const allRunning = async () => {
    for (const name of names) {
      const s = await status(name);
      if (s.partitions.length === 0 || s.partitions.some((p) => p.state !== PartitionState.RUNNING)) return false;
    }
    return true;
  };
  await eventually(allRunning, { timeoutMs: 40_000, intervalMs: 200, message: 'every partition RUNNING' });
  /** Every partition RUNNING, and each live worker holds its share of them (at least total/workers, rounded down). */
  const settled = async () => {
    const perWorker = new Map(cluster.live().map((w) => [w.id, 0]));
    let total = 0;
    for (const name of names) {
      const s = await status(name);
      if (s.partitions.length === 0 || s.partitions.some((p) => p.state !== PartitionState.RUNNING)) return false;
      for (const p of s.partitions) perWorker.set(p.workerId, (perWorker.get(p.workerId) ?? 0) + 1);
      total += s.partitions.length;
    }
    return [...perWorker.values()].every((n) => n >= Math.floor(total / perWorker.size));
  };

  // The watcher: samples both connectors' partitions every 100 ms.
  let during = 'start';
  let watching = true;
  const pauses: Pause[] = [];
  const open = new Map<string, { from: string; since: number; during: string }>();
  const lastOwner = new Map<string, string>();
  let rounds = 0;
  const watcher = (async () => {
    for (; watching; rounds++) {
      const at = Date.now();
      for (const name of names) {
        const sampled = await status(name).catch(() => undefined);
        for (const p of sampled?.partitions ?? []) {
          const key = `${name}/${p.partition}`;
          const paused = open.get(key);
          if (p.state === PartitionState.RUNNING) {
            if (paused) {
              pauses.push({ connector: name, partition: p.partition, from: paused.from, to: p.workerId, ms: at - paused.since, during: paused.during });
              open.delete(key);
            }
            lastOwner.set(key, p.workerId);
          } else if (!paused) {
            open.set(key, { from: lastOwner.get(key) ?? '?', since: at, during });
          }
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const offsets = async () => {
    let last: unknown;
    for (const w of cluster.live().filter((x) => x !== restarting)) {
      try {
        return new Map((await cluster.admin(w).getOffsets({ name: 'rolling-source' }, { timeoutMs: 3_000 })).offsets.map((o) => [o.partition, Number(o.text)]));
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
  try {
    for (const w of [...cluster.workers]) {
      restarting = w;
      during = `restart of ${w.id}`;
      const before = await offsets();
      const code = await cluster.kill(w, 'SIGTERM');
      assert.equal(code, 0, `${w.id} drained and exited 0 on SIGTERM:\n${w.log.slice(-10).join('\n')}`);
      await cluster.startWorker(w);
      // Settled: every partition RUNNING and the restarted worker has taken back its share (the
      // second move of a restart: to the worker that rejoined).
      await eventually(settled, { timeoutMs: 60_000, intervalMs: 200, message: `every partition RUNNING and balanced after the restart of ${w.id}` });
      await eventually(async () => {
        const now = await offsets();
        return [...before].every(([p, o]) => (now.get(p) ?? -1) > o);
      }, { timeoutMs: 30_000, message: `every source partition produced across the restart of ${w.id}` });
      // A partition still paused now would be paused across a second move. The watcher's view
      // is compared once it has sampled everything again, after the cluster settled.
      const settledAt = rounds;
      await eventually(() => rounds >= settledAt + 2, { timeoutMs: 30_000, message: 'the watcher sampled the settled cluster' });
      assert.deepEqual([...open.keys()], [], `partitions still not RUNNING after the restart of ${w.id}`);
    }
  } finally {
    watching = false;
    await watcher;
  }
  restarting = undefined;

  await admin().stopConnector({ name: 'rolling-source' });
  await eventually(async () => (await admin().getConnectorStatus({ name: 'rolling-source' })).status!.partitions.every((p) => p.state === PartitionState.UNASSIGNED), { timeoutMs: 30_000 });
  const final = await offsets();
  const expected = [...final.values()].reduce((n, o) => n + o + 1, 0);
  const kafka = countSeqs([...(await readTopic(cluster.kafkaBootstrap.split(','), topic, expected)).values()].flat());
  let kafkaMissing = 0;
  for (const [p, max] of final) kafkaMissing += kafka.get(p)?.missing.filter((s) => s <= max).length ?? max + 1;
  const kafkaDuplicates = [...kafka.values()].reduce((n, c) => n + c.duplicates, 0);
  await eventually(async () => {
    const { records } = await readVerifiableSinkFile(sinkFile);
    const sink = countSeqs(records.map((r) => ({ value: Buffer.from(JSON.stringify({ partition: r.source, seq: r.seq })) })));
    return [...final].every(([p, max]) => (sink.get(p)?.max ?? -1) >= max);
  }, { timeoutMs: 60_000, message: 'the sink caught up with the source' });
  const { records } = await readVerifiableSinkFile(sinkFile);
  const sink = countSeqs(records.map((r) => ({ value: Buffer.from(JSON.stringify({ partition: r.source, seq: r.seq })) })));
  const sinkMissing = [...sink.values()].reduce((n, c) => n + c.missing.length, 0);
  const sinkDuplicates = [...sink.values()].reduce((n, c) => n + c.duplicates, 0);
  const longest = pauses.reduce<Pause | undefined>((a, b) => (!a || b.ms > a.ms ? b : a), undefined);
  console.log(`# rolling upgrade: ${cluster.workers.length} workers restarted with SIGTERM; ${expected} records over ${PARTITIONS} partitions; Kafka: ${kafkaMissing} missing, ${kafkaDuplicates} duplicates; sink: ${records.length} records, ${sinkMissing} missing, ${sinkDuplicates} duplicates; ${pauses.length} partition pauses, longest ${longest ? `${longest.ms} ms (${longest.connector}/${longest.partition} ${longest.from} -> ${longest.to}, ${longest.during})` : 'none'}`);
  assert.equal(kafkaMissing, 0, 'nothing missing in Kafka');
  assert.equal(kafkaDuplicates, 0, 'clean restarts repeat nothing in Kafka');
  assert.equal(sinkMissing, 0, 'nothing missing in the sink');
  assert.equal(sinkDuplicates, 0, 'clean restarts repeat nothing in the sink');
  for (const p of pauses) {
    assert.ok(p.to, `${p.connector}/${p.partition} resumed on a worker after its pause during the ${p.during}`);
    assert.ok(!(p.from === p.to && p.during === `restart of ${p.from}`), `${p.connector}/${p.partition} waited ${p.ms} ms for ${p.from} to come back instead of moving`);
  }
});
