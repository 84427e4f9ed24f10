/**
 * Debezium's PostgreSQL connector 3.6.1.Final, unmodified, through the Kafka Connect bridge and
 * one worker against the real Kafka and PostgreSQL (pgoutput): the snapshot, then inserts,
 * updates and deletes arrive in Kafka as Debezium's JSON change events (JsonConverter run in
 * the bridge); after a clean stop and a fresh start of its stream partition, Debezium resumes
 * from the LSN in the bridge's committed offset blob with nothing lost and nothing repeated.
 * The three-worker kill -9 case is test/cluster/kafka-connect-debezium.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { PluginHost } from '../../src/plugins/index.js';
import { eventually } from '../support/eventually.js';
import { freshDatabase, type FreshDatabase } from '../support/postgres.js';
import { kafkaClient, readTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { buildBridge, debeziumPostgresConfig, debeziumPostgresPluginPath } from '../support/kafka-connect.js';


interface ChangeEvent {
  op: string;
  before: { id: number } | null;
  after: { id: number; version: number } | null;
}

describe('Debezium PostgreSQL through the Kafka Connect bridge', { timeout: 600_000 }, () => {
  let dp: DataPlane;
  let db: FreshDatabase;
  let pluginPath: string;
  before(async () => {
    buildBridge();
    pluginPath = debeziumPostgresPluginPath();
    const plugins = new PluginHost({ startTimeoutMs: 60_000 });
    await plugins.loadDirectory(pluginPath);
    db = await freshDatabase('dbz');
    dp = await startDataPlane({ plugins });
  });
  after(async () => {
    await dp?.close();
    await db?.drop();
    if (pluginPath) rmSync(pluginPath, { recursive: true, force: true });
  });

  test('snapshot, inserts, updates, deletes; a restarted partition resumes from its LSN', async () => {
    await db.query('CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL)');
    await db.query('INSERT INTO items SELECT g, 0 FROM generate_series(1, 200) g');
    const prefix = uniqueName('dbz').replace(/[^a-zA-Z0-9_]/g, '_');
    const topic = `${prefix}.public.items`;
    const admin = kafkaClient(dp.brokers).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const config = debeziumPostgresConfig(db.url, db.name, prefix, topic);
    const runtime = await runAllPartitions(dp, 'dbz', config);

    const events = async (expected: number) => {
      const records = [...(await readTopic(dp.brokers, topic, expected, 120_000)).values()].flat();
      const seen: string[] = [];
      for (const r of records) {
        if (r.value === null) {
          seen.push('tombstone');
          continue;
        }
        const e = JSON.parse(r.value.toString()) as ChangeEvent;
        seen.push(e.op === 'd' ? `d:${e.before!.id}` : `${e.op}:${e.after!.id}:${e.after!.version}`);
      }
      return seen;
    };
    const range = (op: string, from: number, to: number, version: number) => Array.from({ length: to - from + 1 }, (_, i) => `${op}:${from + i}:${version}`);

    assert.deepEqual(await events(200), range('r', 1, 200, 0), 'the snapshot, in order');

    await db.query('INSERT INTO items SELECT g, 0 FROM generate_series(201, 250) g');
    await db.query('UPDATE items SET version = 1 WHERE id <= 50');
    await db.query('DELETE FROM items WHERE id = 7');
    const streamed = [...range('c', 201, 250, 0), ...range('u', 1, 50, 1), 'd:7', 'tombstone'];
    let all: string[] = [];
    await eventually(async () => (all = await events(302)).length >= 302, { timeoutMs: 120_000, message: 'the streamed changes arrived' });
    assert.deepEqual(all.slice(200), streamed);

    // A clean stop (drain: offsets committed through the last record) and a new start.
    await runtime.stopPartition('task-0');
    await db.query('UPDATE items SET version = 2 WHERE id > 240');
    const [partition] = (await (async () => {
      for await (const change of runtime.plugin.plugin.watchPartitions({ connector: { name: 'dbz', config } }, { signal: AbortSignal.timeout(60_000) })) return change.added;
      return [];
    })())!;
    await runtime.startPartition(partition!, 2n);
    await eventually(async () => (all = await events(312)).length >= 312, { timeoutMs: 120_000, message: 'the changes made while stopped arrived' });
    assert.deepEqual(all.slice(302), range('u', 241, 250, 2), 'resumed after its LSN: nothing lost, nothing repeated');
  });
});
