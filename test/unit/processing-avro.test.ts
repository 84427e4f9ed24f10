import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { avroType, fromConnectData, fromConnectSchema, toConnectData, toConnectSchema } from '../../src/processing/avro.js';
import { ComponentConfig } from '../../src/processing/component-config.js';
import { parseProcessing } from '../../src/processing/config.js';
import { avroConverterKeys, createAvroConverter } from '../../src/processing/schema-registry.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { isSecretKey } from '../../src/admin/views.js';
import { dateSchema, Decimal, decimalSchema, schema, Schemas, schemaEquals, Struct, structSchema, timeSchema, timestampSchema, valueEquals, type Value } from '../../src/processing/data.js';

const inner = structSchema([['x', Schemas.int32]], { name: 'com.example.Inner' });
const full = structSchema(
  [
    ['i8', Schemas.int8],
    ['i16', Schemas.int16],
    ['i32', Schemas.int32],
    ['i64', Schemas.int64],
    ['f32', Schemas.float32],
    ['f64', Schemas.float64],
    ['b', Schemas.boolean],
    ['s', Schemas.optionalString],
    ['by', Schemas.bytes],
    ['dec', decimalSchema(2)],
    ['day', dateSchema()],
    ['t', timeSchema()],
    ['ts', timestampSchema(true)],
    ['arr', schema('array', { valueSchema: Schemas.string })],
    ['m', schema('map', { keySchema: Schemas.string, valueSchema: Schemas.int64 })],
    ['im', schema('map', { keySchema: Schemas.int32, valueSchema: Schemas.string })],
    ['in', inner],
    ['in2', { ...inner, optional: true }],
    ['withDefault', schema('int32', { defaultValue: 7 })],
  ],
  { name: 'com.example.Value', version: 3, doc: 'a record' },
);

function sample(): Struct {
  return new Struct(full, [
    -8,
    300,
    70000,
    2n ** 62n + 1n,
    Math.fround(1.5),
    0.1,
    true,
    null,
    Uint8Array.of(0, 255),
    new Decimal(-12345n, 2),
    new Date(Date.UTC(2024, 1, 29)),
    new Date(3_600_000),
    new Date(1_700_000_000_123),
    ['a', 'b'],
    new Map<Value, Value>([['k', 5n]]),
    new Map<Value, Value>([[1, 'one']]),
    new Struct(inner, [1]),
    new Struct({ ...inner, optional: true }, [2]),
    null,
  ]);
}

describe('Connect ↔ Avro (Confluent AvroData)', () => {
  it('maps a Connect schema the way AvroData does: names, connect.* metadata, logical types, optional unions', () => {
    const json = fromConnectSchema(full) as Record<string, unknown>;
    assert.equal(json.type, 'record');
    assert.equal(json.name, 'Value');
    assert.equal(json.namespace, 'com.example');
    assert.equal(json['connect.name'], 'com.example.Value');
    assert.equal(json['connect.version'], 3);
    assert.equal(json['connect.doc'], 'a record');
    const fields = new Map((json.fields as Array<{ name: string; type: unknown; default?: unknown }>).map((f) => [f.name, f]));
    assert.deepEqual(fields.get('i8')!.type, { type: 'int', 'connect.type': 'int8' });
    assert.equal(fields.get('i32')!.type, 'int');
    assert.equal(fields.get('i64')!.type, 'long');
    assert.deepEqual(fields.get('s'), { name: 's', type: ['null', 'string'], default: null });
    assert.deepEqual(fields.get('dec')!.type, { type: 'bytes', scale: 2, precision: 64, logicalType: 'decimal', 'connect.version': 1, 'connect.parameters': { scale: '2' }, 'connect.name': 'org.apache.kafka.connect.data.Decimal' });
    assert.deepEqual(fields.get('day')!.type, { type: 'int', logicalType: 'date', 'connect.version': 1, 'connect.name': 'org.apache.kafka.connect.data.Date' });
    assert.deepEqual(fields.get('ts')!.type, ['null', { type: 'long', logicalType: 'timestamp-millis', 'connect.version': 1, 'connect.name': 'org.apache.kafka.connect.data.Timestamp' }]);
    assert.deepEqual(fields.get('m')!.type, { type: 'map', values: 'long' });
    assert.equal((fields.get('im')!.type as { items: { name: string } }).items.name, 'MapEntry');
    // The second use of a named record refers to it by name (Avro allows one definition).
    assert.deepEqual(fields.get('in2'), { name: 'in2', type: ['null', 'com.example.Inner'], default: null });
    assert.deepEqual(fields.get('withDefault'), { name: 'withDefault', type: { type: 'int', 'connect.default': 7 }, default: 7 });
  });

  it('names unnamed structs ConnectDefault, ConnectDefault2, … in io.confluent.connect.avro', () => {
    const s = structSchema([['a', structSchema([['b', Schemas.string]])]]);
    const json = fromConnectSchema(s) as { name: string; namespace: string; fields: Array<{ type: { name: string } }> };
    assert.equal(`${json.namespace}.${json.name}`, 'io.confluent.connect.avro.ConnectDefault');
    assert.equal(json.fields[0]!.type.name, 'ConnectDefault2');
    const back = toConnectSchema(json);
    assert.equal(back.name, undefined);
    assert.equal(back.fields![0]!.schema.name, undefined);
  });

  it('round-trips schema and value through Avro binary (bigint longs, decimals, dates, maps, nested and optional structs)', () => {
    const json = fromConnectSchema(full);
    const back = toConnectSchema(json);
    assert.ok(schemaEquals(back, full), JSON.stringify(back));
    const type = avroType(json);
    const bytes = type.toBuffer(fromConnectData(full, sample(), type));
    const value = toConnectData(back, type.fromBuffer(bytes));
    const expected = sample();
    expected.values[18] = 7; // a null field with a default reads as the default, as AvroData writes it
    assert.ok(valueEquals(value, expected), String(value));
    assert.equal(((value as Struct).get('i64') as bigint) - 1n, 2n ** 62n);
  });

  it('reads Avro written by others: enum → STRING, fixed → BYTES, a record without connect.name keeps its full name', () => {
    const s = toConnectSchema({ type: 'record', name: 'Other', namespace: 'ns', fields: [{ name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } }, { name: 'f', type: { type: 'fixed', name: 'F', size: 2 } }] });
    assert.equal(s.name, 'ns.Other');
    assert.equal(s.fields![0]!.schema.type, 'string');
    assert.equal(s.fields![1]!.schema.type, 'bytes');
    assert.throws(() => toConnectSchema(['int', 'string']), /union/);
  });

  it('a required field without a value is a DataError naming the conversion', () => {
    const s = structSchema([['a', Schemas.string]]);
    assert.throws(() => fromConnectData(s, new Struct(s, [null]), avroType(fromConnectSchema(s))), /null value for field that is required/);
  });
});

