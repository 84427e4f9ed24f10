/**
 * Every built-in transform and predicate on records with and without schemas, the `$Key`
 * variants, and a chain of three with a negated predicate, configured the Kafka Connect way and
 * run through the pipeline's config parser (so the names, aliases and keys are the ones a Kafka
 * Connect config uses).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProcessing } from '../../src/processing/config.js';
import { Schemas, Struct, structSchema, valueEquals, type Value } from '../../src/processing/index.js';
import type { ConnectRecord } from '../../src/processing/record.js';

const P = 'org.apache.kafka.connect.transforms.';
const schema = structSchema(
  [
    ['id', Schemas.int64],
    ['name', Schemas.optionalString],
    ['secret', Schemas.string],
  ],
  { name: 'com.example.User' },
);

function structRecord(over: Partial<ConnectRecord> = {}): ConnectRecord {
  return {
    topic: 'users',
    kafkaPartition: 2,
    keySchema: null,
    key: null,
    valueSchema: schema,
    value: new Struct(schema).put('id', 7n).put('name', 'ann').put('secret', 'pw'),
    timestamp: Date.UTC(2026, 11, 2, 1, 2, 3),
    headers: [],
    ...over,
  };
}

function mapRecord(entries: Array<[string, Value]>, over: Partial<ConnectRecord> = {}): ConnectRecord {
  return { ...structRecord(over), valueSchema: null, value: new Map<Value, Value>(entries), ...over };
}

/** Runs the configured chain the way the pipeline does (predicates, negate). */
function run(config: Record<string, string>, r: ConnectRecord): ConnectRecord | null {
  const settings = parseProcessing(config, { kind: 'source' });
  let out: ConnectRecord | null = r;
  for (const t of settings.chain) {
    if (t.predicate && t.predicate.test(out) === t.negate) continue;
    out = t.transform.apply(out);
    if (out === null) return null;
  }
  return out;
}

function one(type: string, props: Record<string, string>, r: ConnectRecord): ConnectRecord | null {
  const config: Record<string, string> = { transforms: 't', 'transforms.t.type': type };
  for (const [k, v] of Object.entries(props)) config[`transforms.t.${k}`] = v;
  return run(config, r);
}

