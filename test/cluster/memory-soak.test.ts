/**
 * Memory stays bounded while tasks run (issue 25 item 8: a worker once grew from 544 MB to 1.3 GB
 * in three minutes with nothing but its tasks running).
 *
 * One worker process runs a busy source (many partitions, thousands of records a second) and a
 * sink reading it back, with its V8 heap capped as an operator would cap it
 * (`NODE_OPTIONS=--max-old-space-size`, docs/deployment.md#memory). Uncapped, V8 grows its
 * committed heap lazily towards a steady state that takes minutes to reach on a loaded machine,
 * so RSS over a short window says little; capped, the steady state comes within seconds and a
 * leak has nowhere to hide: the worker dies of "heap out of memory", or collects so hard that the
 * source slows, or RSS rises. After a warm-up, RSS is sampled from /proc/<pid>/status: the
 * highest sample of the last third may exceed the highest of the first third by at most
 * GROWTH_ALLOWANCE, the worker must stay up and the source busy. (The leak this was written for,
 * ~10 MB of heap per second at this load, killed the worker within 20 s under this cap.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedCluster, committedSeqs, everyPartitionRunning } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';

const PARTITIONS = 24;
const RATE_PER_PARTITION = 250;
const WARM_UP_MS = 10_000;
const SOAK_MS = 36_000;
const SAMPLE_MS = 1_000;
/** Allowed rise of the peak from the first third of the soak to the last, in bytes. */
const GROWTH_ALLOWANCE = 24 * 1024 * 1024;
/** The worker's V8 old-space cap, in MB: about three times the live heap this load needs. */
const HEAP_CAP_MB = 192;

let cluster: EmbeddedCluster;
const topic = `soak-${Date.now().toString(36)}`;
const sinkFile = join(tmpdir(), `${topic}.jsonl`);

before(async () => {
  cluster = new EmbeddedCluster({ workers: 1, env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MB}` } });
  await cluster.start();
});
after(async () => {
  await cluster?.close();
  rmSync(sinkFile, { force: true });
});

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(line.split(/\s+/)[1]) * 1024;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

test('a worker running a busy source and sink keeps its RSS flat over a soak', { timeout: 300_000 }, async () => {
  const admin = () => cluster.admin();
  await admin().createConnector({ name: 'soak-source', config: { 'connector.class': 'verifiable-source', topic, partitions: String(PARTITIONS), 'records.per.second': String(RATE_PER_PARTITION), 'topic.creation.default.partitions': '6' } });
  await everyPartitionRunning(admin, ['soak-source'], { partitions: PARTITIONS, timeoutMs: 60_000 });
  await admin().createConnector({ name: 'soak-sink', config: { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': sinkFile } });
  await everyPartitionRunning(admin, ['soak-sink'], { timeoutMs: 60_000 });
  const pid = cluster.workers[0]!.process!.pid!;

  const warmUpEnd = Date.now() + WARM_UP_MS;
  await eventually(() => Date.now() >= warmUpEnd, { timeoutMs: WARM_UP_MS + 5_000, intervalMs: 500, message: 'the warm-up passed' });
  const before = await committedSeqs(admin(), 'soak-source');
  const samples: number[] = [];
  const soakEnd = Date.now() + SOAK_MS;
  // Sampling is the soak itself: one RSS reading per SAMPLE_MS until the soak ends.
  await eventually(() => {
    // A worker that died (out of memory) ends the soak: the assertion below says so.
    if (cluster.workers[0]!.process!.exitCode !== null) return true;
    samples.push(rssBytes(pid));
    return Date.now() >= soakEnd;
  }, { timeoutMs: SOAK_MS + 10_000, intervalMs: SAMPLE_MS, message: 'the soak ran' });
  assert.equal(cluster.workers[0]!.process!.exitCode, null, `the worker stays up under a ${HEAP_CAP_MB} MB heap cap:\n${cluster.logs(5)}`);
  const afterSoak = await committedSeqs(admin(), 'soak-source');
  const records = [...afterSoak].reduce((n, [p, o]) => n + o - (before.get(p) ?? -1), 0);

  const third = Math.floor(samples.length / 3);
  const firstPeak = Math.max(...samples.slice(0, third));
  const lastPeak = Math.max(...samples.slice(-third));
  console.log(`# memory soak: ${records} records produced in ${SOAK_MS / 1000} s over ${PARTITIONS} partitions (and read back by a sink), heap capped at ${HEAP_CAP_MB} MB; RSS peak ${mb(firstPeak)} MB in the first third, ${mb(lastPeak)} MB in the last (allowance ${mb(GROWTH_ALLOWANCE)} MB); samples ${samples.map(mb).join(' ')}`);
  assert.ok(records > (PARTITIONS * RATE_PER_PARTITION * SOAK_MS) / 1000 / 2, `the source kept at least half its nominal rate during the soak (${records} records)`);
  assert.ok(lastPeak - firstPeak <= GROWTH_ALLOWANCE, `RSS grew by ${mb(lastPeak - firstPeak)} MB over the soak (allowed ${mb(GROWTH_ALLOWANCE)} MB)`);
});
