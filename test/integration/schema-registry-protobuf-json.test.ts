/**
 * Confluent's ProtobufConverter and JsonSchemaConverter on the real broker and a real schema
 * registry (Conduit's Confluent-compatible one, with HTTP Basic auth), as the Avro test does:
 * datagen writes structured records with logical types through the converter; the registry then
 * holds the `<topic>-key` / `<topic>-value` subjects with the PROTOBUF / JSON schema type; every
 * record is magic byte 0 + the registered id (+ message index [0] for Protobuf) and decodes with
 * @kafkajs/confluent-schema-registry on its own; every (partition, seq) is there once; and a
 * FileStreamSink with the same converter reads them back as structs with the generated values.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import protobuf from 'protobufjs';
import { RecordSchema } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { RecordShape } from '../../src/connectors/datagen/index.js';
import { javaToString, schemaFromProto, valueFromProto } from '../../src/processing/index.js';
import { readTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { startSchemaRegistry, type RegistryProcess } from '../support/schema-registry.js';

const PER_PARTITION = 100;
const PARTITIONS = 2;
const CARDINALITY = 40;
const FIELDS = 'amount:decimal,day:date,ts:timestamp,n:int32,big:int64,x:float64,ok:boolean,s:string';

const formats = [
  { name: 'ProtobufConverter', className: 'io.confluent.connect.protobuf.ProtobufConverter', schemaType: 'PROTOBUF', header: 6 },
  { name: 'JsonSchemaConverter', className: 'io.confluent.connect.json.JsonSchemaConverter', schemaType: 'JSON', header: 5 },
] as const;

describe('ProtobufConverter and JsonSchemaConverter with a real schema registry', () => {
  let dp: DataPlane;
  let registry: RegistryProcess;
  const auth = `Basic ${Buffer.from('tributary:s3cret').toString('base64')}`;
  before(async () => {
    registry = await startSchemaRegistry({ basicAuth: 'tributary:s3cret' });
    dp = await startDataPlane();
  });
  after(async () => {
    await dp?.close();
    await registry?.stop();
  });

  for (const format of formats) {
    it(`${format.name}: writes the Confluent wire format, registers ${format.schemaType} schemas under <topic>-key/-value, and reads back the generated values`, async () => {
      const topic = uniqueName(format.schemaType.toLowerCase());
      await dp.worker.admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
      const conv = (prefix: string): Record<string, string> => ({
        [prefix]: format.className,
        [`${prefix}.schema.registry.url`]: registry.url,
        [`${prefix}.basic.auth.credentials.source`]: 'USER_INFO',
        [`${prefix}.basic.auth.user.info`]: 'tributary:s3cret',
      });
      const converters = { ...conv('key.converter'), ...conv('value.converter') };
      const sourceConfig = { 'connector.class': 'datagen', topic, shape: 'fields', fields: FIELDS, partitions: String(PARTITIONS), 'key.cardinality': String(CARDINALITY), 'max.records': String(PER_PARTITION), ...converters };
      const source = await runAllPartitions(dp, `${topic}-source`, sourceConfig);
      const records = [...(await readTopic(dp.brokers, topic, PER_PARTITION * PARTITIONS)).values()].flat();
      await source.stop();

      // One version under each TopicNameStrategy subject, with the format's schema type.
      const ids: Record<string, number> = {};
      for (const side of ['key', 'value']) {
        const subject = `${topic}-${side}`;
        const res = await fetch(`${registry.url}/subjects/${subject}/versions/1`, { headers: { authorization: auth } });
        assert.equal(res.status, 200, subject);
        const body = (await res.json()) as { id: number; schemaType?: string; schema: string };
        assert.equal(body.schemaType, format.schemaType, subject);
        ids[side] = body.id;
        if (format.schemaType === 'PROTOBUF') assert.match(body.schema, side === 'value' ? /package tributary\.datagen\.fields;[\s\S]*message Value \{/ : /message Key \{\n {2}int64 id = 1;/);
        else assert.equal((JSON.parse(body.schema) as { title: string }).title, `tributary.datagen.fields.${side === 'key' ? 'Key' : 'Value'}`);
      }

      // Decoded without Tributary's code: JSON Schema by the library (its ajv told to allow
      // Confluent's connect.* keywords, as Confluent's own validator does); Protobuf by protobufjs
      // from the registered text, because the library cannot resolve Confluent's built-in
      // imports (confluent/type/decimal.proto, google/type/date.proto), which are not registered.
      const independent = new SchemaRegistry({ host: registry.url, auth: { username: 'tributary', password: 's3cret' } }, { JSON: { strict: false } });
      const valueText = ((await (await fetch(`${registry.url}/schemas/ids/${ids.value}`, { headers: { authorization: auth } })).json()) as { schema: string }).schema;
      const decode = format.schemaType === 'PROTOBUF' ? protobufDecoder(valueText, 'tributary.datagen.fields.Value') : async (b: Buffer) => (await independent.decode(b)) as Record<string, unknown>;
      const seen = new Map<string, Set<number>>();
      const expectedLines: string[] = [];
      const shape = new RecordShape(sourceConfig);
      for (const r of records) {
        // (readTopic hands keys over as text, so the wire format is checked on the value.)
        assert.equal(r.value![0], 0, 'magic byte');
        assert.equal(r.value!.readInt32BE(1), ids.value, 'value schema id');
        if (format.schemaType === 'PROTOBUF') assert.equal(r.value![5], 0, 'message index list [0]');
        // Decoded by the library alone, from the registry's schema.
        const decoded = (await decode(r.value!)) as { partition: string; seq: number | string; ts: unknown };
        const seq = Number(String(decoded.seq)); // a protobufjs Long for int64
        const seqs = seen.get(decoded.partition) ?? new Set<number>();
        assert.ok(!seqs.has(seq), `duplicate ${decoded.partition}/${seq}`);
        seqs.add(seq);
        seen.set(decoded.partition, seqs);
        // What datagen generated for this (partition, seq): the shape is deterministic.
        const tsMs = format.schemaType === 'PROTOBUF' ? timestampMs(decoded.ts) : Number(decoded.ts); // google.protobuf.Timestamp or epoch ms
        const generated = create(RecordSchema, shape.record(decoded.partition, Number(decoded.partition.slice(1)), CARDINALITY, seq, tsMs, undefined));
        const s = schemaFromProto(generated.valueSchema!);
        expectedLines.push(javaToString(valueFromProto(generated.structuredValue, s), s));
      }
      for (let p = 0; p < PARTITIONS; p++) assert.deepEqual([...(seen.get(`p${p}`) ?? [])].sort((a, b) => a - b), Array.from({ length: PER_PARTITION }, (_, i) => i), `p${p}: every seq once`);

      // A sink with the same converter gets the structs back; FileStreamSink prints them as Java's toString.
      const file = join(dp.dir, `${topic}-sink.txt`);
      const sink = await runAllPartitions(dp, `${topic}-sink`, { 'connector.class': 'FileStreamSink', topics: topic, file, ...converters });
      const lines = () => readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
      await eventually(() => lines().length >= records.length, { timeoutMs: 60_000 });
      await sink.stop();
      assert.deepEqual(lines().sort(), expectedLines.sort());
    });
  }
});

/** protobufjs alone, with its own copies of the well-known files the schema imports. */
function protobufDecoder(text: string, message: string): (b: Buffer) => Promise<Record<string, unknown>> {
  const root = new protobuf.Root();
  protobuf.parse(text, root, { keepCase: true });
  protobuf.parse('syntax = "proto3"; package confluent.type; message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }', root, { keepCase: true });
  protobuf.parse('syntax = "proto3"; package google.type; message Date { int32 year = 1; int32 month = 2; int32 day = 3; }', root, { keepCase: true });
  protobuf.parse('syntax = "proto3"; package google.protobuf; message Timestamp { int64 seconds = 1; int32 nanos = 2; }', root, { keepCase: true });
  protobuf.parse('syntax = "proto3"; package confluent; message Meta { map<string, string> params = 2; }', root, { keepCase: true });
  const type = root.lookupType(message);
  // After the 5-byte header, the message index list [0] is the single byte 0.
  return (b) => Promise.resolve(type.toObject(type.decode(b.subarray(6)), { longs: String }));
}

function timestampMs(ts: unknown): number {
  const t = ts as { seconds: { toString(): string } | number; nanos: number };
  return Number(t.seconds.toString()) * 1000 + Math.floor(t.nanos / 1_000_000);
}
