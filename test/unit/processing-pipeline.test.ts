/**
 * The processing pipeline on its own (no services): converters round-trip structured → bytes →
 * structured, the source side turns structured plugin records into the JSON Kafka Connect
 * writes, the sink side hands structured values to the plugin, plugin bytes pass unchanged,
 * and the error handler fails, skips or dead-letters exactly the failing record.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import pino from 'pino';
import { RecordSchema, type Record as PluginRecord } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import {
  ByteArrayConverter,
  JsonConverter,
  StringConverter,
  Schemas,
  Struct,
  structSchema,
  schemaToProto,
  valueToProto,
  valueFromProto,
  schemaFromProto,
  valueEquals,
  type Value,
  type Schema,
} from '../../src/processing/index.js';
import { parseProcessing } from '../../src/processing/config.js';
import { ProcessingPipeline } from '../../src/processing/pipeline.js';
import { ToleranceExceededError } from '../../src/processing/errors.js';
import type { FetchedBatch, ProducerRecord } from '../../src/kafka/index.js';

const silent = pino({ level: 'silent' });
const order = structSchema([
  ['id', Schemas.int64],
  ['name', Schemas.optionalString],
]);

function pluginRecord(init: Parameters<typeof create<typeof RecordSchema>>[1]): PluginRecord {
  return create(RecordSchema, init);
}

function pipeline(config: Record<string, string>, kind: 'source' | 'sink' = 'source', dlq?: ProducerRecord[]): ProcessingPipeline {
  return new ProcessingPipeline({ settings: parseProcessing(config, { kind }), logger: silent, writeDeadLetters: dlq ? async (r) => void dlq.push(...r) : undefined });
}

describe('converters round-trip structured → bytes → structured', () => {
  const cases: Array<[string, Schema | null, Value]> = [
    ['struct', order, new Struct(order).put('id', 7n).put('name', 'x')],
    ['string', Schemas.string, 'text'],
    ['schemaless map', null, new Map<Value, Value>([['a', 1n]])],
  ];
  for (const schemasEnable of [true, false]) {
    const c = new JsonConverter({ schemasEnable, decimalFormat: 'BASE64', replaceNullWithDefault: true });
    for (const [name, s, v] of cases) {
      it(`JsonConverter (schemas.enable=${schemasEnable}): ${name}`, () => {
        const back = c.toConnect('t', c.fromConnect('t', s, v));
        if (schemasEnable || s === null) assert.ok(valueEquals(back.value, v));
        else assert.ok(back.value !== null);
      });
    }
  }
  it('StringConverter: text', () => {
    const c = new StringConverter();
    assert.equal(c.toConnect('t', c.fromConnect('t', Schemas.string, 'héllo')).value, 'héllo');
  });
  it('ByteArrayConverter: bytes, and refuses a struct', () => {
    const c = new ByteArrayConverter();
    const bytes = Uint8Array.from([1, 2, 3]);
    assert.deepEqual(c.toConnect('t', c.fromConnect('t', Schemas.bytes, bytes)).value, bytes);
    assert.throws(() => c.fromConnect('t', order, new Struct(order).put('id', 1n)), /Invalid schema type for ByteArrayConverter: STRUCT/);
  });
  it('protocol Data round-trips with its schema', () => {
    const v = new Struct(order).put('id', 9n).put('name', null);
    const s = schemaFromProto(create(RecordSchema, { valueSchema: schemaToProto(order) }).valueSchema!);
    const back = valueFromProto(create(RecordSchema, { structuredValue: valueToProto(v, order) }).structuredValue, s);
    assert.ok(valueEquals(back, v));
  });
});

describe('source side', () => {
  it('writes a structured plugin record with JsonConverter as Kafka Connect does', async () => {
    const p = pipeline({ 'value.converter': 'org.apache.kafka.connect.json.JsonConverter', 'value.converter.schemas.enable': 'false' });
    const out = await p.toKafka([pluginRecord({ offset: Buffer.from('1'), valueSchema: schemaToProto(order), structuredValue: valueToProto(new Struct(order).put('id', 5n).put('name', 'n'), order) })], { connector: 'c', partition: 'p', defaultTopic: 't' });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.value!.toString(), '{"id":5,"name":"n"}');
  });

  it('passes plugin bytes unchanged with the default converters (no structured form built)', () => {
    const p = pipeline({});
    const value = Buffer.from('raw');
    const out = p.toKafka([pluginRecord({ offset: Buffer.from('1'), value })], { connector: 'c', partition: 'p', defaultTopic: 't' });
    assert.ok(Array.isArray(out), 'pass-through answers synchronously');
    assert.equal((out as ProducerRecord[])[0]!.value, value);
  });

  it('errors.tolerance=none fails with the record position and the stage', async () => {
    const p = pipeline({});
    const bad = pluginRecord({ offset: Buffer.from('42'), valueSchema: schemaToProto(order), structuredValue: valueToProto(new Struct(order).put('id', 1n), order) });
    await assert.rejects(Promise.resolve(p.toKafka([bad], { connector: 'c', partition: 'p', defaultTopic: 't' })), (err: unknown) => {
      assert.ok(err instanceof ToleranceExceededError);
      assert.equal(err.stage, 'VALUE_CONVERTER');
      assert.match(err.message, /offset 42/);
      return true;
    });
  });

  it('errors.tolerance=all with a DLQ: the bad record goes to the DLQ with context headers, the good one to its topic', async () => {
    const p = pipeline({ 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': 'dlq', 'errors.deadletterqueue.context.headers.enable': 'true' });
    const good = pluginRecord({ offset: Buffer.from('1'), value: Buffer.from('ok') });
    const bad = pluginRecord({ offset: Buffer.from('2'), valueSchema: schemaToProto(order), structuredValue: valueToProto(new Struct(order).put('id', 1n), order) });
    const out = await p.toKafka([good, bad], { connector: 'c', partition: 'p', defaultTopic: 't' });
    assert.deepEqual(out.map((r) => r.topic), ['t', 'dlq']);
    const headers = Object.fromEntries(out[1]!.headers!.map((h) => [h.key, h.value!.toString()]));
    assert.equal(headers['__connect.errors.stage'], 'VALUE_CONVERTER');
    assert.equal(headers['__connect.errors.class.name'], 'org.apache.kafka.connect.converters.ByteArrayConverter');
    assert.equal(headers['__connect.errors.exception.class.name'], 'org.apache.kafka.connect.errors.DataException');
    assert.equal(headers['__connect.errors.offset'], '2');
    assert.match(headers['__connect.errors.exception.message']!, /STRUCT/);
  });
});

describe('sink side', () => {
  const batch = (values: Array<string | null>): FetchedBatch => ({
    topic: 'in',
    partition: 0,
    nextOffset: BigInt(values.length),
    highWatermark: BigInt(values.length),
    records: values.map((v, i) => ({ offset: BigInt(i), key: null, value: v === null ? null : Buffer.from(v), headers: [], timestamp: 1000n })),
  });

  it('hands JSON values to the plugin as structured_value with its schema', async () => {
    const p = pipeline({ 'value.converter': 'json' }, 'sink');
    const out = await p.fromKafka(batch(['{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false},"payload":{"id":3}}']), { connector: 'c', partition: 'p' });
    assert.equal(out.length, 1);
    const rec = create(RecordSchema, out[0]!);
    const s = schemaFromProto(rec.valueSchema!);
    const v = valueFromProto(rec.structuredValue, s) as Struct;
    assert.equal(v.get('id'), 3n);
    assert.equal(rec.value, undefined);
  });

  it('dead-letters a record the converter cannot read, before handing the rest over', async () => {
    const dlq: ProducerRecord[] = [];
    const p = pipeline({ 'value.converter': 'json', 'value.converter.schemas.enable': 'false', 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': 'dlq', 'errors.deadletterqueue.context.headers.enable': 'true' }, 'sink', dlq);
    const out = await p.fromKafka(batch(['{"a":1}', 'not json', '[1]']), { connector: 'c', partition: 'p' });
    assert.deepEqual(out.map((r) => r.kafkaOffset), [0n, 2n]);
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]!.value!.toString(), 'not json');
    const headers = Object.fromEntries(dlq[0]!.headers!.map((h) => [h.key, h.value!.toString()]));
    assert.equal(headers['__connect.errors.topic'], 'in');
    assert.equal(headers['__connect.errors.partition'], '0');
    assert.equal(headers['__connect.errors.offset'], '1');
  });
});

describe('config', () => {
  it('refuses a dead-letter topic that is also an input topic, an unknown converter and duplicate transform names', () => {
    assert.throws(
      () => parseProcessing({ 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': 'in', 'value.converter': 'com.example.Nope', transforms: 'a,a' }, { kind: 'sink', topics: ['in'] }),
      (err: unknown) => {
        const keys = (err as { problems: Array<{ key: string }> }).problems.map((p) => p.key);
        assert.ok(keys.includes('errors.deadletterqueue.topic.name'));
        assert.ok(keys.includes('value.converter'));
        assert.ok(keys.includes('transforms'));
        return true;
      },
    );
  });
});

describe('unknown keys and ListPlugins', () => {
  it('reports keys nobody reads, not the processing keys a config uses', async () => {
    const { unknownKeys } = await import('../../src/processing/index.js');
    const config = {
      'connector.class': 'x',
      topic: 't',
      tpoic: 'typo',
      'value.converter': 'json',
      'value.converter.schemas.enable': 'false',
      'value.converter.schemas.enabel': 'typo',
      transforms: 'a',
      'transforms.a.type': 'InsertField$Value',
      'transforms.a.static.field': 'f',
      'transforms.a.statc.value': 'typo',
      'errors.tolerance': 'all',
    };
    assert.deepEqual(unknownKeys(config, ['connector.class', 'topic'], 'source'), ['tpoic', 'transforms.a.statc.value', 'value.converter.schemas.enabel']);
  });
  it('lists converters, transforms and predicates with their config specs', async () => {
    const { processingPlugins } = await import('../../src/processing/index.js');
    const list = processingPlugins();
    const insert = list.find((p) => p.name === 'org.apache.kafka.connect.transforms.InsertField$Value');
    assert.equal(insert?.type, 'transformation');
    assert.ok(insert.configKeys.some((k) => k.name === 'static.field'));
    assert.ok(list.some((p) => p.type === 'converter' && p.name === 'org.apache.kafka.connect.json.JsonConverter' && p.configKeys.some((k) => k.name === 'schemas.enable')));
    assert.ok(list.some((p) => p.type === 'predicate' && p.aliases.includes('RecordIsTombstone')));
  });
});
