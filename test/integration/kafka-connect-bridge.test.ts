/**
 * The Kafka Connect bridge (bridges/kafka-connect) running Apache Kafka's own connect-file
 * 4.1.1 connectors, unmodified, from a Kafka Connect plugin directory laid out from Maven
 * Central: as a child-process plugin through the PluginHost (Describe from ConfigDef,
 * Validate, taskConfigs as stream partitions, Read within credits, drain, resume from the
 * committed offset blob, the structured form of Connect values), and end to end through a
 * worker against the real Kafka (every line of a file in the topic exactly once, and the
 * FileStreamSink writing every record of the topic back out).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ConfigType, ConnectorKind, SchemaType, type ReadRequestSchema, type ReadResponse, type Record as PluginRecord, type WatchPartitionsResponse } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { PluginHost, type ConnectorPlugin, type HostedPluginInstance } from '../../src/plugins/index.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { eventually } from '../support/eventually.js';
import { readTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { bridgePluginPath, buildBridge, CONNECT_FILE, connectPluginDir, FILE_SINK, FILE_SOURCE } from '../support/kafka-connect.js';

type ReadRequestInit = MessageInitShape<typeof ReadRequestSchema>;

// Tributary's own FileStream connectors are built in under the Kafka Connect class names, so the
// bridged (Apache Kafka's) ones are registered under names of their own.
const BRIDGED_SOURCE = 'kafka-connect-file-source';
const BRIDGED_SINK = 'kafka-connect-file-sink';

function lines(prefix: string, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `${prefix}-${i}\n`;
  return s;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function openRead(plugin: ConnectorPlugin, config: Record<string, string>, partition: { id: string; attributes: Record<string, string> }, offset?: Uint8Array) {
  const requests = new AsyncQueue<ReadRequestInit>();
  const iterator = plugin.read(requests)[Symbol.asyncIterator]();
  requests.push({ kind: { case: 'open', value: { connector: { name: 'fs', config }, partition, offset } } });
  return {
    requests,
    next: () => iterator.next() as Promise<IteratorResult<ReadResponse>>,
    credit: (records: number) => requests.push({ kind: { case: 'credit', value: { records } } }),
  };
}

/** Reads until `count` records arrived, granting `window` credits and re-granting per batch; never more than granted. */
async function readRecords(read: ReturnType<typeof openRead>, count: number, window: number): Promise<PluginRecord[]> {
  let granted = window;
  read.credit(window);
  const out: PluginRecord[] = [];
  while (out.length < count) {
    const { value, done } = await read.next();
    assert.equal(done, false, `the stream ended after ${out.length} records`);
    if (value!.kind.case !== 'batch') assert.fail(`expected a batch, got ${value!.kind.case}`);
    out.push(...value!.kind.value.records);
    assert.ok(out.length <= granted, `${out.length} records with ${granted} credits`);
    granted += value!.kind.value.records.length;
    read.credit(value!.kind.value.records.length);
  }
  return out;
}