function converter(props: Record<string, string>, isKey = false) {
  // Building a converter does not contact the registry; converting does (see
  // test/integration/schema-registry-avro.test.ts, which runs against a real one).
  const c = new ComponentConfig(isKey ? 'key.converter.' : 'value.converter.', avroConverterKeys, { 'schema.registry.url': 'http://127.0.0.1:9', ...props });
  return createAvroConverter(c, isKey);
}

describe('AvroConverter config and wire format', () => {
  it('basic.auth.user.info is masked by the admin API like any secret', () => {
    assert.ok(isSecretKey('value.converter.basic.auth.user.info', undefined));
    assert.ok(avroConverterKeys.find((k) => k.name === 'basic.auth.user.info')?.secret);
  });

  it('bytes without the magic byte are a DataError', () => {
    assert.throws(() => converter({}).toConnect('t', Uint8Array.of(1, 0, 0, 0, 1, 2)), /Unknown magic byte/);
  });

  it('refuses bad config naming each key', () => {
    const problems = (props: Record<string, string>, isKey = false): string[] => {
      try {
        converter(props, isKey);
        return [];
      } catch (err) {
        assert.ok(err instanceof InvalidArgumentError);
        return err.problems.map((p) => p.key);
      }
    };
    assert.deepEqual(problems({ 'schema.registry.url': '' }), ['value.converter.schema.registry.url']);
    assert.deepEqual(problems({ 'schema.registry.url': 'http://a:1,http://b:1' }), ['value.converter.schema.registry.url']);
    assert.deepEqual(problems({ 'value.subject.name.strategy': 'Nope' }), ['value.converter.value.subject.name.strategy']);
    assert.deepEqual(problems({ 'value.subject.name.strategy': 'RecordNameStrategy' }, true), ['key.converter.value.subject.name.strategy']);
    assert.deepEqual(problems({ 'auto.register.schemas': 'false' }), ['value.converter.auto.register.schemas']);
    assert.deepEqual(problems({ 'use.latest.version': 'true' }), ['value.converter.use.latest.version']);
    assert.deepEqual(problems({ 'basic.auth.credentials.source': 'USER_INFO' }), ['value.converter.basic.auth.user.info']);
    assert.deepEqual(problems({ 'basic.auth.user.info': 'u:p' }), ['value.converter.basic.auth.user.info']);
    assert.deepEqual(problems({ 'basic.auth.credentials.source': 'USER_INFO', 'basic.auth.user.info': 'u:p' }), []);
  });

  it('is found by its Confluent class name in a connector config, and its keys are known', () => {
    const config = { 'value.converter': 'io.confluent.connect.avro.AvroConverter', 'value.converter.schema.registry.url': 'http://registry:8081', 'value.converter.connect.meta.data': 'false', 'value.converter.nope': 'x' };
    const settings = parseProcessing(config, { kind: 'source' });
    assert.equal(settings.valueConverter.className, 'io.confluent.connect.avro.AvroConverter');
    assert.ok(settings.knownKeys.has('value.converter.connect.meta.data'));
    assert.ok(!settings.knownKeys.has('value.converter.nope'));
    assert.throws(() => parseProcessing({ 'value.converter': 'avro' }, { kind: 'source' }), (err: unknown) => err instanceof InvalidArgumentError && err.problems.some((p) => p.key === 'value.converter.schema.registry.url'));
  });
});

