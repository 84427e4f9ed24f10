/**
 * Debezium's PostgreSQL connector 3.6.1.Final, unmodified, through the Kafka Connect bridge in
 * a three-worker cluster against the local PostgreSQL (logical decoding with pgoutput): the
 * snapshot and then inserts, updates and deletes arrive in Kafka; after kill -9 of the worker
 * running it, its stream partition resumes on another worker from the committed offset (the
 * LSN inside the bridge's offset blob) and nothing is lost: every (id, version) the database
 * went through is in the topic, counted by key and version. Duplicates are allowed only after
 * the hard kill (at-least-once).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { EmbeddedCluster } from '../support/cluster.js';
import { kafkaClient, readTopic } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { freshDatabase, type FreshDatabase } from '../support/postgres.js';
import { buildBridge, debeziumPostgresConfig, debeziumPostgresPluginPath } from '../support/kafka-connect.js';


interface ChangeEvent {
  op: string;
  before: { id: number; version?: number } | null;
  after: { id: number; version: number } | null;
}

describe('Debezium PostgreSQL through the Kafka Connect bridge, three workers', { timeout: 900_000 }, () => {
  let cluster: EmbeddedCluster;
  let db: FreshDatabase;
  let pluginPath: string;
  before(async () => {
    buildBridge();
    pluginPath = debeziumPostgresPluginPath();
    db = await freshDatabase('dbz');
    // A busy 2-core machine can take longer than the harness's default 30 s to boot three workers.
    cluster = new EmbeddedCluster({ workers: 3, startTimeoutMs: 180_000, env: { TRIBUTARY_PLUGIN_PATH: pluginPath } });
    await cluster.start();
  });
  after(async () => {
    await cluster?.close();
    await db?.drop();
    if (pluginPath) rmSync(pluginPath, { recursive: true, force: true });
  });

  test('snapshot, inserts, updates and deletes arrive; after kill -9 of its worker it resumes elsewhere from its LSN with nothing lost', async () => {
    await db.query('CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL)');
    await db.query('INSERT INTO items SELECT g, 0 FROM generate_series(1, 200) g');
    const prefix = cluster.name.replace(/[^a-zA-Z0-9_]/g, '_');
    const topic = `${prefix}.public.items`;
    const kafkaAdmin = kafkaClient(cluster.kafkaBootstrap.split(',')).admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await kafkaAdmin.disconnect();

    const name = 'dbz';
    await cluster.admin().createConnector({ name, config: debeziumPostgresConfig(db.url, db.name, prefix, topic) });
    // Ask a live worker each time: the client of a killed worker is closed by cluster.kill().
    const running = async (not?: string) =>
      eventually(async () => {
        const { status } = await cluster.admin().getConnectorStatus({ name }, { timeoutMs: 5_000 });
        const p = status!.partitions[0];
        if (!p || p.state !== PartitionState.RUNNING || p.workerId === not) throw new Error(`not running${not ? ` off ${not}` : ''}: ${p ? `${PartitionState[p.state]} on ${p.workerId} ${p.error}` : 'no partition'}`);
        return p.workerId;
      }, { timeoutMs: 90_000 });
    const owner = await running();

    const seen = new Set<string>();
    const deleted = new Set<number>();
    let total = 0;
    let snapshotReads = 0;
    const readAll = async (expected: number) => {
      const records = [...(await readTopic(cluster.kafkaBootstrap.split(','), topic, expected, 120_000)).values()].flat();
      seen.clear();
      deleted.clear();
      total = records.length;
      snapshotReads = 0;
      for (const r of records) {
        if (r.value === null) continue; // the tombstone after a delete
        const e = JSON.parse(r.value.toString()) as ChangeEvent;
        if (e.op === 'r') snapshotReads++;
        if (e.op === 'd') deleted.add(e.before!.id);
        else seen.add(`${e.after!.id}:${e.after!.version}`);
      }
    };
    const missing = (expect: string[]) => expect.filter((k) => !seen.has(k));
    const range = (from: number, to: number, version: number) => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}:${version}`);

    // The snapshot.
    await readAll(200);
    assert.deepEqual(missing(range(1, 200, 0)), []);

    // Streaming: inserts, updates, deletes.
    await db.query('INSERT INTO items SELECT g, 0 FROM generate_series(201, 300) g');
    await db.query('UPDATE items SET version = 1 WHERE id <= 100');
    await db.query('DELETE FROM items WHERE id > 190 AND id <= 200');
    // 200 + 100 inserts + 100 updates + 10 deletes + 10 tombstones
    await eventually(async () => {
      await readAll(420);
      return missing([...range(201, 300, 0), ...range(1, 100, 1)]).length === 0 && deleted.size === 10;
    }, { timeoutMs: 120_000, message: 'the streamed changes arrived' });
    assert.equal(total, 420, 'no duplicates before the kill');

    // kill -9 the worker running it, with changes made while it is down.
    const victim = cluster.workers.find((w) => w.id === owner)!;
    await cluster.kill(victim, 'SIGKILL');
    await db.query('UPDATE items SET version = 2 WHERE id <= 100');
    await db.query('INSERT INTO items SELECT g, 0 FROM generate_series(301, 400) g');
    const next = await running(owner);
    assert.notEqual(next, owner);
    await db.query('UPDATE items SET version = 3 WHERE id > 300');
    await eventually(async () => {
      await readAll(420 + 300);
      const lost = missing([...range(1, 190, 0), ...range(1, 100, 1), ...range(1, 100, 2), ...range(201, 400, 0), ...range(301, 400, 3)]);
      if (lost.length > 0) throw new Error(`${lost.length} (id:version) missing, e.g. ${lost.slice(0, 5).join(' ')}`);
      return true;
    }, { timeoutMs: 180_000, message: 'every change made around the kill arrived' });
    assert.equal(deleted.size, 10);
    // Resumed from the committed LSN, not by snapshotting again: the 200 snapshot reads are the only ones.
    assert.equal(snapshotReads, 200, 'the table was snapshotted once');
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM items');
    assert.equal(Number(rows[0]!.n), 390);
    console.log(`# debezium: ${total} records in the topic for 720 changes (duplicates after the kill: ${total - 720}); resumed on ${next} after killing ${owner}`);
  });
});
