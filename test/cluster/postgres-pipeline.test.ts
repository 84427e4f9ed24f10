/**
 * The PostgreSQL connectors end to end, in a worker process on the real Kafka, etcd and
 * PostgreSQL, with the JSON converter (schemas enabled) between plugins and Kafka:
 * 1. datagen → Kafka → postgres-sink, the worker killed -9 mid-stream and restarted: the table
 *    holds every key exactly once with its latest value in Kafka, and the stored offsets are
 *    Kafka's last offsets.
 * 2. postgres-cdc → Kafka → postgres-sink into a second database keeps the two equal under a
 *    write load (inserts, updates, deletes in transactions), compared with SELECT.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EmbeddedCluster } from '../support/cluster.js';
import { kafkaClient, uniqueName } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { freshDatabase, type FreshDatabase } from '../support/postgres.js';

const json = { 'key.converter': 'json', 'value.converter': 'json' };

async function endOffsets(brokers: string[], topic: string): Promise<Map<number, bigint>> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** The last JSON payload per key in the topic (per Kafka partition order: a key lives in one partition). */
async function lastPerKey(brokers: string[], topic: string, ends: Map<number, bigint>): Promise<Map<string, Record<string, unknown>>> {
  const consumer = kafkaClient(brokers).consumer({ groupId: uniqueName('pg-check') });
  const last = new Map<string, Record<string, unknown>>();
  const remaining = new Map([...ends].filter(([, end]) => end > 0n));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    if (remaining.size === 0) return resolve();
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const key = JSON.stringify((JSON.parse(m.key!.toString()) as { payload: unknown }).payload);
            last.set(key, (JSON.parse(m.value!.toString()) as { payload: Record<string, unknown> }).payload);
            if (BigInt(m.offset) + 1n >= (remaining.get(batch.partition) ?? 0n)) remaining.delete(batch.partition);
          }
          if (remaining.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return last;
}

