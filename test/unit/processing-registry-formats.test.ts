/**
 * Confluent's ProtobufConverter and JsonSchemaConverter mappings without a registry: Connect
 * schema → registry schema text → Connect schema, values through the binary / JSON payload, the
 * message-index encoding, and config. Against a real registry and broker:
 * test/integration/schema-registry-protobuf-json.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { Ajv } from 'ajv';
import { ComponentConfig } from '../../src/processing/component-config.js';
import { parseProcessing } from '../../src/processing/config.js';
import { JsonConverter } from '../../src/processing/converters.js';
import { dateSchema, Decimal, decimalSchema, schema, Schemas, Struct, structSchema, timeSchema, timestampSchema, valueEquals, type Schema, type Value } from '../../src/processing/data.js';
import { parseJson } from '../../src/processing/json.js';
import { jsonSchemaFormat, jsonSchemaFromConnectSchema, jsonSchemaToConnectSchema } from '../../src/processing/json-schema.js';
import {
  decodeMessageIndexes,
  encodeMessageIndexes,
  normalizeListOptions,
  PROTOBUF_TAG,
  ProtobufFile,
  protobufFormat,
  protobufFromConnectSchema,
} from '../../src/processing/protobuf.js';
import { createRegistryConverter, jsonSchemaConverterKeys, registryConverterKeys, SchemaLookupPending, type RegistryFormat, type SchemaRegistryClient } from '../../src/processing/schema-registry.js';
import { InvalidArgumentError } from '../../src/errors.js';

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
  ],
  { name: 'com.example.Value' },
);

function sample(): Struct {
  return new Struct(full, [
    -8,
    300,
    70000,
    -(2n ** 62n) - 3n,
    Math.fround(1.5),
    0.1,
    true,
    'hello',
    Uint8Array.of(0, 255),
    new Decimal(-12345n, 2),
    new Date(Date.UTC(2024, 1, 29)),
    new Date(3_600_123),
    new Date(-1_700_000_000_123),
    ['a', 'b'],
    new Map<Value, Value>([['k', 5n]]),
    new Map<Value, Value>([[1, 'one']]),
    new Struct(inner, [1]),
  ]);
}

/** A registry in memory behind the converter's own seam (the real one is in the integration test). */
class MemoryRegistry implements SchemaRegistryClient {
  readonly schemas: Array<{ subject: string; schema: string; schemaType: string }> = [];
  register(subject: string, schema: string, schemaType: 'AVRO' | 'PROTOBUF' | 'JSON' = 'AVRO'): Promise<number> {
    let i = this.schemas.findIndex((s) => s.schema === schema && s.schemaType === schemaType);
    if (i < 0) i = this.schemas.push({ subject, schema, schemaType }) - 1;
    return Promise.resolve(i + 1);
  }
  schemaById(id: number): Promise<{ schema: string; schemaType: string }> {
    const s = this.schemas[id - 1];
    return s ? Promise.resolve(s) : Promise.reject(new Error(`no schema ${id}`));
  }
}

/** fromConnect/toConnect, awaiting the registry whenever the converter asks to. */
async function settle<T>(op: () => T): Promise<T> {
  for (;;) {
    try {
      return op();
    } catch (err) {
      if (!(err instanceof SchemaLookupPending)) throw err;
      await err.ready;
    }
  }
}

function converterWith(format: RegistryFormat<unknown, unknown>, registry: SchemaRegistryClient, props: Record<string, string> = {}, isKey = false) {
  const keys = format.schemaType === 'JSON' ? jsonSchemaConverterKeys : registryConverterKeys;
  const c = new ComponentConfig(isKey ? 'key.converter.' : 'value.converter.', keys, { 'schema.registry.url': 'http://127.0.0.1:9', ...props });
  return createRegistryConverter(c, isKey, format, () => registry);
}

/** A field's value; a nested Struct as its values (ProtobufData reads it back under another schema: optional fields with tags, short name). */
function field(s: Struct, name: string): Value {
  const v = s.get(name);
  return v instanceof Struct ? v.values : v;
}

