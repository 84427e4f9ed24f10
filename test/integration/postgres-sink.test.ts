/**
 * postgres-sink against the real PostgreSQL at the plugin boundary, with structured records as
 * the worker's JSON converter hands them over: upserts by record key with auto-create, the
 * offsets stored with the rows and returned as resume_after_offset, replays skipped, deletes
 * on tombstones and Debezium delete events, auto-evolve, fencing of a stale writer, bad configs.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RecordShape } from '../../src/connectors/datagen/index.js';
import { POSTGRES_SINK, postgresSinkPlugin } from '../../src/connectors/postgres-sink/index.js';
import { TableEvents } from '../../src/connectors/postgres-cdc/envelope.js';
import { datagenKeyId } from '../../src/connectors/datagen/index.js';
import { FailedPreconditionError } from '../../src/errors.js';
import { inProcessPlugin } from '../../src/plugins/index.js';
import { freshDatabase, type FreshDatabase } from '../support/postgres.js';
import { openWrite, type RecordInit } from '../support/plugin-streams.js';

const shape = new RecordShape({ shape: 'users' });
/** datagen's users record for (p0, seq) as a sink record at Kafka offset `offset`. */
function userRecord(seq: number, offset: number, topic = 'users'): RecordInit {
  const { keySchema, structuredKey, valueSchema, structuredValue } = shape.record('p0', 0, 50, seq, 1_700_000_000_000 + seq, undefined);
  return { keySchema, structuredKey, valueSchema, structuredValue, topic, kafkaPartition: 0, kafkaOffset: BigInt(offset) };
}