describe('PostgreSQL pipelines in a worker process', () => {
  // Generous timeouts: this file proves data integrity, not failover speed, on a shared machine.
  const cluster = new EmbeddedCluster({ workers: 1, sessionTimeoutMs: 15_000, heartbeatIntervalMs: 1_000, startTimeoutMs: 120_000 });
  const dbs: FreshDatabase[] = [];
  before(() => cluster.start());
  after(async () => {
    await cluster.close();
    for (const db of dbs) await db.drop();
  });

  test('datagen → Kafka → postgres-sink with a kill -9 of the worker mid-stream: every key exactly once with its latest value; stored offsets = Kafka\'s', { timeout: 180_000 }, async () => {
    const db = await freshDatabase('pipe');
    dbs.push(db);
    const topic = uniqueName('gen');
    const perPartition = 2000;
    const admin = cluster.admin();
    await admin.createConnector({ name: 'gen', config: { 'connector.class': 'datagen', topic, shape: 'orders', partitions: '2', 'key.cardinality': '300', 'records.per.second': '500', 'max.records': String(perPartition), 'topic.creation.default.partitions': '3', ...json } });
    await admin.createConnector({ name: 'to-pg', config: { 'connector.class': 'postgres-sink', topics: topic, 'connection.url': db.url, 'table.name.format': 'orders', 'insert.mode': 'upsert', 'primary.key.mode': 'record_key', 'auto.create': 'true', ...json } });

    const written = async () => Number((await db.query('SELECT coalesce(sum(kafka_offset + 1), 0)::int AS n FROM tributary_sink_offsets').catch(() => ({ rows: [{ n: 0 }] }))).rows[0]!.n);
    await eventually(async () => (await written()) > 600, { timeoutMs: 120_000, intervalMs: 200, message: `the sink wrote part of the stream\n${cluster.logs()}` });
    const before = await written();
    const w = cluster.workers[0]!;
    await cluster.kill(w, 'SIGKILL');
    await cluster.startWorker(w);

    const brokers = cluster.kafkaBootstrap.split(',');
    // Done: datagen emitted everything (Kafka may hold duplicates after the kill) and the sink's
    // stored offsets reached Kafka's end offsets.
    let ends = new Map<number, bigint>();
    await eventually(
      async () => {
        ends = await endOffsets(brokers, topic);
        const total = [...ends.values()].reduce((a, b) => a + b, 0n);
        if (total < BigInt(2 * perPartition)) return false;
        const stored = await db.query<{ kafka_partition: number; kafka_offset: string }>('SELECT kafka_partition, kafka_offset::text FROM tributary_sink_offsets WHERE topic = $1', [topic]);
        const got = new Map(stored.rows.map((r) => [r.kafka_partition, BigInt(r.kafka_offset) + 1n]));
        return [...ends].every(([p, end]) => end === 0n || got.get(p) === end);
      },
      { timeoutMs: 120_000, intervalMs: 500, message: `the sink caught up with Kafka\n${cluster.logs()}` },
    );
    const finalEnds = await endOffsets(brokers, topic);
    assert.deepEqual(finalEnds, ends, 'nothing more arrived after datagen finished');
    const expected = await lastPerKey(brokers, topic, ends);
    const rows = await db.query<{ id: string; seq: string; partition: string; itemid: string }>('SELECT id::text, seq::text, partition, itemid FROM orders');
    assert.equal(rows.rowCount, expected.size, 'one row per key');
    for (const r of rows.rows) {
      const want = expected.get(JSON.stringify({ id: Number(r.id) }));
      assert.ok(want, `row ${r.id} is a key from Kafka`);
      assert.deepEqual([Number(r.seq), r.partition, r.itemid], [want.seq, want.partition, want.itemid], `row ${r.id} holds the key's latest value`);
    }
    console.log(`# datagen→sink: killed after ${before} records written; ${[...ends.values()].reduce((a, b) => a + b, 0n)} records in Kafka, ${rows.rowCount} keys`);
    // The admin client of the killed process is closed: ask the restarted one.
    await cluster.admin().deleteConnector({ name: 'gen' });
    await cluster.admin().deleteConnector({ name: 'to-pg' });
  });

  test('postgres-cdc → Kafka → postgres-sink keeps a second database equal to the first under a write load', { timeout: 180_000 }, async () => {
    const source = await freshDatabase('cdcsrc');
    const target = await freshDatabase('cdcdst');
    dbs.push(source, target);
    await source.query('CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL, updated timestamp)');
    await source.query('CREATE TABLE notes (id bigint PRIMARY KEY, body text)');
    await source.query(`INSERT INTO accounts SELECT g, 'owner-' || g, g * 10, '2024-01-01 00:00:00' FROM generate_series(1, 500) g`);
    await source.query(`INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 100) g`);
    const prefix = uniqueName('cdc').replace(/-/g, '_');
    // Kafka's auto-creation is off on the test broker, and the worker creates only a source's
    // `topic`: the per-table topics are created up front, as for Debezium without auto-creation.
    const kadmin = kafkaClient(cluster.kafkaBootstrap.split(',')).admin();
    await kadmin.connect();
    await kadmin.createTopics({ topics: ['accounts', 'notes'].map((t) => ({ topic: `${prefix}.public.${t}`, numPartitions: 2 })), waitForLeaders: true });
    await kadmin.disconnect();

    const admin = cluster.admin();
    await admin.createConnector({ name: 'cdc', config: { 'connector.class': 'postgres-cdc', 'database.url': source.url, 'topic.prefix': prefix, 'heartbeat.interval.ms': '1000', ...json } });
    await admin.createConnector({ name: 'cdc-to-pg', config: {
      'connector.class': 'postgres-sink',
      'topics.regex': `${prefix.replace(/\./g, '\\.')}\\.public\\..*`,
      'connection.url': target.url,
      'table.name.format': '${topic}',
      'insert.mode': 'upsert',
      'primary.key.mode': 'record_key',
      'delete.enabled': 'true',
      'auto.create': 'true',
      'auto.evolve': 'true',
      ...json,
    } });

    // The load: transactions of inserts, updates and deletes on both tables, while the pipeline runs.
    let nextId = 1000;
    const started = Date.now();
    let txns = 0;
    while (Date.now() - started < 8_000) {
      const a = 1 + Math.floor(Math.random() * 500);
      const b = 1 + Math.floor(Math.random() * 500);
      await source.query(
        `BEGIN;
         UPDATE accounts SET balance = balance - 1, updated = now()::timestamp(6) WHERE id = ${a};
         UPDATE accounts SET balance = balance + 1, updated = now()::timestamp(6) WHERE id = ${b};
         INSERT INTO notes VALUES (${nextId}, 'n${nextId}');
         DELETE FROM notes WHERE id = ${nextId - 7};
         ${txns % 10 === 0 ? `INSERT INTO accounts VALUES (${nextId}, 'new', 0, NULL);` : ''}
         ${txns % 15 === 0 ? `DELETE FROM accounts WHERE id = ${1 + Math.floor(Math.random() * 500)};` : ''}
         COMMIT`,
      );
      nextId++;
      txns++;
    }
    const dump = async (db: FreshDatabase, table: string) =>
      JSON.stringify((await db.query(`SELECT * FROM ${table} ORDER BY id`)).rows.map((r: Record<string, unknown>) => Object.values(r).map((v) => (v instanceof Date ? v.toISOString() : String(v)))));
    // At the deadline: how many rows each side holds and the first row that differs.
    const tableDiff = (table: string, wantRows: string, gotRows: string): string => {
      const w = JSON.parse(wantRows) as string[][];
      const g = JSON.parse(gotRows) as string[][];
      const at = w.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(g[i]));
      return `${table}: source ${w.length} rows, target ${g.length}` + (at < 0 ? (w.length === g.length ? ', equal' : '') : `, first difference at row ${at}: source ${JSON.stringify(w[at])}, target ${JSON.stringify(g[at])}`);
    };
    const want = { accounts: await dump(source, 'accounts'), notes: await dump(source, 'notes') };
    let got = { accounts: '[]', notes: '[]' };
    await eventually(
      async () => {
        got = { accounts: await dump(target, `${prefix}_public_accounts`), notes: await dump(target, `${prefix}_public_notes`) };
        return got.accounts === want.accounts && got.notes === want.notes;
      },
      { timeoutMs: 90_000, intervalMs: 500, message: () => `the target database equals the source: ${tableDiff('accounts', want.accounts, got.accounts)}; ${tableDiff('notes', want.notes, got.notes)}\n${cluster.logs()}` },
    );
    console.log(`# cdc→sink: ${txns} transactions in 8 s; ${JSON.parse(want.accounts).length} accounts and ${JSON.parse(want.notes).length} notes equal in both databases`);
    await admin.deleteConnector({ name: 'cdc' });
    await admin.deleteConnector({ name: 'cdc-to-pg' });
    await eventually(async () => (await source.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE database = $1', [source.name])).rows[0]!.n === 0, { timeoutMs: 20_000, message: 'deleting the connector dropped its slot' });
  });
});