describe('the Kafka Connect bridge', { timeout: 900_000 }, () => {
  let pluginPath: string;
  let host: PluginHost;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-kc-'));

  before(() => {
    buildBridge();
    const connectFile = connectPluginDir('connect-file-4.1.1', CONNECT_FILE);
    pluginPath = bridgePluginPath([
      { connectorClass: FILE_SOURCE, pluginDir: connectFile, name: BRIDGED_SOURCE },
      { connectorClass: FILE_SINK, pluginDir: connectFile, name: BRIDGED_SINK },
    ]);
    host = new PluginHost({ startTimeoutMs: 30_000 });
  });
  after(async () => {
    await host?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
    if (pluginPath) rmSync(pluginPath, { recursive: true, force: true });
  });

  test('describes FileStreamSource from its ConfigDef, validates with its validate(), lists its task config as a partition', async () => {
    await host.loadDirectory(pluginPath);
    const instance = await host.start(BRIDGED_SOURCE);
    try {
      const d = instance.description;
      assert.equal(d.name, FILE_SOURCE);
      assert.equal(d.kind, ConnectorKind.SOURCE);
      assert.equal(d.version, '4.1.1');
      const key = (name: string) => d.configKeys.find((k) => k.name === name);
      assert.equal(key('topic')?.type, ConfigType.STRING);
      assert.equal(key('batch.size')?.type, ConfigType.INT);
      assert.equal(key('batch.size')?.defaultValue, '2000');
      assert.ok(key('file'), 'the file key is described');
      assert.ok(key('bridge.start.timeout.ms'), "the bridge's own keys are described");

      const bad = await instance.plugin.validate({ connector: { name: 'fs', config: { topic: 't', file: '/x', 'batch.size': 'many', 'tasks.max': '0' } } });
      assert.deepEqual(bad.errors.map((e) => e.key).sort(), ['batch.size', 'tasks.max']);
      const good = await instance.plugin.validate({ connector: { name: 'fs', config: { topic: 't', file: '/x' } } });
      assert.deepEqual(good.errors, []);

      const file = join(dir, 'describe.txt');
      const config = { 'connector.class': BRIDGED_SOURCE, topic: 't', file };
      const watch = instance.plugin.watchPartitions({ connector: { name: 'fs', config } }, { signal: AbortSignal.timeout(20_000) })[Symbol.asyncIterator]();
      const first = (await watch.next()).value as WatchPartitionsResponse;
      assert.equal(first.snapshot, true);
      assert.deepEqual(first.added.map((p) => p.id), ['task-0']);
      assert.equal(first.added[0]!.attributes['kafka.connect.task'], '0');
      await watch.return?.();
    } finally {
      await instance.close();
    }
  });

  let instance: HostedPluginInstance;
  test('reads a file through FileStreamSourceTask within credits, drains, and resumes after the committed offset', async () => {
    instance = await host.start(BRIDGED_SOURCE);
    const pid = instance.pid!;
    const file = join(dir, 'read.txt');
    writeFileSync(file, lines('line', 0, 1_200));
    const config = { 'connector.class': BRIDGED_SOURCE, topic: 'bridge-read', file, 'batch.size': '300' };
    const partition = { id: 'task-0', attributes: { 'kafka.connect.task': '0' } };

    const read = openRead(instance.plugin, config, partition);
    const records = await readRecords(read, 1_200, 250);
    assert.equal(records.length, 1_200);
    records.forEach((r, i) => {
      assert.equal(r.structuredValue?.kind.case, 'string');
      assert.equal(r.structuredValue?.kind.value, `line-${i}`);
      assert.equal(r.valueSchema?.type, SchemaType.STRING);
      assert.equal(r.value, undefined, 'without bridge.value.converter the value travels structured only');
      assert.equal(r.topic, 'bridge-read');
    });
    const last = records.at(-1)!.offset;
    read.requests.push({ kind: { case: 'ack', value: { offset: last, records: 1_200n } } });
    read.requests.push({ kind: { case: 'drain', value: {} } });
    const drained = await read.next();
    if (drained.value?.kind.case !== 'drained') assert.fail(`expected drained, got ${drained.value?.kind.case}`);
    assert.equal(drained.value.kind.value.records, 1_200n);
    assert.deepEqual(Buffer.from(drained.value.kind.value.lastOffset!), Buffer.from(last));
    read.requests.end();
    assert.equal((await read.next()).done, true);

    // Opened at the last committed record, the task gets its position back through the
    // OffsetStorageReader and sends only the lines after it.
    appendFileSync(file, lines('line', 1_200, 1_250));
    const again = openRead(instance.plugin, config, partition, last);
    const more = await readRecords(again, 50, 1_000);
    assert.deepEqual(more.map((r) => r.structuredValue?.kind.value), Array.from({ length: 50 }, (_, i) => `line-${1_200 + i}`));
    again.requests.end();
    for (;;) if ((await again.next()).done) break;

    const corrupt = openRead(instance.plugin, config, partition, Buffer.from('not-a-blob'));
    corrupt.credit(10);
    await assert.rejects(corrupt.next(), /INVALID_ARGUMENT|not a Kafka Connect bridge offset/);
    assert.equal(instance.pid, pid, 'a bad offset fails the stream, not the process');
  });

  test('close() stops the JVM with SIGTERM and nothing is left running', async () => {
    const pid = instance.pid!;
    assert.ok(isAlive(pid));
    await instance.close(10_000);
    assert.equal(isAlive(pid), false);
  });

  describe('through a worker, against the real Kafka', () => {
    let dp: DataPlane;
    before(async () => {
      const plugins = new PluginHost({ startTimeoutMs: 30_000 });
      await plugins.loadDirectory(pluginPath);
      dp = await startDataPlane({ plugins });
    });
    after(async () => {
      await dp?.close();
    });

    test('FileStreamSource puts every line of a file into the topic once; FileStreamSink writes every record back out', async () => {
      const n = 5_000;
      const input = join(dir, 'input.txt');
      const output = join(dir, 'output.txt');
      writeFileSync(input, lines('row', 0, n));
      const topic = uniqueName('bridge-file');
      const converter = { 'bridge.value.converter': 'org.apache.kafka.connect.storage.StringConverter' };
      await runAllPartitions(dp, 'kc-file-source', { 'connector.class': BRIDGED_SOURCE, file: input, topic, 'topic.creation.default.partitions': '1', ...converter });
      const byPartition = await readTopic(dp.brokers, topic, n);
      const values = [...byPartition.values()].flat().map((r) => r.value?.toString());
      assert.equal(values.length, n, 'every line exactly once');
      assert.deepEqual(values, Array.from({ length: n }, (_, i) => `row-${i}`));

      await runAllPartitions(dp, 'kc-file-sink', { 'connector.class': BRIDGED_SINK, file: output, topics: topic, ...converter });
      await eventually(() => existsSync(output) && readFileSync(output, 'utf8').split('\n').filter(Boolean).length >= n, { timeoutMs: 60_000, message: 'the sink file has every record' });
      const written = readFileSync(output, 'utf8').split('\n').filter(Boolean);
      assert.deepEqual(written.slice(0, n), values);
    });
  });
});
