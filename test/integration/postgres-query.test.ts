/**
 * postgres-query against the real PostgreSQL at the plugin boundary: rows before and after
 * start in incrementing and timestamp+incrementing modes, resuming from an offset, bulk, and a
 * table created while running discovered as a new stream partition.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { dataToJs } from '../../src/connectors/connect-data/index.js';
import { POSTGRES_QUERY, postgresQueryPlugin } from '../../src/connectors/postgres-query/index.js';
import type { Record as PluginRecord, WatchPartitionsResponse } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { inProcessPlugin } from '../../src/plugins/index.js';
import { freshDatabase, type FreshDatabase } from '../support/postgres.js';
import { openRead } from '../support/plugin-streams.js';

const value = (r: PluginRecord) => dataToJs(r.structuredValue, r.valueSchema) as Record<string, unknown>;

describe('postgres-query', () => {
  const dbs: FreshDatabase[] = [];
  after(async () => {
    for (const db of dbs) await db.drop();
  });
  const plugin = inProcessPlugin(postgresQueryPlugin);

  test('incrementing and timestamp+incrementing: rows before and after start, in order, resumable from the offset', async () => {
    const db = await freshDatabase('q');
    dbs.push(db);
    await db.query('CREATE TABLE events (id serial PRIMARY KEY, body text, at timestamp NOT NULL DEFAULT now())');
    await db.query("INSERT INTO events (body) SELECT 'e' || g FROM generate_series(1, 30) g");
    const base = { 'connector.class': POSTGRES_QUERY, 'connection.url': db.url, 'topic.prefix': 'q-', 'poll.interval.ms': '100', 'batch.max.rows': '7' };
    const inc = { name: 'q1', config: { ...base, mode: 'incrementing', 'incrementing.column.name': 'id' } };
    const read = openRead(plugin, inc, 'public.events');
    read.credit(1000);
    const first = await read.records(30);
    assert.deepEqual(first.map((r) => value(r).id), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.equal(first[0]!.topic, 'q-events');
    assert.equal(first[0]!.valueSchema?.fields[2]!.schema?.name, 'org.apache.kafka.connect.data.Timestamp');
    await db.query("INSERT INTO events (body) VALUES ('late1'), ('late2')");
    const more = await read.records(2);
    assert.deepEqual(more.map((r) => value(r).body), ['late1', 'late2']);
    await read.drainAndEnd();
    const resumed = openRead(plugin, inc, 'public.events', first[24]!.offset);
    resumed.credit(1000);
    assert.deepEqual((await resumed.records(7)).map((r) => value(r).id), [26, 27, 28, 29, 30, 31, 32]);
    await resumed.drainAndEnd();

    const tsInc = { name: 'q2', config: { ...base, mode: 'timestamp+incrementing', 'incrementing.column.name': 'id', 'timestamp.column.name': 'at' } };
    await db.query("UPDATE events SET at = '2024-01-01 00:00:00' WHERE id <= 10");
    const r2 = openRead(plugin, tsInc, 'public.events');
    r2.credit(1000);
    const all = await r2.records(32);
    assert.deepEqual(all.slice(0, 10).map((r) => value(r).id), Array.from({ length: 10 }, (_, i) => i + 1), 'oldest timestamps first, ties by id');
    assert.equal(new Set(all.map((r) => value(r).id)).size, 32);
    await db.query("UPDATE events SET body = 'changed', at = now() WHERE id = 3");
    const changed = await r2.records(1);
    assert.deepEqual([value(changed[0]!).id, value(changed[0]!).body], [3, 'changed'], 'an updated row (newer timestamp) is read again');
    await r2.drainAndEnd();
  });

  test('bulk re-reads the whole table every poll; a table created while running becomes a stream partition', async () => {
    const db = await freshDatabase('q');
    dbs.push(db);
    await db.query('CREATE TABLE a (id int PRIMARY KEY)');
    await db.query('INSERT INTO a VALUES (1), (2), (3)');
    const connector = { name: 'q3', config: { 'connection.url': db.url, 'topic.prefix': '', mode: 'bulk', 'poll.interval.ms': '100', 'table.poll.interval.ms': '200', 'table.include.list': 'public\\..*' } };
    const read = openRead(plugin, connector, 'public.a');
    read.credit(1000);
    const two = await read.records(6);
    assert.deepEqual(two.slice(0, 6).map((r) => value(r).id), [1, 2, 3, 1, 2, 3]);
    await read.drainAndEnd();

    const watch = plugin.watchPartitions({ connector })[Symbol.asyncIterator]();
    const snapshot = (await watch.next()).value as WatchPartitionsResponse;
    assert.equal(snapshot.snapshot, true);
    assert.deepEqual(snapshot.added.map((p) => p.id), ['public.a']);
    await db.query('CREATE TABLE b (id int)');
    const change = (await watch.next()).value as WatchPartitionsResponse;
    assert.deepEqual(change.added.map((p) => p.id), ['public.b']);
    await db.query('DROP TABLE a');
    const gone = (await watch.next()).value as WatchPartitionsResponse;
    assert.deepEqual(gone.removed, ['public.a']);
    await watch.return?.(undefined);
  });

  test('bad configs name the key', async () => {
    const problems = async (config: Record<string, string>) => (await plugin.validate({ connector: { name: 'q', config: { 'connection.url': 'postgres://x@h/db', 'topic.prefix': 'p', ...config } } })).errors.map((e) => e.key);
    assert.deepEqual(await problems({ mode: 'bulk' }), []);
    assert.deepEqual(await problems({}), ['mode']);
    assert.deepEqual(await problems({ mode: 'incrementing' }), ['incrementing.column.name']);
    assert.deepEqual(await problems({ mode: 'timestamp+incrementing' }), ['incrementing.column.name', 'timestamp.column.name']);
    assert.deepEqual(await problems({ mode: 'bulk', 'table.include.list': '(' }), ['table.include.list']);
  });
});
