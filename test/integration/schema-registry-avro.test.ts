/**
 * Confluent's AvroConverter on the real broker and a real schema registry (Conduit's
 * Confluent-compatible one, with HTTP Basic auth): datagen writes structured records with
 * logical types through `io.confluent.connect.avro.AvroConverter`; the registry then holds the
 * `<topic>-key` / `<topic>-value` subjects; every record is in the Confluent wire format and
 * decodes with @kafkajs/confluent-schema-registry on its own, and the seqs are all there once
 * (credentials in the URL and the other subject name strategies work too);
 * a FileStreamSink with the same converter reads them back as structs equal to what datagen
 * generated for each (partition, seq).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { RecordSchema } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { RecordShape } from '../../src/connectors/datagen/index.js';
import { javaToString, schemaFromProto, valueFromProto } from '../../src/processing/index.js';
import { readTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { TaskState } from '../../src/worker/task-state.js';
import { startSchemaRegistry, type RegistryProcess } from '../support/schema-registry.js';

const PER_PARTITION = 150;
const PARTITIONS = 2;
const CARDINALITY = 50;
const FIELDS = 'amount:decimal,day:date,ts:timestamp,n:int32,big:int64,x:float64,ok:boolean,s:string';

describe('AvroConverter with a real schema registry', () => {
  let dp: DataPlane;
  let registry: RegistryProcess;
  before(async () => {
    registry = await startSchemaRegistry({ basicAuth: 'tributary:s3cret' });
    dp = await startDataPlane();
  });
  after(async () => {
    await dp?.close();
    await registry?.stop();
  });

  it('writes the Confluent wire format, registers the subjects, and reads back equal structs', async () => {
    const topic = uniqueName('avro');
    await dp.worker.admin.createTopics([{ name: topic, partitions: 2 }]);
    const avro = (prefix: string): Record<string, string> => ({
      [prefix]: 'io.confluent.connect.avro.AvroConverter',
      [`${prefix}.schema.registry.url`]: registry.url,
      [`${prefix}.basic.auth.credentials.source`]: 'USER_INFO',
      [`${prefix}.basic.auth.user.info`]: 'tributary:s3cret',
    });
    const converters = { ...avro('key.converter'), ...avro('value.converter') };
    const sourceConfig = { 'connector.class': 'datagen', topic, shape: 'fields', fields: FIELDS, partitions: String(PARTITIONS), 'key.cardinality': String(CARDINALITY), 'max.records': String(PER_PARTITION), ...converters };
    const source = await runAllPartitions(dp, `${topic}-source`, sourceConfig);
    const records = [...(await readTopic(dp.brokers, topic, PER_PARTITION * PARTITIONS)).values()].flat();
    await source.stop();

    // The subjects exist in the registry (read with the registry's own REST API).
    const auth = `Basic ${Buffer.from('tributary:s3cret').toString('base64')}`;
    for (const subject of [`${topic}-key`, `${topic}-value`]) {
      const res = await fetch(`${registry.url}/subjects/${subject}/versions`, { headers: { authorization: auth } });
      assert.equal(res.status, 200, subject);
      assert.deepEqual(await res.json(), [1], subject);
    }
    const independent = new SchemaRegistry({ host: registry.url, auth: { username: 'tributary', password: 's3cret' } });
    const valueId = await independent.getRegistryId(`${topic}-value`, 1);
    const byId = (await (await fetch(`${registry.url}/schemas/ids/${valueId}`, { headers: { authorization: auth } })).json()) as { schema: string };
    const registered = JSON.parse(byId.schema) as { name: string; namespace: string; fields: Array<{ name: string; type: unknown }> };
    assert.equal(registered.name, 'Value');
    assert.equal(registered.namespace, 'tributary.datagen.fields');
    assert.deepEqual(registered.fields.find((f) => f.name === 'ts')?.type, { type: 'long', 'connect.version': 1, 'connect.name': 'org.apache.kafka.connect.data.Timestamp', logicalType: 'timestamp-millis' });

    // Every value: magic byte 0, the registered id, and it decodes with the library alone.
    const seen = new Map<string, Set<number>>();
    const expectedLines: string[] = [];
    const shape = new RecordShape(sourceConfig);
    for (const r of records) {
      assert.equal(r.value![0], 0);
      assert.equal(r.value!.readInt32BE(1), valueId);
      const decoded = (await independent.decode(r.value!)) as { partition: string; seq: number; ts: number };
      const seqs = seen.get(decoded.partition) ?? new Set<number>();
      assert.ok(!seqs.has(decoded.seq), `duplicate ${decoded.partition}/${decoded.seq}`);
      seqs.add(decoded.seq);
      seen.set(decoded.partition, seqs);
      const generated = create(RecordSchema, shape.record(decoded.partition, Number(decoded.partition.slice(1)), CARDINALITY, decoded.seq, decoded.ts, undefined));
      const s = schemaFromProto(generated.valueSchema!);
      expectedLines.push(javaToString(valueFromProto(generated.structuredValue, s), s));
    }
    for (let p = 0; p < PARTITIONS; p++) assert.deepEqual([...(seen.get(`p${p}`) ?? [])].sort((a, b) => a - b), Array.from({ length: PER_PARTITION }, (_, i) => i), `p${p}: every seq once`);

    // A sink with the same converter gets the structs back.
    const file = join(dp.dir, 'avro-sink.txt');
    const sink = await runAllPartitions(dp, `${topic}-sink`, { 'connector.class': 'FileStreamSink', topics: topic, file, ...converters });
    const lines = () => readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
    await eventually(() => lines().length >= records.length, { timeoutMs: 30_000 });
    await sink.stop();
    assert.deepEqual(lines().sort(), expectedLines.sort());
  });

  it('RecordNameStrategy registers under the record name, TopicRecordNameStrategy under <topic>-<record name>', async () => {
    const topic = uniqueName('avro-strategy');
    await dp.worker.admin.createTopics([{ name: topic, partitions: 1 }]);
    const config = {
      'connector.class': 'datagen',
      topic,
      shape: 'users',
      'max.records': '5',
      'key.converter': 'avro',
      'key.converter.schema.registry.url': registry.url.replace('http://', 'http://tributary:s3cret@'),
      'key.converter.key.subject.name.strategy': 'TopicRecordNameStrategy',
      'value.converter': 'io.confluent.connect.avro.AvroConverter',
      'value.converter.schema.registry.url': registry.url.replace('http://', 'http://tributary:s3cret@'),
      'value.converter.value.subject.name.strategy': 'io.confluent.kafka.serializers.subject.RecordNameStrategy',
    };
    const runtime = await runAllPartitions(dp, `${topic}-source`, config);
    await readTopic(dp.brokers, topic, 5);
    await runtime.stop();
    const auth = { authorization: `Basic ${Buffer.from('tributary:s3cret').toString('base64')}` };
    for (const subject of ['tributary.datagen.users.Value', `${topic}-tributary.datagen.users.Key`]) {
      const res = await fetch(`${registry.url}/subjects/${subject}/versions`, { headers: auth });
      assert.equal(res.status, 200, subject);
    }
  });

  it('without the credentials the registry requires, the partition FAILS at VALUE_CONVERTER naming basic auth', async () => {
    const topic = uniqueName('avro-noauth');
    await dp.worker.admin.createTopics([{ name: topic, partitions: 1 }]);
    const config = { 'connector.class': 'datagen', topic, shape: 'users', 'max.records': '3', 'key.converter': 'string', 'value.converter': 'avro', 'value.converter.schema.registry.url': registry.url };
    const runtime = await runAllPartitions(dp, `${topic}-source`, config);
    try {
      await eventually(() => runtime.statuses()[0]?.state === TaskState.FAILED, { timeoutMs: 30_000 });
      const message = runtime.statuses()[0]!.error!.message;
      assert.match(message, /stage VALUE_CONVERTER \(io\.confluent\.connect\.avro\.AvroConverter\)/);
      assert.match(message, /Unauthorized.*basic\.auth\.credentials\.source/);
    } finally {
      await runtime.stop();
    }
  });
});
