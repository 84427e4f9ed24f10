/** datagen at the plugin boundary: structured records with schemas, seq offsets, resume, keys, rate and validation. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SchemaType, type Record as PluginRecord } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { DATAGEN, datagenKeyId, datagenPlugin } from '../../src/connectors/datagen/index.js';
import { dataToJs, decimalToString } from '../../src/connectors/connect-data/index.js';
import { inProcessPlugin } from '../../src/plugins/index.js';
import { openRead } from '../support/plugin-streams.js';

const connector = (extra: Record<string, string> = {}) => ({ name: 'gen', config: { 'connector.class': DATAGEN, topic: 'orders', ...extra } });
const value = (r: PluginRecord) => dataToJs(r.structuredValue, r.valueSchema) as Record<string, unknown>;

test('datagen: orders records carry Connect schemas, partition and seq, and the seq is the offset', async () => {
  const read = openRead(inProcessPlugin(datagenPlugin), connector({ partitions: '2', 'key.cardinality': '10' }), 'p1');
  read.credit(50);
  const records = await read.records(50);
  assert.equal(records.length, 50);
  const first = records[0]!;
  assert.equal(first.valueSchema?.type, SchemaType.STRUCT);
  assert.equal(first.valueSchema?.name, 'tributary.datagen.orders.Value');
  assert.deepEqual(first.valueSchema?.fields.map((f) => f.name), ['id', 'ordertime', 'orderid', 'itemid', 'orderunits', 'city', 'state', 'zipcode', 'partition', 'seq']);
  assert.equal(first.valueSchema?.fields[1]!.schema?.name, 'org.apache.kafka.connect.data.Timestamp');
  assert.equal(first.key, undefined);
  assert.equal(first.value, undefined);
  records.forEach((r, i) => {
    const v = value(r);
    assert.equal(v.partition, 'p1');
    assert.equal(v.seq, BigInt(i));
    assert.equal(Buffer.from(r.offset).toString(), String(i));
    const id = (dataToJs(r.structuredKey, r.keySchema) as { id: bigint }).id;
    assert.equal(id, v.id);
    assert.equal(Number(id), datagenKeyId(1, 10, i));
    assert.ok(Number(id) >= 10 && Number(id) < 20, `p1's ids are 10…19, got ${id}`);
  });
  assert.ok(new Set(records.map((r) => value(r).id)).size > 5, 'keys vary');
  assert.deepEqual((await read.drainAndEnd()).records, 50n);
});

test('datagen: opening at an offset resumes at offset + 1 with the same content; max.records stops a partition', async () => {
  const plugin = inProcessPlugin(datagenPlugin);
  const a = openRead(plugin, connector({ shape: 'users', 'max.records': '30' }), 'p0');
  a.credit(100);
  const all = await a.records(30);
  assert.equal(all.length, 30);
  await a.drainAndEnd();
  const b = openRead(plugin, connector({ shape: 'users', 'max.records': '30' }), 'p0', Buffer.from('19'));
  b.credit(100);
  const rest = await b.records(10);
  assert.deepEqual(rest.map((r) => value(r).seq), Array.from({ length: 10 }, (_, i) => BigInt(20 + i)));
  const strip = (r: PluginRecord) => ({ ...value(r), registertime: 0 });
  assert.deepEqual(rest.map(strip), all.slice(20).map(strip));
  const drained = await b.drainAndEnd();
  assert.equal(Buffer.from(drained.lastOffset!).toString(), '29');
});

test('datagen: a field spec gives those fields with their Connect types, and record.size.bytes pads', async () => {
  const read = openRead(inProcessPlugin(datagenPlugin), connector({ shape: 'fields', fields: 'price:decimal, day:date, ok:boolean, n:int32', 'record.size.bytes': '500' }), 'p0');
  read.credit(5);
  const [r] = await read.records(1);
  const fields = r!.valueSchema!.fields;
  assert.deepEqual(fields.map((f) => f.name), ['id', 'price', 'day', 'ok', 'n', 'partition', 'seq', 'pad']);
  assert.equal(fields[1]!.schema?.name, 'org.apache.kafka.connect.data.Decimal');
  assert.equal(fields[1]!.schema?.parameters.scale, '2');
  assert.equal(fields[2]!.schema?.name, 'org.apache.kafka.connect.data.Date');
  const v = value(r!);
  assert.match(decimalToString(v.price as Uint8Array, 2), /^\d+\.\d\d$/);
  assert.ok((v.pad as string).length > 400 && (v.pad as string).length < 500);
  await read.drainAndEnd();
});

test('datagen: records.per.second throttles (records over time stay within the rate plus one second of burst)', async () => {
  const read = openRead(inProcessPlugin(datagenPlugin), connector({ 'records.per.second': '200' }), 'p0');
  read.credit(10_000);
  const started = Date.now();
  await read.records(100);
  const elapsed = (Date.now() - started) / 1000;
  // The token bucket holds at most one second's worth, so N records take at least (N-200)/200 s.
  assert.ok(read.received <= 200 + 200 * elapsed + 1, `got ${read.received} in ${elapsed}s`);
  await read.drainAndEnd();
});

test('datagen: bad configs name the key', async () => {
  const plugin = inProcessPlugin(datagenPlugin);
  const problems = async (config: Record<string, string>) => (await plugin.validate({ connector: { name: 'g', config: { topic: 't', ...config } } })).errors.map((e) => e.key);
  assert.deepEqual(await problems({}), []);
  assert.deepEqual(await problems({ shape: 'nope' }), ['shape']);
  assert.deepEqual(await problems({ shape: 'fields' }), ['fields']);
  assert.deepEqual(await problems({ shape: 'fields', fields: 'a:int99' }), ['fields']);
  assert.deepEqual(await problems({ shape: 'fields', fields: 'seq:int64' }), ['fields']);
  assert.deepEqual(await problems({ fields: 'a:int32' }), ['fields']);
  assert.deepEqual(await problems({ partitions: '0', 'key.cardinality': '0' }), ['partitions', 'key.cardinality']);
  assert.deepEqual(await problems({ topic: '' }), ['topic']);
});
