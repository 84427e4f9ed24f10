/**
 * Cast, Flatten and TimestampConverter with Kafka Connect's semantics (cases taken from
 * apache/kafka's CastTest, FlattenTest and TimestampConverterTest), with and without schemas,
 * `$Key` and `$Value` variants, configured through the pipeline's config parser.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProcessing } from '../../src/processing/config.js';
import { Decimal, Schemas, Struct, decimalSchema, processingPlugins, schema, structSchema, timestampSchema, type Value } from '../../src/processing/index.js';
import type { ConnectRecord } from '../../src/processing/record.js';

const P = 'org.apache.kafka.connect.transforms.';

function rec(valueSchema: ConnectRecord['valueSchema'], value: Value, over: Partial<ConnectRecord> = {}): ConnectRecord {
  return { topic: 't', kafkaPartition: 0, keySchema: null, key: null, valueSchema, value, timestamp: 0, headers: [], ...over };
}

function one(type: string, props: Record<string, string>, r: ConnectRecord): ConnectRecord | null {
  const config: Record<string, string> = { transforms: 't', 'transforms.t.type': type };
  for (const [k, v] of Object.entries(props)) config[`transforms.t.${k}`] = v;
  const settings = parseProcessing(config, { kind: 'source' });
  let out: ConnectRecord | null = r;
  for (const t of settings.chain) out = out === null ? null : t.transform.apply(out);
  return out;
}

const map = (entries: Array<[string, Value]>): Map<Value, Value> => new Map<Value, Value>(entries);

describe('Cast', () => {
  it('is listed with its config spec under both class and short names (as are Flatten and TimestampConverter)', () => {
    const names = processingPlugins().filter((p) => p.name.startsWith(`${P}Cast$`));
    assert.deepEqual(names.map((p) => [p.name, p.aliases]), [[`${P}Cast$Key`, ['Cast$Key']], [`${P}Cast$Value`, ['Cast$Value']]]);
    assert.deepEqual(names[0]!.configKeys.map((k) => k.name), ['spec', 'replace.null.with.default']);
    for (const t of ['Flatten', 'TimestampConverter']) {
      for (const v of ['Key', 'Value']) {
        const p = processingPlugins().find((x) => x.name === `${P}${t}$${v}`);
        assert.equal(p?.type, 'transformation');
        assert.deepEqual(p.aliases, [`${t}$${v}`]);
      }
    }
    assert.deepEqual(processingPlugins().find((x) => x.name === `${P}TimestampConverter$Value`)!.configKeys.map((k) => k.name), ['field', 'target.type', 'format', 'unix.precision', 'replace.null.with.default']);
  });

  it('casts struct fields, keeping schema basics and optionality, and leaves other fields', () => {
    const s = structSchema(
      [
        ['i8', Schemas.int32],
        ['big', Schemas.int64],
        ['f', Schemas.optionalFloat64],
        ['b', Schemas.string],
        ['s', Schemas.float32],
        ['bytes', Schemas.bytes],
        ['keep', Schemas.string],
      ],
      { name: 'com.example.R', version: 3 },
    );
    const v = new Struct(s, [300, 2n ** 40n + 5n, 42.9, 'TRUE', 1.5, new Uint8Array([1, 2, 3]), 'x']);
    const out = one(`${P}Cast$Value`, { spec: 'i8:int8,big:int32,f:int64,b:boolean,s:string,bytes:string' }, rec(s, v))!;
    const os = out.valueSchema!;
    assert.equal(os.name, 'com.example.R');
    assert.equal(os.version, 3);
    assert.deepEqual(os.fields!.map((f) => [f.name, f.schema.type, f.schema.optional]), [
      ['i8', 'int8', false],
      ['big', 'int32', false],
      ['f', 'int64', true],
      ['b', 'boolean', false],
      ['s', 'string', false],
      ['bytes', 'string', false],
      ['keep', 'string', false],
    ]);
    assert.deepEqual((out.value as Struct).values, [44, 5, 42n, true, '1.5', 'AQID', 'x']);
  });

  it('casts the whole key or value, and refuses out-of-range strings with a DataError', () => {
    const key = one('Cast$Key', { spec: 'int16' }, rec(null, null, { keySchema: Schemas.int64, key: 70000n }))!;
    assert.equal(key.keySchema!.type, 'int16');
    assert.equal(key.key, 4464);
    const f = one('Cast$Value', { spec: 'float64' }, rec(Schemas.int32, 7))!;
    assert.equal(f.value, 7);
    assert.throws(() => one('Cast$Value', { spec: 'int8' }, rec(Schemas.string, '128')), /Value \(128\) was out of range/);
    assert.equal(one('Cast$Value', { spec: 'string' }, rec(Schemas.float64, 1))!.value, '1.0');
    assert.equal(one('Cast$Value', { spec: 'string' }, rec(decimalSchema(2), new Decimal(12345n, 2)))!.value, '123.45');
  });

  it('casts logical types: a Timestamp to int64 millis, to an ISO string', () => {
    const ms = Date.UTC(2026, 11, 2, 1, 2, 3, 4);
    assert.equal(one('Cast$Value', { spec: 'int64' }, rec(timestampSchema(), new Date(ms)))!.value, BigInt(ms));
    assert.equal(one('Cast$Value', { spec: 'string' }, rec(timestampSchema(), new Date(ms)))!.value, '2026-12-02T01:02:03.004Z');
  });

  it('casts schemaless maps and whole values (integers as bigint), adding a missing field as null', () => {
    const out = one('Cast$Value', { spec: 'a:int32,b:float32,c:string,missing:int8' }, rec(null, map([['a', 3.9], ['b', 1n], ['c', true]])))!;
    assert.deepEqual([...(out.value as Map<Value, Value>).entries()], [['a', 3n], ['b', 1], ['c', 'true'], ['missing', null]]);
    assert.equal(one('Cast$Key', { spec: 'boolean' }, rec(null, null, { key: 0n }))!.key, false);
    assert.throws(() => one('Cast$Value', { spec: 'a:int8' }, rec(null, map([['a', map([])]]))), /does not support casting from MAP/);
  });

  it('uses a field default for a null unless replace.null.with.default=false', () => {
    const s = structSchema([['n', schema('string', { optional: true, defaultValue: '5' })]]);
    const v = new Struct(s, [null]);
    const withDefault = one('Cast$Value', { spec: 'n:int32' }, rec(s, v))!;
    assert.equal((withDefault.value as Struct).values[0], 5);
    assert.equal(withDefault.valueSchema!.fields![0]!.schema.defaultValue, 5);
    const without = one('Cast$Value', { spec: 'n:int32', 'replace.null.with.default': 'false' }, rec(s, v))!;
    assert.equal((without.value as Struct).values[0], null);
  });

  it('passes a tombstone through and refuses bad specs naming the key', () => {
    const tomb = rec(Schemas.optionalString, null);
    assert.equal(one('Cast$Value', { spec: 'int8' }, tomb), tomb);
    assert.throws(() => one('Cast$Value', { spec: 'a:bytes' }, tomb), /transforms\.t\.spec.*does not support casting to BYTES/);
    assert.throws(() => one('Cast$Value', { spec: 'a:nope' }, tomb), /transforms\.t\.spec.*Invalid type found in casting spec: nope/);
    assert.throws(() => one('Cast$Value', { spec: 'int8,a:int16' }, tomb), /transforms\.t\.spec.*only specify a single cast/);
    assert.throws(() => one('Cast$Value', {}, tomb), /transforms\.t\.spec/);
  });
});

describe('Flatten', () => {
  const inner = structSchema([
    ['int8', Schemas.int8],
    ['string', Schemas.string],
    ['list', schema('array', { valueSchema: Schemas.int32 })],
  ]);
  const twoLevel = structSchema([['B', structSchema([['C', inner]], { optional: true })], ['top', timestampSchema()]], { name: 'com.example.Nested', version: 2 });

  it('flattens nested structs with the delimiter, keeping field schemas and propagating optionality', () => {
    const b = twoLevel.fields![0]!.schema;
    const c = new Struct(inner, [8, 'str', [1, 2]]);
    const v = new Struct(twoLevel, [new Struct(b, [c]), new Date(1000)]);
    const out = one(`${P}Flatten$Value`, { delimiter: '#' }, rec(twoLevel, v))!;
    const s = out.valueSchema!;
    assert.equal(s.name, 'com.example.Nested');
    assert.equal(s.version, 2);
    assert.deepEqual(s.fields!.map((f) => [f.name, f.schema.type, f.schema.optional]), [
      ['B#C#int8', 'int8', true],
      ['B#C#string', 'string', true],
      ['B#C#list', 'array', true],
      ['top', 'int64', false],
    ]);
    assert.equal(s.fields![2]!.schema.valueSchema, Schemas.int32);
    assert.equal(s.fields![3]!.schema.name, 'org.apache.kafka.connect.data.Timestamp');
    assert.deepEqual((out.value as Struct).values, [8, 'str', [1, 2], new Date(1000)]);
  });

  it('fills a null nested struct from an ancestor default, and refuses MAP fields with a schema', () => {
    const child = structSchema([['x', Schemas.int32]], { optional: true });
    const s = structSchema([['a', { ...child, defaultValue: new Struct(child, [9]) }]]);
    const out = one('Flatten$Value', {}, rec(s, new Struct(s, [null])))!;
    assert.equal(out.valueSchema!.fields![0]!.name, 'a.x');
    assert.equal(out.valueSchema!.fields![0]!.schema.defaultValue, 9);
    assert.deepEqual((out.value as Struct).values, [9]);
    const m = structSchema([['m', schema('map', { keySchema: Schemas.string, valueSchema: Schemas.string })]]);
    assert.throws(() => one('Flatten$Value', {}, rec(m, new Struct(m, [new Map()]))), /does not support MAP for record with schemas \(for field m\)/);
  });

  it('flattens schemaless nested maps (key and value), keeping nulls, arrays and bytes', () => {
    const key = map([['a', map([['b', map([['c', 1n]])], ['n', null]])], ['arr', [1n, 2n]], ['raw', new Uint8Array([1])]]);
    const out = one('Flatten$Key', {}, rec(null, null, { key }))!;
    assert.deepEqual([...(out.key as Map<Value, Value>).entries()], [['a.b.c', 1n], ['a.n', null], ['arr', [1n, 2n]], ['raw', new Uint8Array([1])]]);
    assert.throws(() => one('Flatten$Value', {}, rec(null, map([['s', new Struct(inner)]]))), /does not support class Struct for record without schemas \(for field s\)/);
    assert.throws(() => one('Flatten$Value', {}, rec(null, 'text')), /Only Map objects supported/);
  });

  it('passes a tombstone through', () => {
    const tomb = rec(twoLevel, null);
    assert.equal(one('Flatten$Value', {}, tomb), tomb);
  });
});

describe('TimestampConverter', () => {
  // TimestampConverterTest's fixtures: 1970-01-02T00:00:01.000Z and its parts.
  const DATE_PLUS_TIME = 86_401_000;
  const FMT = 'yyyy MM dd HH mm ss SSS z';
  const STR = '1970 01 02 00 00 01 000 UTC';
  const TC = `${P}TimestampConverter$Value`;

  it('converts a whole schemaless value between unix, string, Date, Time and Timestamp', () => {
    assert.equal(one(TC, { 'target.type': 'string', format: FMT }, rec(null, BigInt(DATE_PLUS_TIME)))!.value, STR);
    assert.deepEqual(one(TC, { 'target.type': 'Timestamp', format: FMT }, rec(null, STR))!.value, new Date(DATE_PLUS_TIME));
    assert.deepEqual(one(TC, { 'target.type': 'Date' }, rec(null, new Date(DATE_PLUS_TIME)))!.value, new Date(86_400_000));
    assert.deepEqual(one(TC, { 'target.type': 'Time' }, rec(null, new Date(DATE_PLUS_TIME)))!.value, new Date(1000));
    assert.equal(one(TC, { 'target.type': 'unix' }, rec(null, new Date(DATE_PLUS_TIME)))!.value, BigInt(DATE_PLUS_TIME));
    assert.equal(one(TC, { 'target.type': 'unix', 'unix.precision': 'seconds' }, rec(null, new Date(DATE_PLUS_TIME)))!.value, 86_401n);
    assert.equal(one(TC, { 'target.type': 'unix', 'unix.precision': 'nanoseconds' }, rec(null, new Date(DATE_PLUS_TIME)))!.value, 86_401_000_000_000n);
    assert.deepEqual(one(TC, { 'target.type': 'Timestamp', 'unix.precision': 'microseconds' }, rec(null, 86_401_000_999n))!.value, new Date(DATE_PLUS_TIME));
    assert.equal(one(TC, { 'target.type': 'unix' }, rec(null, null))!.value, null);
  });

  it('converts a struct field with a schema, keeping other fields and the schema basics; $Key too', () => {
    const s = structSchema([['ts', Schemas.int64], ['other', Schemas.string]], { name: 'com.example.E' });
    const out = one(TC, { field: 'ts', 'target.type': 'Timestamp' }, rec(s, new Struct(s, [BigInt(DATE_PLUS_TIME), 'x'])))!;
    assert.equal(out.valueSchema!.name, 'com.example.E');
    assert.equal(out.valueSchema!.fields![0]!.schema.name, 'org.apache.kafka.connect.data.Timestamp');
    assert.deepEqual((out.value as Struct).values, [new Date(DATE_PLUS_TIME), 'x']);
    const key = one(`${P}TimestampConverter$Key`, { 'target.type': 'string', format: "yyyy-MM-dd'T'HH:mm:ss.SSSX" }, rec(null, null, { keySchema: timestampSchema(), key: new Date(DATE_PLUS_TIME) }))!;
    assert.equal(key.keySchema, Schemas.string);
    assert.equal(key.key, '1970-01-02T00:00:01.000Z');
    assert.throws(() => one('TimestampConverter$Value', { 'target.type': 'Date' }, rec(Schemas.string, '02 Jan 1970')), /no format configured \(transforms\.t\.format\)/);
    const parsed = one('TimestampConverter$Value', { 'target.type': 'Date', format: 'dd MMM yyyy' }, rec(Schemas.string, '02 Jan 1970 trailing'))!;
    assert.equal(parsed.valueSchema!.name, 'org.apache.kafka.connect.data.Date');
    assert.deepEqual(parsed.value, new Date(86_400_000));
  });

  it('converts a schemaless map field and refuses mismatched input with a DataError', () => {
    const out = one(TC, { field: 'when', 'target.type': 'string', format: 'yyyyMMddHHmmss' }, rec(null, map([['when', BigInt(DATE_PLUS_TIME)], ['k', 1n]])))!;
    assert.deepEqual([...(out.value as Map<Value, Value>).entries()], [['when', '19700102000001'], ['k', 1n]]);
    assert.deepEqual(one(TC, { 'target.type': 'Timestamp', format: 'yyyyMMddHHmmss' }, rec(null, '19700102000001'))!.value, new Date(DATE_PLUS_TIME));
    assert.throws(() => one(TC, { 'target.type': 'Timestamp', format: 'yyyy-MM-dd' }, rec(null, 'not a date')), /does not match pattern \(yyyy-MM-dd\)/);
    assert.throws(() => one(TC, { 'target.type': 'Timestamp' }, rec(null, 1.5)), /does not support class number objects as timestamps/);
    assert.throws(() => one(TC, { field: 'f', 'target.type': 'unix' }, rec(structSchema([['f', Schemas.int32]]), new Struct(structSchema([['f', Schemas.int32]]), [1]))), /does not correspond to a known timestamp type/);
  });

  it('refuses bad configs at validation naming the key', () => {
    const r = rec(null, 1n);
    assert.throws(() => one(TC, { 'target.type': 'string' }, r), /transforms\.t\.format.*requires format option/);
    assert.throws(() => one(TC, { 'target.type': 'string', format: 'yyyy-MM-dd G' }, r), /transforms\.t\.format.*pattern letter "G" is not supported/);
    assert.throws(() => one(TC, { 'target.type': 'epoch' }, r), /transforms\.t\.target\.type/);
    assert.throws(() => one(TC, { 'target.type': 'unix', 'unix.precision': 'minutes' }, r), /transforms\.t\.unix\.precision/);
    assert.throws(() => one(TC, {}, r), /transforms\.t\.target\.type/);
  });
});
