/**
 * Dynamic partitions in a cluster (a file appears in a watched folder) and the standalone
 * process resuming from its state file after being killed mid-stream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { EmbeddedCluster } from '../support/cluster.js';
import { countSeqs, kafkaClient, readTopic, uniqueName } from '../support/data-plane.js';
import { readVerifiableSinkFile } from '../../src/connectors/verifiable-sink/index.js';
import { eventually } from '../support/eventually.js';
import { services } from '../support/services.js';

function lines(prefix: string, n: number): string {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}\n`).join('');
}

describe('dynamic partitions in a cluster', { timeout: 240_000 }, () => {
  let cluster: EmbeddedCluster;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-files-'));
  before(async () => {
    cluster = new EmbeddedCluster({ workers: 2 });
    await cluster.start();
  });
  after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a file that appears in a watched folder is assigned and produced without any other partition restarting', async () => {
    const admin = cluster.admin();
    const name = 'files';
    const topic = `${cluster.name}-files`;
    writeFileSync(join(dir, 'a.log'), lines('a', 1_000));
    writeFileSync(join(dir, 'b.log'), lines('b', 1_000));
    await admin.createConnector({ name, config: { 'connector.class': 'file-source', path: dir, 'file.pattern': '*.log', topic, 'poll.interval.ms': '200', 'topic.creation.default.partitions': '1' } });
    const before = await eventually(async () => {
      const { status } = await admin.getConnectorStatus({ name });
      if (status!.partitions.length !== 2 || status!.partitions.some((p) => p.state !== PartitionState.RUNNING)) throw new Error('not running yet');
      return new Map(status!.partitions.map((p) => [p.partition, p.epoch]));
    }, { timeoutMs: 30_000 });
    // Keep the existing files moving while the new one appears.
    appendFileSync(join(dir, 'a.log'), lines('a2', 100));
    writeFileSync(join(dir, 'c.log'), lines('c', 500));
    const size = (f: string) => String(readFileSync(join(dir, f)).length);
    await eventually(async () => {
      const { offsets } = await admin.getOffsets({ name });
      const byFile = new Map(offsets.map((o) => [o.partition, o.text]));
      return byFile.get('c.log') === size('c.log') && byFile.get('a.log') === size('a.log') && byFile.get('b.log') === size('b.log');
    }, { timeoutMs: 30_000, message: 'every file fully produced, the new one included' });
    const { status } = await admin.getConnectorStatus({ name });
    for (const [p, epoch] of before) assert.equal(status!.partitions.find((x) => x.partition === p)?.epoch, epoch, `partition ${p} was not restarted`);
    const records = [...(await readTopic(cluster.kafkaBootstrap.split(','), topic, 2_600)).values()].flat();
    const values = new Set(records.map((r) => r.value!.toString()));
    assert.equal(records.length, 2_600, 'every line exactly once');
    for (const v of ['a-0', 'a-999', 'a2-99', 'b-999', 'c-0', 'c-499']) assert.ok(values.has(v), `${v} produced`);
  });

  test('a new topic matching a sink\'s topics.regex is picked up while it runs, without restarting the others', async () => {
    const admin = cluster.admin();
    const prefix = `${cluster.name}-orders`;
    const brokers = cluster.kafkaBootstrap.split(',');
    const kafka = kafkaClient(brokers);
    const kadmin = kafka.admin();
    await kadmin.connect();
    const producer = kafka.producer();
    await producer.connect();
    try {
      await kadmin.createTopics({ topics: [{ topic: `${prefix}-eu`, numPartitions: 2 }] });
      await producer.send({ topic: `${prefix}-eu`, messages: Array.from({ length: 50 }, (_, i) => ({ value: `eu-${i}` })) });
      const file = join(dir, 'regex-sink.jsonl');
      await admin.createConnector({ name: 'regex-sink', config: { 'connector.class': 'verifiable-sink', 'topics.regex': `${prefix}-.*`, 'output.file': file } });
      const before = await eventually(async () => {
        const { status } = await admin.getConnectorStatus({ name: 'regex-sink' });
        if (status!.partitions.length !== 2 || status!.partitions.some((p) => p.state !== PartitionState.RUNNING)) throw new Error('not running');
        return new Map(status!.partitions.map((p) => [p.partition, p.epoch]));
      }, { timeoutMs: 30_000 });
      await kadmin.createTopics({ topics: [{ topic: `${prefix}-us`, numPartitions: 1 }] });
      await producer.send({ topic: `${prefix}-us`, messages: Array.from({ length: 30 }, (_, i) => ({ value: `us-${i}` })) });
      await eventually(async () => {
        const { records } = await readVerifiableSinkFile(file);
        return records.filter((r) => r.topic === `${prefix}-us`).length === 30 && records.filter((r) => r.topic === `${prefix}-eu`).length === 50;
      }, { timeoutMs: 40_000, message: 'records of the new topic reached the sink' });
      const { status } = await admin.getConnectorStatus({ name: 'regex-sink' });
      assert.equal(status!.partitions.length, 3);
      for (const [p, epoch] of before) assert.equal(status!.partitions.find((x) => x.partition === p)?.epoch, epoch, `partition ${p} was not restarted`);
    } finally {
      await producer.disconnect();
      await kadmin.disconnect();
    }
  });
});

describe('tributary standalone', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-standalone-'));
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function committed(stateFile: string, name: string): Map<string, number> {
    if (!existsSync(stateFile)) return new Map();
    const state = (JSON.parse(readFileSync(stateFile, 'utf8')) as { state: Record<string, { offset: string }> }).state;
    const out = new Map<string, number>();
    for (const [key, value] of Object.entries(state)) {
      const m = new RegExp(`^offsets/${name}/(.+)$`).exec(key);
      if (m) out.set(m[1]!, Number(Buffer.from(value.offset, 'base64').toString()));
    }
    return out;
  }

  test('restarted mid-stream, it resumes from its state file with nothing lost', async () => {
    const { kafkaBootstrap } = await services();
    const name = uniqueName('sa');
    const topic = `${name}-topic`;
    const stateFile = join(dir, 'state.json');
    const connectorFile = join(dir, 'connector.json');
    writeFileSync(connectorFile, JSON.stringify({ name, config: { 'connector.class': 'verifiable-source', topic, partitions: '2', 'records.per.second': '2000', 'topic.creation.default.partitions': '2' } }));
    const run = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', cli, 'standalone', '--kafka', kafkaBootstrap, '--state-file', stateFile, '--offset-flush-interval', '200', connectorFile], { stdio: 'ignore' });
      return { child, exit: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))) };
    };
    const first = run();
    await eventually(() => [...committed(stateFile, name).values()].filter((o) => o > 1_000).length === 2, { timeoutMs: 60_000, message: 'first run committing' });
    first.child.kill('SIGKILL');
    await first.exit;
    const atKill = committed(stateFile, name);

    const second = run();
    await eventually(() => [...committed(stateFile, name)].every(([p, o]) => o > atKill.get(p)! + 1_000), { timeoutMs: 60_000, message: 'second run resumed and moving' });
    second.child.kill('SIGTERM');
    assert.equal(await second.exit, 0, 'a SIGTERM drains and exits 0');
    const final = committed(stateFile, name);
    const expected = [...final.values()].reduce((n, o) => n + o + 1, 0);
    const counts = countSeqs([...(await readTopic(kafkaBootstrap.split(','), topic, expected)).values()].flat());
    for (const [p, max] of final) {
      const c = counts.get(p)!;
      assert.deepEqual(c.missing.filter((s) => s <= max), [], `partition ${p}: nothing lost`);
      const repeated = c.repeated;
      assert.ok(repeated.every((s) => s > atKill.get(p)!), `partition ${p}: the restart resumed from the committed offset (only records after it repeat)`);
    }
  });
});

describe('tributary standalone refuses a file connector outside allowed.paths', { timeout: 120_000 }, () => {
  test('exits 2 naming the connector and the key "file", and stores nothing', async () => {
    const { kafkaBootstrap } = await services();
    const dir = mkdtempSync(join(tmpdir(), 'tributary-standalone-confined-'));
    const outside = mkdtempSync(join(tmpdir(), 'tributary-outside-'));
    try {
      const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
      const stateFile = join(dir, 'state.json');
      const connectorFile = join(dir, 'sink.json');
      const target = join(outside, 'stolen.txt');
      writeFileSync(connectorFile, JSON.stringify({ name: 'escape', config: { 'connector.class': 'file-sink', topics: 'any', file: target } }));
      const child = spawn(process.execPath, ['--import', 'tsx', cli, 'standalone', '--kafka', kafkaBootstrap, '--state-file', stateFile, '--allowed-paths', dir, connectorFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      assert.equal(code, 2, stderr);
      assert.match(stderr, /^\s+file: connector "escape": .*allowed\.paths/m);
      assert.ok(!existsSync(target), 'nothing was written outside');
      const stored = existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : '';
      assert.ok(!stored.includes('connectors/escape'), `the connector was not stored: ${stored.slice(0, 300)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
