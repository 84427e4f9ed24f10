/**
 * Apache Kafka's own quickstart configs (config/connect-file-source.properties and
 * connect-file-sink.properties, copied unchanged into test/fixtures/kafka-connect) run as
 * written on the real broker: the source's lines land in `connect-test`, the sink writes them
 * to `test.sink.txt`. Then the same pair with the JsonConverter Kafka Connect's
 * connect-standalone.properties sets (schemas.enable=true): the topic holds exactly the
 * envelopes Kafka Connect writes for FileStreamSource lines, and the sink file gets the lines
 * back. Relative `file` paths resolve against the working directory, as in Kafka Connect.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseProperties } from '../../src/worker/index.js';
import { readTopic, runAllPartitions, startDataPlane, type DataPlane } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';

const fixtures = new URL('../fixtures/kafka-connect/', import.meta.url);
const props = (file: string): Record<string, string> => Object.fromEntries(parseProperties(readFileSync(new URL(file, fixtures), 'utf8')));
const LINES = Array.from({ length: 50 }, (_, i) => `line ${i} "quoted" é`);

describe('Kafka Connect quickstart configs run unchanged', () => {
  let dp: DataPlane;
  const cwd = process.cwd();
  before(async () => {
    process.chdir(mkdtempSync(join(tmpdir(), 'tributary-quickstart-')));
    writeFileSync('test.txt', LINES.map((l) => `${l}\n`).join(''));
    dp = await startDataPlane();
  });
  after(async () => {
    await dp?.close();
    process.chdir(cwd);
  });

  async function runPair(converters: Record<string, string>, topic: string, sinkFile: string): Promise<Array<Buffer | null>> {
    await dp.worker.admin.deleteTopics([topic]).catch(() => undefined);
    await dp.worker.admin.createTopics([{ name: topic, partitions: 1 }]);
    const source: Record<string, string> = { ...props('connect-file-source.properties'), ...converters, topic };
    const sink: Record<string, string> = { ...props('connect-file-sink.properties'), ...converters, topics: topic, file: sinkFile };
    const src = await runAllPartitions(dp, `${source['name']}-${topic}`, source);
    const records = [...(await readTopic(dp.brokers, topic, LINES.length)).values()].flat();
    const snk = await runAllPartitions(dp, `${sink['name']}-${topic}`, sink);
    await eventually(() => readFileSync(sinkFile, 'utf8').split('\n').length - 1 >= LINES.length, { timeoutMs: 30_000 });
    await snk.stop();
    await src.stop();
    return records.map((r) => r.value);
  }

  it('connect-file-source.properties → connect-test → connect-file-sink.properties', async () => {
    const source = props('connect-file-source.properties');
    assert.equal(source['connector.class'], 'FileStreamSource');
    const values = await runPair({}, 'connect-test', 'test.sink.txt');
    assert.deepEqual(values.map((v) => v?.toString()), LINES);
    assert.equal(readFileSync('test.sink.txt', 'utf8'), LINES.map((l) => `${l}\n`).join(''));
  });

  it('with JsonConverter and schemas.enable=true the topic holds what Kafka Connect writes', async () => {
    const json = {
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': 'true',
      'value.converter.schemas.enable': 'true',
    };
    const values = await runPair(json, 'connect-test-json', 'test.sink.json.txt');
    // FileStreamSourceTask: VALUE_SCHEMA = Schema.STRING_SCHEMA; JsonConverter's envelope for it.
    assert.deepEqual(
      values.map((v) => v?.toString()),
      LINES.map((l) => `{"schema":{"type":"string","optional":false},"payload":${JSON.stringify(l)}}`),
    );
    assert.equal(readFileSync('test.sink.json.txt', 'utf8'), LINES.map((l) => `${l}\n`).join(''));
  });
});
