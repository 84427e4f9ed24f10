/**
 * postgres-cdc against the real PostgreSQL, at the plugin boundary (the worker's role — credits,
 * acks once Kafka stored records — is played by the test): snapshot consistent with the slot,
 * streamed inserts/updates/deletes as Debezium envelopes in commit order, tombstones, new
 * tables and schema changes, include/exclude lists, the slot never confirmed past the last
 * acknowledged record, the slot's lifecycle hooks, and a kill -9 of the plugin's process
 * mid-stream followed by a restart from the last acknowledged offset.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dataToJs, decimalToString } from '../../src/connectors/connect-data/index.js';
import { POSTGRES_CDC, postgresCdcPlugin } from '../../src/connectors/postgres-cdc/index.js';
import { parseLsn } from '../../src/connectors/pg-common/index.js';
import type { Record as PluginRecord } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { inProcessPlugin, PluginHost } from '../../src/plugins/index.js';
import { eventually } from '../support/eventually.js';
import { freshDatabase, type FreshDatabase } from '../support/postgres.js';
import { openRead } from '../support/plugin-streams.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cdcMain = fileURLToPath(new URL('../../src/connectors/postgres-cdc/main.ts', import.meta.url));

type Envelope = { before: Record<string, unknown> | null; after: Record<string, unknown> | null; source: Record<string, unknown>; op: string; ts_ms: bigint };
const envelope = (r: PluginRecord) => dataToJs(r.structuredValue, r.valueSchema) as Envelope;
const key = (r: PluginRecord) => dataToJs(r.structuredKey, r.keySchema) as Record<string, unknown> | null;
const offsetOf = (r: PluginRecord) => JSON.parse(Buffer.from(r.offset).toString()) as Record<string, unknown>;

async function slot(db: FreshDatabase, name: string) {
  const r = await db.query<{ confirmed_flush_lsn: string | null; active: boolean }>('SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = $1', [name]);
  return r.rows[0];
}

describe('postgres-cdc', () => {
  const dbs: FreshDatabase[] = [];
  after(async () => {
    for (const db of dbs) await db.drop();
  });

  test('snapshot, then inserts/updates/deletes in commit order as Debezium envelopes; new tables, schema changes, filters; acks bound the slot; delete drops it', { timeout: 60_000 }, async () => {
    const db = await freshDatabase('cdc');
    dbs.push(db);
    await db.query(`CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL, price numeric(10,2), at timestamp, note text)`);
    await db.query('CREATE TABLE users (id bigint PRIMARY KEY, name text)');
    await db.query('ALTER TABLE users REPLICA IDENTITY FULL');
    await db.query('CREATE TABLE secret (id int PRIMARY KEY)');
    await db.query(`INSERT INTO orders SELECT g, 'item-' || g, g * 1.25, '2024-01-02 03:04:05.678901', NULL FROM generate_series(1, 50) g`);
    await db.query(`INSERT INTO users VALUES (1, 'ann'), (2, 'bob')`);
    await db.query('INSERT INTO secret VALUES (1)');

    const plugin = inProcessPlugin(postgresCdcPlugin);
    const connector = { name: 'cdc1', config: { 'connector.class': POSTGRES_CDC, 'database.url': db.url, 'topic.prefix': 'shop', 'table.exclude.list': 'public\\.secret', 'heartbeat.interval.ms': '0' } };
    await plugin.connectorCreated({ connector });
    assert.ok(await slot(db, 'tributary_cdc1'), 'ConnectorCreated made the slot');
    const createdAt = parseLsn((await slot(db, 'tributary_cdc1'))!.confirmed_flush_lsn!);

    // A change committed after the slot but before the snapshot: in the snapshot, not streamed again.
    await db.query("UPDATE orders SET note = 'before-snapshot' WHERE id = 1");

    const read = openRead(plugin, connector, 'stream');
    read.credit(10_000);
    const snap = await read.records(52);
    assert.equal(snap.length, 52);
    assert.deepEqual(new Set(snap.map((r) => r.topic)), new Set(['shop.public.orders', 'shop.public.users']));
    assert.ok(snap.every((r) => envelope(r).op === 'r' && envelope(r).before === null));
    const order1 = snap.find((r) => r.topic === 'shop.public.orders' && key(r)!.id === 1)!;
    const after1 = envelope(order1).after!;
    assert.equal(after1.note, 'before-snapshot');
    assert.equal(decimalToString(after1.price as Uint8Array, 2), '1.25');
    assert.equal(after1.at, 1704164645678901n, 'timestamp(6) is io.debezium.time.MicroTimestamp');
    assert.equal(order1.valueSchema?.name, 'shop.public.orders.Envelope');
    assert.equal(order1.keySchema?.name, 'shop.public.orders.Key');
    assert.deepEqual(order1.valueSchema?.fields.map((f) => f.name), ['before', 'after', 'source', 'transaction', 'op', 'ts_ms', 'ts_us', 'ts_ns']);
    const valueFields = order1.valueSchema!.fields[1]!.schema!;
    assert.equal(valueFields.name, 'shop.public.orders.Value');
    assert.deepEqual(valueFields.fields.map((f) => [f.name, f.schema?.optional, f.schema?.name ?? null]), [
      ['id', false, null],
      ['item', false, null],
      ['price', true, 'org.apache.kafka.connect.data.Decimal'],
      ['at', true, 'io.debezium.time.MicroTimestamp'],
      ['note', true, null],
    ]);
    assert.equal(envelope(order1).source.connector, 'postgresql');
    assert.equal(envelope(order1).source.db, db.name);
    assert.equal(envelope(snap[0]!).source.snapshot, 'first');
    assert.equal(envelope(snap[51]!).source.snapshot, 'last');
    assert.deepEqual(offsetOf(snap[51]!).done, true);
    assert.ok(snap.slice(0, 51).every((r) => offsetOf(r).done === undefined));

    // Streaming: several transactions over both tables, one with every kind of change.
    await db.query("INSERT INTO orders VALUES (100, 'new', 9.99, '2024-05-05 00:00:00', 'x')");
    await db.query("BEGIN; UPDATE users SET name = 'ann2' WHERE id = 1; DELETE FROM orders WHERE id = 2; INSERT INTO users VALUES (3, 'cy'); COMMIT");
    await db.query("UPDATE orders SET price = 10.5 WHERE id = 100");
    await db.query('INSERT INTO secret VALUES (2)');
    const changes = await read.records(6);
    assert.deepEqual(
      changes.map((r) => [r.topic, envelope(r)?.op ?? 'tombstone', key(r)]),
      [
        ['shop.public.orders', 'c', { id: 100 }],
        ['shop.public.users', 'u', { id: 1n }],
        ['shop.public.orders', 'd', { id: 2 }],
        ['shop.public.orders', 'tombstone', { id: 2 }],
        ['shop.public.users', 'c', { id: 3n }],
        ['shop.public.orders', 'u', { id: 100 }],
      ].map(([t, op, k]) => [t, op, k]),
    );
    assert.equal(changes[3]!.structuredValue, undefined, 'a tombstone has no value');
    const upd = envelope(changes[1]!);
    assert.deepEqual([upd.before!.name, upd.after!.name], ['ann', 'ann2'], 'REPLICA IDENTITY FULL gives the old row');
    const del = envelope(changes[2]!);
    assert.equal(del.before!.id, 2);
    assert.equal(del.before!.item, '', 'a key-only old tuple: required columns get Debezium\'s fallback');
    assert.equal(del.before!.note, null, 'and optional ones null');
    assert.equal(del.after, null);
    assert.equal(typeof envelope(changes[0]!).source.txId, 'bigint');
    assert.ok((envelope(changes[0]!).source.lsn as bigint) > createdAt);
    // One transaction: same txId, and offsets (l, i) increasing; the last one's c = its l.
    const txOffsets = changes.slice(1, 5).map(offsetOf);
    assert.deepEqual(txOffsets.map((o) => o.i), [0, 1, 2, 3]);
    assert.ok(txOffsets.every((o) => o.l === txOffsets[0]!.l));
    assert.equal(txOffsets[3]!.c, txOffsets[3]!.l);
    assert.notEqual(txOffsets[1]!.c, txOffsets[1]!.l);

    // Acks bound the slot: acknowledging the middle of the transaction confirms only the one before it.
    const slotLsn = async () => parseLsn((await slot(db, 'tributary_cdc1'))!.confirmed_flush_lsn!);
    read.ack(changes[2]!, 52 + 3);
    await eventually(async () => (await slotLsn()) === BigInt(offsetOf(changes[0]!).l as string), { message: 'slot at the end of the first streamed transaction' });
    read.ack(changes[4]!, 52 + 5);
    await eventually(async () => (await slotLsn()) === BigInt(txOffsets[3]!.l as string), { message: 'slot at the end of the second transaction' });
    assert.ok((await slotLsn()) < BigInt(offsetOf(changes[5]!).l as string), 'never past the last acknowledged record');

    // A new table (matching the include list) and a schema change are picked up while running.
    await db.query('CREATE TABLE later (id int PRIMARY KEY, v text)');
    await db.query("INSERT INTO later VALUES (1, 'one')");
    await db.query('ALTER TABLE orders ADD COLUMN qty int');
    await db.query("INSERT INTO orders VALUES (101, 'q', 1, NULL, NULL, 7)");
    const more = await read.records(2);
    assert.deepEqual(more.map((r) => r.topic), ['shop.public.later', 'shop.public.orders']);
    assert.equal(envelope(more[0]!).after!.v, 'one');
    assert.equal(envelope(more[1]!).after!.qty, 7);
    assert.ok(more[1]!.valueSchema!.fields[1]!.schema!.fields.some((f) => f.name === 'qty'));

    await read.drainAndEnd();
    await plugin.connectorDeleted({ connector });
    assert.equal(await slot(db, 'tributary_cdc1'), undefined, 'ConnectorDeleted dropped the slot');
    assert.equal((await db.query("SELECT count(*)::int AS n FROM pg_publication WHERE pubname = 'tributary_cdc1'")).rows[0]!.n, 0);
  });

  test('one credit at a time (as a worker grants before it knows record sizes): every snapshot row, the last marked done, then the stream', { timeout: 60_000 }, async () => {
    const db = await freshDatabase('cdc');
    dbs.push(db);
    await db.query('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await db.query(`INSERT INTO items SELECT g, 'item-' || g FROM generate_series(1, 5) g`);
    const plugin = inProcessPlugin(postgresCdcPlugin);
    const connector = { name: 'cdc1credit', config: { 'connector.class': POSTGRES_CDC, 'database.url': db.url, 'topic.prefix': 'one', 'heartbeat.interval.ms': '0' } };
    await plugin.connectorCreated({ connector });
    const read = openRead(plugin, connector, 'stream');
    const snapshot: PluginRecord[] = [];
    for (let i = 0; i < 5; i++) {
      read.credit(1);
      snapshot.push(...(await read.batch()));
    }
    assert.deepEqual(snapshot.map((r) => key(r)!.id).sort(), [1, 2, 3, 4, 5], 'each snapshot row once');
    assert.ok(snapshot.every((r) => envelope(r).op === 'r'));
    assert.equal(offsetOf(snapshot[4]!).done, true, 'the last snapshot record marks the snapshot done');
    assert.ok(snapshot.slice(0, 4).every((r) => offsetOf(r).done === undefined));
    await db.query("INSERT INTO items VALUES (6, 'after')");
    read.credit(1);
    const [streamed] = await read.batch();
    assert.equal(envelope(streamed!).op, 'c');
    assert.equal(key(streamed!)!.id, 6);
    await read.drainAndEnd();
    await plugin.connectorDeleted({ connector });
  });

  test('kill -9 of the plugin process mid-stream: the restart from the last acknowledged offset replays exactly the unacknowledged records', { timeout: 90_000 }, async () => {
    const db = await freshDatabase('cdc');
    dbs.push(db);
    await db.query('CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)');
    await db.query('INSERT INTO t SELECT g, 0 FROM generate_series(1, 200) g');
    const host = new PluginHost({ startTimeoutMs: 20_000, childProcess: { restartInitialMs: 100, restartMaxMs: 500, healthIntervalMs: 0 } });
    host.register({ name: POSTGRES_CDC, source: { type: 'command', command: process.execPath, args: ['--import', 'tsx', cdcMain], cwd: repoRoot } });
    try {
      const connector = { name: 'cdc2', config: { 'database.url': db.url, 'topic.prefix': 'k', 'heartbeat.interval.ms': '0' } };
      const first = await host.start(POSTGRES_CDC);
      await first.plugin.connectorCreated({ connector });
      const read = openRead(first.plugin, connector, 'stream');
      read.credit(100_000);
      const seen: string[] = [];
      const label = (r: PluginRecord) => {
        const e = envelope(r);
        return `${e.op}:${String(key(r)!.id)}:${String(e.after?.v ?? '-')}`;
      };
      const snap = await read.records(200);
      snap.forEach((r) => seen.push(label(r)));
      // 30 transactions of 3 updates each, while the plugin streams.
      for (let round = 1; round <= 30; round++) await db.query(`UPDATE t SET v = ${round} WHERE id IN (${round}, ${round + 50}, ${round + 100})`);
      const streamed = await read.records(90);
      streamed.forEach((r) => seen.push(label(r)));
      // Ack through the middle of transaction 20 (its 2nd record), then kill -9.
      const ackedIndex = 200 + 19 * 3 + 1;
      const all = [...snap, ...streamed];
      read.ack(all[ackedIndex]!, ackedIndex + 1);
      const lastFullTxnEnd = BigInt(offsetOf(all[200 + 19 * 3 - 1]!).l as string);
      await eventually(async () => parseLsn((await slot(db, 'tributary_cdc2'))!.confirmed_flush_lsn!) === lastFullTxnEnd, { message: 'slot confirmed through transaction 19' });
      process.kill(first.pid!, 'SIGKILL');
      read.abort();
      await first.close();
      // While it is down, more changes.
      for (let round = 31; round <= 40; round++) await db.query(`UPDATE t SET v = ${round} WHERE id IN (${round}, ${round + 50}, ${round + 100})`);

      const second = await host.start(POSTGRES_CDC);
      assert.notEqual(second.pid, first.pid);
      await eventually(async () => (await slot(db, 'tributary_cdc2'))?.active === false, { timeoutMs: 20_000, message: 'the killed stream released the slot' });
      const again = openRead(second.plugin, connector, 'stream', all[ackedIndex]!.offset);
      again.credit(100_000);
      const replay = await again.records(30 * 3 - (19 * 3 + 2) + 10 * 3);
      const labels = replay.map(label);
      assert.deepEqual(labels.slice(0, 90 - (ackedIndex + 1 - 200)), seen.slice(ackedIndex + 1), 'the unacknowledged records, exactly, in order');
      const expectedTail = Array.from({ length: 10 }, (_, k) => [31 + k, 81 + k, 131 + k].map((id) => `u:${id}:${31 + k}`)).flat();
      assert.deepEqual(labels.slice(90 - (ackedIndex + 1 - 200)), expectedTail, 'then the changes made while it was down');
      assert.ok(parseLsn((await slot(db, 'tributary_cdc2'))!.confirmed_flush_lsn!) <= lastFullTxnEnd, 'nothing confirmed beyond the acknowledged records');
      await again.drainAndEnd();
      await second.plugin.connectorDeleted({ connector });
      assert.equal(await slot(db, 'tributary_cdc2'), undefined);
      await second.close();
    } finally {
      await host.stop(2_000);
    }
  });
});