describe('transforms', () => {
  it('InsertField$Value adds topic, partition, timestamp and a static field to a struct, keeping its schema name', () => {
    const out = one(`${P}InsertField$Value`, { 'topic.field': 'topic!', 'partition.field': 'p', 'timestamp.field': 'ts', 'static.field': 'src', 'static.value': 'db1' }, structRecord())!;
    const v = out.value as Struct;
    assert.equal(out.valueSchema!.name, 'com.example.User');
    assert.deepEqual(out.valueSchema!.fields!.map((f) => f.name), ['id', 'name', 'secret', 'topic', 'p', 'ts', 'src']);
    assert.equal(out.valueSchema!.fields![3]!.schema.optional, false);
    assert.equal(v.get('topic'), 'users');
    assert.equal(v.get('p'), 2);
    assert.equal((v.get('ts') as Date).getTime(), Date.UTC(2026, 11, 2, 1, 2, 3));
    assert.equal(v.get('src'), 'db1');
  });

  it('InsertField$Key works on a schemaless key; offset.field is refused on a source record', () => {
    const r = { ...structRecord(), keySchema: null, key: new Map<Value, Value>([['k', 1n]]) };
    const out = one('InsertField$Key', { 'topic.field': 't' }, r)!;
    assert.equal((out.key as Map<Value, Value>).get('t'), 'users');
    assert.throws(() => one('InsertField$Value', { 'offset.field': 'o' }, structRecord()), /Only SinkRecord/);
    const sink = one('InsertField$Value', { 'offset.field': 'o' }, { ...structRecord(), kafkaOffset: 99n })!;
    assert.equal((sink.value as Struct).get('o'), 99n);
  });

  it('ReplaceField$Value excludes, includes and renames (struct and map)', () => {
    const out = one(`${P}ReplaceField$Value`, { exclude: 'secret', renames: 'name:full_name' }, structRecord())!;
    assert.deepEqual(out.valueSchema!.fields!.map((f) => f.name), ['id', 'full_name']);
    assert.equal((out.value as Struct).get('full_name'), 'ann');
    const m = one('ReplaceField$Value', { include: 'a,b', renames: 'a:x' }, mapRecord([['a', 1n], ['b', 2n], ['c', 3n]]))!;
    assert.deepEqual([...(m.value as Map<Value, Value>).keys()], ['x', 'b']);
  });

  it('ReplaceField$Key renames key fields', () => {
    const ks = structSchema([['id', Schemas.int64]]);
    const out = one('ReplaceField$Key', { renames: 'id:user_id' }, { ...structRecord(), keySchema: ks, key: new Struct(ks).put('id', 1n) })!;
    assert.equal((out.key as Struct).get('user_id'), 1n);
  });

  it('MaskField$Value masks with the type\'s empty value or a replacement', () => {
    const out = one(`${P}MaskField$Value`, { fields: 'secret,id' }, structRecord())!;
    assert.equal((out.value as Struct).get('secret'), '');
    assert.equal((out.value as Struct).get('id'), 0n);
    const rep = one('MaskField$Value', { fields: 'secret', replacement: '****' }, structRecord())!;
    assert.equal((rep.value as Struct).get('secret'), '****');
    const key = one('MaskField$Key', { fields: 'k' }, { ...structRecord(), key: new Map<Value, Value>([['k', 'v']]) })!;
    assert.equal((key.key as Map<Value, Value>).get('k'), '');
  });

  it('ValueToKey builds the key from value fields', () => {
    const out = one(`${P}ValueToKey`, { fields: 'id' }, structRecord())!;
    assert.deepEqual(out.keySchema!.fields!.map((f) => f.name), ['id']);
    assert.equal((out.key as Struct).get('id'), 7n);
    const m = one('ValueToKey', { fields: 'a' }, mapRecord([['a', 'x'], ['b', 'y']]))!;
    assert.ok(valueEquals(m.key, new Map<Value, Value>([['a', 'x']])));
  });

  it('ExtractField$Value / $Key take one field with its schema', () => {
    const out = one(`${P}ExtractField$Value`, { field: 'name' }, structRecord())!;
    assert.equal(out.value, 'ann');
    assert.equal(out.valueSchema, Schemas.optionalString);
    const key = one('ExtractField$Key', { field: 'id' }, { ...structRecord(), key: new Map<Value, Value>([['id', 5n]]) })!;
    assert.equal(key.key, 5n);
  });

  it('HoistField$Value / $Key wrap the value in a one-field struct or map', () => {
    const out = one(`${P}HoistField$Value`, { field: 'line' }, { ...structRecord(), valueSchema: Schemas.string, value: 'hello' })!;
    assert.equal((out.value as Struct).get('line'), 'hello');
    const key = one('HoistField$Key', { field: 'k' }, { ...structRecord(), keySchema: null, key: 'x' })!;
    assert.ok(valueEquals(key.key, new Map<Value, Value>([['k', 'x']])));
  });

  it('Filter drops the record', () => {
    assert.equal(one(`${P}Filter`, {}, structRecord()), null);
  });

  it('RegexRouter rewrites a matching topic and leaves others', () => {
    assert.equal(one(`${P}RegexRouter`, { regex: '(.*)s', replacement: 'prod-$1' }, structRecord())!.topic, 'prod-user');
    assert.equal(one('RegexRouter', { regex: 'orders', replacement: 'x' }, structRecord())!.topic, 'users');
  });

  it('TimestampRouter names the topic from the record timestamp (UTC)', () => {
    assert.equal(one(`${P}TimestampRouter`, {}, structRecord())!.topic, 'users-20261202');
    assert.equal(one('TimestampRouter', { 'topic.format': '${timestamp}_${topic}', 'timestamp.format': "yyyy-MM-dd'T'HH" }, structRecord())!.topic, '2026-12-02T01_users');
  });

  it('InsertHeader, DropHeaders', () => {
    const out = one(`${P}InsertHeader`, { header: 'origin', 'value.literal': 'tributary' }, structRecord())!;
    assert.deepEqual(out.headers.map((h) => [h.key, h.value]), [['origin', 'tributary']]);
    const dropped = one(`${P}DropHeaders`, { headers: 'a,b' }, structRecord({ headers: [{ key: 'a', schema: null, value: null }, { key: 'c', schema: null, value: null }] }))!;
    assert.deepEqual(dropped.headers.map((h) => h.key), ['c']);
  });

  it('HeaderFrom$Value moves a field into a header; $Key copies', () => {
    const out = one(`${P}HeaderFrom$Value`, { fields: 'name', headers: 'user', operation: 'move' }, structRecord())!;
    assert.deepEqual(out.headers.map((h) => [h.key, h.value]), [['user', 'ann']]);
    assert.deepEqual(out.valueSchema!.fields!.map((f) => f.name), ['id', 'secret']);
    const key = one('HeaderFrom$Key', { fields: 'k', headers: 'kh', operation: 'copy' }, { ...structRecord(), key: new Map<Value, Value>([['k', 'v']]) })!;
    assert.equal(key.headers[0]!.value, 'v');
    assert.ok((key.key as Map<Value, Value>).has('k'));
  });

  it('SetSchemaMetadata$Value / $Key set name and version', () => {
    const out = one(`${P}SetSchemaMetadata$Value`, { 'schema.name': 'com.example.V2', 'schema.version': '2' }, structRecord())!;
    assert.equal(out.valueSchema!.name, 'com.example.V2');
    assert.equal(out.valueSchema!.version, 2);
    assert.equal((out.value as Struct).schema, out.valueSchema);
    const key = one('SetSchemaMetadata$Key', { 'schema.name': 'k' }, { ...structRecord(), keySchema: Schemas.string, key: 'x' })!;
    assert.equal(key.keySchema!.name, 'k');
  });

  it('refuses bad transform configs naming the key', () => {
    assert.throws(() => one('ExtractField$Value', {}, structRecord()), /transforms\.t\.field/);
    assert.throws(() => one('com.example.Unknown', {}, structRecord()), /transforms\.t\.type/);
    assert.throws(() => one('HeaderFrom$Value', { fields: 'a,b', headers: 'x', operation: 'move' }, structRecord()), /transforms\.t\.headers/);
  });
});

