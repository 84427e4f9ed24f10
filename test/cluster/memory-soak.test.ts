/**
 * Memory stays bounded while tasks run (issue 25 item 8: a worker once grew from 544 MB to 1.3 GB
 * in three minutes with nothing but its tasks running).
 *
 * One worker process runs a busy source (many partitions, thousands of records a second) and a
 * sink reading it back, for a soak period. Its resident set size is sampled from
 * /proc/<pid>/status. After a warm-up (JIT, buffers, connection pools), RSS must stay flat: the
 * highest sample of the last third may exceed the highest of the first third by at most
 * GROWTH_ALLOWANCE. A leak proportional to records (a map that is never pruned, a promise chain that
 * grows) would pass several MB per minute here and fail.
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
const WARM_UP_MS = 20_000;
const SOAK_MS = 60_000;
const SAMPLE_MS = 1_000;
/** Allowed rise of the peak from the first third of the soak to the last, in bytes. */
const GROWTH_ALLOWANCE = 24 * 1024 * 1024;

let cluster: EmbeddedCluster;
const topic = `soak-${Date.now().toString(36)}`;
const sinkFile = join(tmpdir(), `${topic}.jsonl`);

before(async () => {
  cluster = new EmbeddedCluster({ workers: 1 });
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
    samples.push(rssBytes(pid));
    return Date.now() >= soakEnd;
  }, { timeoutMs: SOAK_MS + 10_000, intervalMs: SAMPLE_MS, message: 'the soak ran' });
  const afterSoak = await committedSeqs(admin(), 'soak-source');
  const records = [...afterSoak].reduce((n, [p, o]) => n + o - (before.get(p) ?? -1), 0);

  const third = Math.floor(samples.length / 3);
  const firstPeak = Math.max(...samples.slice(0, third));
  const lastPeak = Math.max(...samples.slice(-third));
  console.log(`# memory soak: ${records} records produced in ${SOAK_MS / 1000} s over ${PARTITIONS} partitions (and read back by a sink); RSS peak ${mb(firstPeak)} MB in the first third, ${mb(lastPeak)} MB in the last (allowance ${mb(GROWTH_ALLOWANCE)} MB); samples ${samples.map(mb).join(' ')}`);
  assert.ok(records > (PARTITIONS * RATE_PER_PARTITION * SOAK_MS) / 1000 / 4, `the source was busy during the soak (${records} records)`);
  assert.ok(lastPeak - firstPeak <= GROWTH_ALLOWANCE, `RSS grew by ${mb(lastPeak - firstPeak)} MB over the soak (allowed ${mb(GROWTH_ALLOWANCE)} MB)`);
});