describe('ProtobufConverter mapping (Confluent ProtobufData)', () => {
  it('writes a proto3 message in the schema name\'s package: int8/int16 as int32 with connect.type, repeated, map entries, logical types', () => {
    const { text, fullName } = protobufFromConnectSchema(full);
    assert.equal(fullName, 'com.example.Value');
    assert.match(text, /^syntax = "proto3";\npackage com\.example;\n/);
    for (const file of ['confluent/meta.proto', 'confluent/type/decimal.proto', 'google/protobuf/timestamp.proto', 'google/type/date.proto', 'google/type/timeofday.proto']) assert.ok(text.includes(`import "${file}";`), file);
    assert.match(text, / {2}int32 i8 = 1 \[\(confluent\.field_meta\) = \{ params \{ key: "connect\.type" value: "int8" \} \}\];/);
    assert.match(text, / {2}int64 i64 = 4;/);
    assert.match(text, / {2}float f32 = 5;/);
    assert.match(text, / {2}confluent\.type\.Decimal dec = 10 \[\(confluent\.field_meta\) = \{ params \{ key: "scale" value: "2" \} \}\];/);
    assert.match(text, / {2}google\.type\.Date day = 11;/);
    assert.match(text, / {2}google\.type\.TimeOfDay t = 12;/);
    assert.match(text, / {2}google\.protobuf\.Timestamp ts = 13;/);
    assert.match(text, / {2}repeated string arr = 14;/);
    assert.match(text, / {2}repeated ConnectDefault1Entry m = 15;/);
    assert.match(text, / {2}repeated ConnectDefault2Entry im = 16;/);
    assert.match(text, / {2}Inner in = 17;/);
    assert.match(text, / {2}message ConnectDefault1Entry \{\n {4}string key = 1;\n {4}int64 value = 2;\n {2}\}/);
    assert.match(text, / {2}message Inner \{\n {4}int32 x = 1;\n {2}\}/);
    // protoc-compatible: another parser reads the same text.
    const parsed = protobuf.parse(text, { keepCase: true });
    assert.equal(parsed.package, 'com.example');
  });

  it('names an unnamed root ConnectDefault1 with no package, and refuses a primitive root and nested arrays', () => {
    const s = structSchema([['a', Schemas.string], ['n', structSchema([['y', Schemas.boolean]])]]);
    const { text, fullName } = protobufFromConnectSchema(s);
    assert.equal(fullName, 'ConnectDefault1');
    assert.ok(!text.includes('package'));
    assert.match(text, /ConnectDefault2 n = 2;/);
    assert.throws(() => protobufFromConnectSchema(Schemas.string), /STRUCT/);
    assert.throws(() => protobufFromConnectSchema(structSchema([['aa', schema('array', { valueSchema: schema('array', { valueSchema: Schemas.int32 }) })]])), /ARRAY of ARRAY/);
  });

  it('round-trips structured → bytes → structured: values equal, fields read back optional with their tags, as ProtobufData reads them', async () => {
    const registry = new MemoryRegistry();
    const conv = converterWith(protobufFormat as RegistryFormat<unknown, unknown>, registry);
    const bytes = (await settle(() => conv.fromConnect('orders', full, sample())))!;
    // Confluent wire format: magic 0, the schema id, message index [0] as one 0 byte, the message.
    assert.equal(bytes[0], 0);
    assert.equal(Buffer.from(bytes).readInt32BE(1), 1);
    assert.equal(bytes[5], 0);
    assert.equal(registry.schemas[0]!.schemaType, 'PROTOBUF');
    assert.equal(registry.schemas[0]!.subject, 'orders-value');
    // The message decodes with protobufjs alone, from the registered text.
    const file = ProtobufFile.parse(registry.schemas[0]!.schema);
    const direct = file.message([0]).decode(bytes.subarray(6)).toJSON() as Record<string, unknown>;
    assert.equal(direct.i64, '-4611686018427387907');
    assert.deepEqual(direct.day, { year: 2024, month: 2, day: 29 });

    const back = await settle(() => conv.toConnect('orders', bytes));
    const st = back.value as Struct;
    assert.equal(back.schema!.name, 'Value');
    assert.equal(back.schema!.optional, false);
    const i8 = back.schema!.fields!.find((f) => f.name === 'i8')!.schema;
    assert.equal(i8.type, 'int8');
    assert.equal(i8.optional, true);
    assert.equal(i8.parameters?.[PROTOBUF_TAG], '1');
    assert.equal(back.schema!.fields!.find((f) => f.name === 'dec')!.schema.parameters?.scale, '2');
    assert.equal(back.schema!.fields!.find((f) => f.name === 'm')!.schema.name, 'connect_default1');
    const expected = sample();
    for (const f of full.fields!) assert.ok(valueEquals(field(st, f.name), field(expected, f.name)), `${f.name}: ${String(field(st, f.name))}`);
  });

  it('a null field is left out and reads back as proto3\'s default; a null message field reads back as null', async () => {
    const s = structSchema([['n', Schemas.optionalInt32], ['o', { ...inner, optional: true }]], { name: 'N' });
    const conv = converterWith(protobufFormat as RegistryFormat<unknown, unknown>, new MemoryRegistry());
    const bytes = (await settle(() => conv.fromConnect('t', s, new Struct(s, [null, null]))))!;
    assert.equal(bytes.length, 6);
    const back = (await settle(() => conv.toConnect('t', bytes))).value as Struct;
    assert.deepEqual(back.values, [0, null]);
  });

  it('message indexes: [0] is one 0 byte, others a zigzag count and indexes, as Confluent\'s MessageIndexes', () => {
    assert.deepEqual([...encodeMessageIndexes([0])], [0]);
    assert.deepEqual([...encodeMessageIndexes([1])], [2, 2]);
    assert.deepEqual([...encodeMessageIndexes([0, 2])], [4, 0, 4]);
    assert.deepEqual(decodeMessageIndexes(Uint8Array.of(0, 9), 0), { indexes: [0], next: 1 });
    assert.deepEqual(decodeMessageIndexes(Uint8Array.of(4, 0, 4, 9), 0), { indexes: [0, 2], next: 3 });
    const file = ProtobufFile.parse('syntax = "proto3"; package p; message A { message B {} message C { int32 z = 1; } } message D {}');
    assert.equal(file.message([1]).name, 'D');
    assert.equal(file.message([0, 1]).name, 'C');
    assert.deepEqual(file.indexesOf('p.A.C'), [0, 1]);
    assert.throws(() => file.message([5]), /names no message/);
  });

  it('reads schemas others wrote: Confluent\'s list syntax in field options, enums, map<> fields, sint/uint types; refuses references and oneofs', () => {
    const text = normalizeListOptions('message V {\n  int32 a = 1 [(confluent.field_meta) = {\n    params: [\n      {\n        key: "connect.type",\n        value: "int16"\n      }\n    ]\n  }];\n}');
    assert.match(text, /params \{/);
    const file = ProtobufFile.parse(`syntax = "proto3";\nimport "confluent/meta.proto";\n${text}`);
    const conv = (src: string) => ProtobufFile.parse(src);
    assert.equal(file.message([0]).fields.a!.name, 'a');
    const other = conv('syntax = "proto3"; message O { enum E { A = 0; B = 1; } E e = 1; map<string, int64> m = 2; sint32 s = 3; uint64 u = 4; }');
    const registry = new MemoryRegistry();
    void registry.register('x', 'syntax = "proto3"; message O { enum E { A = 0; B = 1; } E e = 1; map<string, int64> m = 2; sint32 s = 3; uint64 u = 4; }', 'PROTOBUF');
    const t = other.message([0]);
    const payload = t.encode({ e: 1, m: { k: 7 }, s: -3, u: 9 }).finish();
    const c = converterWith(protobufFormat as RegistryFormat<unknown, unknown>, registry);
    const wire = Buffer.concat([Buffer.of(0, 0, 0, 0, 1, 0), payload]);
    return settle(() => c.toConnect('x', wire)).then((back) => {
      const st = back.value as Struct;
      assert.equal(st.get('e'), 'B');
      assert.equal(st.schema.fields![0]!.schema.parameters?.['io.confluent.connect.protobuf.Enum'], 'E');
      assert.ok(valueEquals(st.get('m'), new Map<Value, Value>([['k', 7n]])));
      assert.equal(st.get('s'), -3);
      assert.equal(st.schema.fields![2]!.schema.parameters?.['io.confluent.connect.protobuf.Type'], 'sint32');
      assert.equal(st.get('u'), 9n);
      assert.throws(() => ProtobufFile.parse('syntax = "proto3"; import "other/thing.proto"; message A {}'), /schema references are not supported/);
      const oneof = ProtobufFile.parse('syntax = "proto3"; message U { oneof choice { int32 a = 1; string b = 2; } }');
      assert.throws(() => protobufFormat.decode({ file: oneof, messages: new Map() }, 't', 1, Uint8Array.of(0)), /oneof "choice" is not supported/);
    });
  });
});

describe('JsonSchemaConverter mapping (Confluent JsonSchemaData)', () => {
  const writer = new JsonConverter({ schemasEnable: false, decimalFormat: 'BASE64', replaceNullWithDefault: true, mapEntries: 'objects' });

  it('writes the JSON Schema JsonSchemaData writes: connect.index, connect.type, oneOf null for optional, map forms, logical types by title', () => {
    const node = JSON.parse(jsonSchemaFromConnectSchema(full, writer)) as { type: string; title: string; properties: Record<string, Record<string, unknown>> };
    assert.equal(node.type, 'object');
    assert.equal(node.title, 'com.example.Value');
    const p = node.properties;
    assert.deepEqual(p.i8, { type: 'integer', 'connect.type': 'int8', 'connect.index': 0 });
    assert.deepEqual(p.f32, { type: 'number', 'connect.type': 'float32', 'connect.index': 4 });
    assert.deepEqual(p.s, { oneOf: [{ type: 'null' }, { type: 'string' }], 'connect.index': 7 });
    assert.deepEqual(p.by, { type: 'string', 'connect.type': 'bytes', 'connect.index': 8 });
    assert.deepEqual(p.dec, { type: 'string', title: 'org.apache.kafka.connect.data.Decimal', 'connect.type': 'bytes', 'connect.version': 1, 'connect.parameters': { scale: '2' }, 'connect.index': 9 });
    assert.deepEqual(p.m, { type: 'object', additionalProperties: { type: 'integer', 'connect.type': 'int64' }, 'connect.type': 'map', 'connect.index': 14 });
    assert.deepEqual(p.im, {
      type: 'array',
      items: { type: 'object', properties: { key: { type: 'integer', 'connect.type': 'int32', 'connect.index': 0 }, value: { type: 'string', 'connect.index': 1 } } },
      'connect.type': 'map',
      'connect.index': 15,
    });
    assert.deepEqual(p.ts, { oneOf: [{ type: 'null' }, { type: 'integer', title: 'org.apache.kafka.connect.data.Timestamp', 'connect.type': 'int64', 'connect.version': 1 }], 'connect.index': 12 });
  });

  it('round-trips structured → bytes → structured, and the payload validates against the registered schema', async () => {
    const registry = new MemoryRegistry();
    const conv = converterWith(jsonSchemaFormat('BASE64') as RegistryFormat<unknown, unknown>, registry, {}, true);
    const bytes = (await settle(() => conv.fromConnect('orders', full, sample())))!;
    assert.equal(bytes[0], 0);
    assert.equal(Buffer.from(bytes).readInt32BE(1), 1);
    assert.equal(registry.schemas[0]!.subject, 'orders-key');
    assert.equal(registry.schemas[0]!.schemaType, 'JSON');
    const text = Buffer.from(bytes.subarray(5)).toString('utf8');
    assert.match(text, /^\{"i8":-8,"i16":300,"i32":70000,"i64":-4611686018427387907,"f32":1\.5,"f64":0\.1,"b":true,"s":"hello","by":"AP8=","dec":"z8c=",/);
    assert.match(text, /"m":\{"k":5\},"im":\[\{"key":1,"value":"one"\}\],"in":\{"x":1\}\}$/);
    const validate = new Ajv({ strict: false }).compile(JSON.parse(registry.schemas[0]!.schema) as object);
    assert.ok(validate(JSON.parse(text)), JSON.stringify(validate.errors));
    const back = await settle(() => conv.toConnect('orders', bytes));
    assert.equal(back.schema!.name, 'com.example.Value');
    assert.ok(valueEquals(back.value, sample()), String(back.value));
    assert.equal(back.schema!.fields!.find((f) => f.name === 's')!.schema.optional, true);
    assert.equal(back.schema!.fields!.find((f) => f.name === 'i8')!.schema.type, 'int8');
  });

  it('decimal.format=NUMERIC writes a Decimal as a JSON number with a number schema', async () => {
    const s = structSchema([['d', decimalSchema(2)]], { name: 'D' });
    const registry = new MemoryRegistry();
    const conv = converterWith(jsonSchemaFormat('NUMERIC') as RegistryFormat<unknown, unknown>, registry, { 'decimal.format': 'NUMERIC' });
    const bytes = (await settle(() => conv.fromConnect('t', s, new Struct(s, [new Decimal(-12345n, 2)]))))!;
    assert.equal(Buffer.from(bytes.subarray(5)).toString('utf8'), '{"d":-123.45}');
    assert.match(registry.schemas[0]!.schema, /"d":\{"type":"number","title":"org.apache.kafka.connect.data.Decimal"/);
    const back = (await settle(() => conv.toConnect('t', bytes))).value as Struct;
    assert.ok(valueEquals(back.get('d'), new Decimal(-12345n, 2)));
  });

  it('reads a JSON Schema others wrote: integer → INT64, number → FLOAT64, properties in order, nullable types', () => {
    const s: Schema = jsonSchemaToConnectSchema(parseJson('{"type":"object","title":"P","properties":{"n":{"type":"integer"},"x":{"type":"number"},"s":{"type":["string","null"]},"o":{"type":"object","properties":{"a":{"type":"boolean"}}}}}'));
    assert.equal(s.name, 'P');
    assert.deepEqual(s.fields!.map((f) => [f.name, f.schema.type, f.schema.optional]), [['n', 'int64', false], ['x', 'float64', false], ['s', 'string', true], ['o', 'struct', false]]);
    assert.throws(() => jsonSchemaToConnectSchema(parseJson('{"oneOf":[{"type":"string"},{"type":"integer"}]}')), /oneOf/);
  });
});

describe('registry converter config', () => {
  it('ProtobufConverter and JsonSchemaConverter are found by their Confluent class and short names, with their keys known', () => {
    for (const [name, cls] of [
      ['io.confluent.connect.protobuf.ProtobufConverter', 'io.confluent.connect.protobuf.ProtobufConverter'],
      ['protobuf', 'io.confluent.connect.protobuf.ProtobufConverter'],
      ['ProtobufConverter', 'io.confluent.connect.protobuf.ProtobufConverter'],
      ['io.confluent.connect.json.JsonSchemaConverter', 'io.confluent.connect.json.JsonSchemaConverter'],
      ['jsonschema', 'io.confluent.connect.json.JsonSchemaConverter'],
      ['JsonSchemaConverter', 'io.confluent.connect.json.JsonSchemaConverter'],
    ] as const) {
      const settings = parseProcessing({ 'value.converter': name, 'value.converter.schema.registry.url': 'http://registry:8081', 'value.converter.nope': 'x' }, { kind: 'source' });
      assert.equal(settings.valueConverter.className, cls, name);
      assert.ok(settings.knownKeys.has('value.converter.schema.registry.url'));
      assert.ok(!settings.knownKeys.has('value.converter.nope'));
    }
    assert.throws(
      () => parseProcessing({ 'value.converter': 'protobuf' }, { kind: 'source' }),
      (err: unknown) => err instanceof InvalidArgumentError && err.problems.some((p) => p.key === 'value.converter.schema.registry.url'),
    );
    assert.throws(
      () => parseProcessing({ 'key.converter': 'jsonschema', 'key.converter.schema.registry.url': 'http://r:1', 'key.converter.decimal.format': 'TEXT' }, { kind: 'source' }),
      (err: unknown) => err instanceof InvalidArgumentError && err.problems.some((p) => p.key === 'key.converter.decimal.format'),
    );
  });

  it('a schema id of another type is a DataError naming both types', async () => {
    const registry = new MemoryRegistry();
    await registry.register('x', '{"type":"string"}', 'AVRO');
    const conv = converterWith(protobufFormat as RegistryFormat<unknown, unknown>, registry);
    await assert.rejects(settle(() => conv.toConnect('x', Uint8Array.of(0, 0, 0, 0, 1, 0))), /schema id 1 is a AVRO schema, not Protobuf/);
  });
});