describe('predicates', () => {
  const base = (p: string, props: Record<string, string>): Record<string, string> => {
    const c: Record<string, string> = { transforms: 'drop', 'transforms.drop.type': 'Filter', 'transforms.drop.predicate': 'p', predicates: 'p', 'predicates.p.type': p };
    for (const [k, v] of Object.entries(props)) c[`predicates.p.${k}`] = v;
    return c;
  };
  it('TopicNameMatches', () => {
    assert.equal(run(base('org.apache.kafka.connect.transforms.predicates.TopicNameMatches', { pattern: 'user.*' }), structRecord()), null);
    assert.ok(run(base('TopicNameMatches', { pattern: 'orders' }), structRecord()));
  });
  it('HasHeaderKey', () => {
    assert.equal(run(base('HasHeaderKey', { name: 'h' }), structRecord({ headers: [{ key: 'h', schema: null, value: null }] })), null);
    assert.ok(run(base('HasHeaderKey', { name: 'h' }), structRecord()));
  });
  it('RecordIsTombstone', () => {
    assert.equal(run(base('RecordIsTombstone', {}), structRecord({ valueSchema: null, value: null })), null);
    assert.ok(run(base('RecordIsTombstone', {}), structRecord()));
  });
  it('a transform naming an unlisted predicate is a config error', () => {
    assert.throws(() => run({ transforms: 'f', 'transforms.f.type': 'Filter', 'transforms.f.predicate': 'nope' }, structRecord()), /transforms\.f\.predicate/);
  });
});

describe('a chain of three with a negated predicate', () => {
  const config = {
    transforms: 'onlyUsers,mask,route',
    'transforms.onlyUsers.type': `${P}Filter`,
    'transforms.onlyUsers.predicate': 'isUsers',
    'transforms.onlyUsers.negate': 'true',
    'transforms.mask.type': `${P}MaskField$Value`,
    'transforms.mask.fields': 'secret',
    'transforms.route.type': `${P}RegexRouter`,
    'transforms.route.regex': '(.*)',
    'transforms.route.replacement': 'masked-$1',
    predicates: 'isUsers',
    'predicates.isUsers.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
    'predicates.isUsers.pattern': 'users',
  };
  it('drops records of other topics, masks and routes the rest, in order', () => {
    assert.equal(run(config, structRecord({ topic: 'orders' })), null);
    const out = run(config, structRecord())!;
    assert.equal(out.topic, 'masked-users');
    assert.equal((out.value as Struct).get('secret'), '');
    assert.equal((out.value as Struct).get('name'), 'ann');
  });
});