describe('postgres-sink', () => {
  const dbs: FreshDatabase[] = [];
  after(async () => {
    for (const db of dbs) await db.drop();
  });
  const plugin = inProcessPlugin(postgresSinkPlugin);
  const partition = { id: 'users-0', topic: 'users', kafkaPartition: 0 };

  test('upserts by record key into an auto-created table, stores the offset in the same transaction, resumes after it and never applies a record twice', async () => {
    const db = await freshDatabase('sink');
    dbs.push(db);
    const connector = { name: 'sink1', config: { 'connector.class': POSTGRES_SINK, 'connection.url': db.url, 'insert.mode': 'upsert', 'primary.key.mode': 'record_key', 'auto.create': 'true' } };
    const w = await openWrite(plugin, connector, partition);
    assert.equal(w.resumeAfterOffset, undefined);
    w.write(Array.from({ length: 300 }, (_, i) => userRecord(i, i)));
    assert.equal(await w.flush(), 299n);
    const expected = new Map<number, number>();
    for (let i = 0; i < 300; i++) expected.set(datagenKeyId(0, 50, i), i);
    const rows = await db.query<{ id: string; seq: string; registertime: Date }>('SELECT id::text, seq::text, registertime FROM users ORDER BY id');
    assert.equal(rows.rowCount, expected.size);
    for (const r of rows.rows) assert.equal(Number(r.seq), expected.get(Number(r.id)), `id ${r.id} holds its latest seq`);
    const cols = await db.query<{ column_name: string; data_type: string; is_nullable: string }>("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position");
    assert.deepEqual(cols.rows.map((c) => [c.column_name, c.data_type]), [
      ['id', 'bigint'],
      ['registertime', 'timestamp without time zone'],
      ['userid', 'text'],
      ['regionid', 'text'],
      ['gender', 'text'],
      ['partition', 'text'],
      ['seq', 'bigint'],
    ]);
    assert.deepEqual((await db.query('SELECT kafka_offset::int AS o FROM tributary_sink_offsets WHERE connector = $1', ['sink1'])).rows, [{ o: 299 }]);
    await w.end();

    // Reopened: it says where to resume; records it already holds (a worker behind) are skipped.
    const w2 = await openWrite(plugin, connector, partition, 100n);
    assert.equal(w2.resumeAfterOffset, 299n);
    await db.query('UPDATE users SET seq = -1'); // anything re-applied from 250…299 would show
    w2.write(Array.from({ length: 150 }, (_, k) => userRecord(250 + k, 250 + k)));
    assert.equal(await w2.flush(), 399n);
    const seqs = await db.query<{ seq: string }>('SELECT seq::text FROM users');
    const applied = seqs.rows.map((r) => Number(r.seq)).filter((s) => s >= 0);
    assert.ok(applied.every((s) => s >= 300), 'no record at or below the stored offset was applied again');
    assert.ok(applied.length > 0);
    await w2.end();
  });

  test('tombstones and Debezium delete events delete by key; Debezium creates upsert their after image; auto.evolve adds columns', async () => {
    const db = await freshDatabase('sink');
    dbs.push(db);
    const connector = { name: 'sink2', config: { 'connection.url': db.url, 'insert.mode': 'upsert', 'primary.key.mode': 'record_key', 'delete.enabled': 'true', 'auto.create': 'true', 'auto.evolve': 'true' } };
    const cols = (extra: boolean) => [
      { name: 'id', typeOid: 23, typeMod: -1, typeName: 'int4', notNull: true },
      { name: 'name', typeOid: 25, typeMod: -1, typeName: 'text', notNull: false },
      ...(extra ? [{ name: 'price', typeOid: 1700, typeMod: ((10 << 16) | 2) + 4, typeName: 'numeric', notNull: false }] : []),
    ];
    const t1 = new TableEvents('src', 'db', 'public', 'items', cols(false), ['id']);
    const t2 = new TableEvents('src', 'db', 'public', 'items', cols(true), ['id']);
    const src = { tsUs: 0n, snapshot: 'false' as const, txId: 1, lsn: 1n, sequence: '[]' };
    const topic = 'src.public.items';
    const rec = (t: TableEvents, op: 'c' | 'u' | 'd', values: Array<string | null>, offset: number): RecordInit => ({
      topic,
      kafkaPartition: 0,
      kafkaOffset: BigInt(offset),
      keySchema: t.keySchema,
      structuredKey: t.key(values),
      valueSchema: t.envelopeSchema,
      structuredValue: t.envelope(op, op === 'c' ? undefined : t.row(values), op === 'd' ? undefined : t.row(values), src),
    });
    const w = await openWrite(plugin, connector, { id: 'items-0', topic, kafkaPartition: 0 });
    w.write([rec(t1, 'c', ['1', 'one'], 0), rec(t1, 'c', ['2', 'two'], 1), rec(t1, 'c', ['3', 'three'], 2), rec(t1, 'd', ['2', null], 3)]);
    // The tombstone after a delete: key only.
    w.write([{ topic, kafkaPartition: 0, kafkaOffset: 4n, keySchema: t1.keySchema, structuredKey: t1.key(['3', null]) }]);
    w.write([rec(t2, 'u', ['1', 'uno', '12.50'], 5), rec(t2, 'c', ['4', 'four', '0.01'], 6)]);
    assert.equal(await w.flush(), 6n);
    const rows = await db.query('SELECT id, name, price::text FROM src_public_items ORDER BY id');
    assert.deepEqual(rows.rows, [
      { id: 1, name: 'uno', price: '12.50' },
      { id: 4, name: 'four', price: '0.01' },
    ]);
    await w.end();
  });

  test('a stale writer of a partition that moved fails its flush and writes nothing', async () => {
    const db = await freshDatabase('sink');
    dbs.push(db);
    const connector = { name: 'sink3', config: { 'connection.url': db.url, 'insert.mode': 'upsert', 'primary.key.mode': 'record_key', 'auto.create': 'true' } };
    const old = await openWrite(plugin, connector, partition);
    const current = await openWrite(plugin, connector, partition);
    current.write([userRecord(0, 0), userRecord(1, 1)]);
    assert.equal(await current.flush(), 1n);
    old.write([userRecord(0, 0), userRecord(1, 1), userRecord(2, 2)]);
    const err = await old.failure();
    assert.ok(err instanceof Error && /another writer owns this partition/.test(err.message), String(err));
    assert.equal((await db.query('SELECT count(*)::int AS n FROM users')).rows[0]!.n, new Set([0, 1].map((i) => datagenKeyId(0, 50, i))).size);
    assert.deepEqual((await db.query('SELECT kafka_offset::int AS o FROM tributary_sink_offsets')).rows, [{ o: 1 }]);
    await current.end();
  });

  test('bad configs and unwritable records name the problem', async () => {
    const problems = async (config: Record<string, string>) => (await plugin.validate({ connector: { name: 's', config: { 'connection.url': 'postgres://x@127.0.0.1/db', ...config } } })).errors.map((e) => e.key);
    assert.deepEqual(await problems({}), []);
    assert.deepEqual(await problems({ 'connection.url': 'mysql://x' }), ['connection.url']);
    assert.deepEqual(await problems({ 'insert.mode': 'upsert' }), ['primary.key.mode']);
    assert.deepEqual(await problems({ 'primary.key.mode': 'record_value' }), ['primary.key.fields']);
    assert.deepEqual(await problems({ 'delete.enabled': 'true' }), ['delete.enabled']);
    assert.deepEqual(await problems({ 'insert.mode': 'merge' }), ['insert.mode']);

    const db = await freshDatabase('sink');
    dbs.push(db);
    const connector = { name: 'sink4', config: { 'connection.url': db.url } };
    const w = await openWrite(plugin, connector, partition);
    w.write([userRecord(0, 0)]);
    const err = await w.failure();
    assert.ok(err instanceof FailedPreconditionError || (err instanceof Error && /does not exist; create it or set auto.create=true/.test(err.message)), String(err));
    const raw = await openWrite(plugin, connector, partition);
    raw.write([{ topic: 'users', kafkaPartition: 0, kafkaOffset: 0n, value: Buffer.from('{"a":1}') }]);
    const rawErr = await raw.failure();
    assert.match(String(rawErr), /raw bytes; set value.converter=json/);
  });
});
