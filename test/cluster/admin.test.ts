/**
 * The Admin API on three real worker processes against the real Kafka and etcd: every call,
 * through the AdminClient library (`import { AdminClient } from 'tributary'`), with writes sent
 * to workers that are not the leader, the errors TESTING.md lists under "Bad input", server
 * reflection through a generic gRPC client, and the CLI's output and exit codes. Records are
 * counted with the verifiable source's sequence numbers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { create, createFileRegistry, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { AdminClient, AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, type ConnectorStatus } from 'tributary';
import * as reflectionV1 from '../../src/gen/grpc/reflection/v1/reflection_pb.js';
import * as reflectionV1Alpha from '../../src/gen/grpc/reflection/v1alpha/reflection_pb.js';
import { EmbeddedCluster, type ClusterWorker } from '../support/cluster.js';
import { countSeqs, kafkaClient, readTopic } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { runCli } from '../support/cli.js';

const RATE_ENV = 'TRIBUTARY_ADMIN_TEST_RATE';

// ---------------------------------------------------------------- helpers

function source(topic: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'connector.class': 'verifiable-source', topic, partitions: '2', 'records.per.second': '200', 'topic.creation.default.partitions': '2', ...extra };
}

async function expectError<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T, check?: (err: T) => void): Promise<T> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    check?.(err);
    return err;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

function problemKeys(err: InvalidArgumentError): string[] {
  return err.problems.map((p) => p.key).sort();
}

async function allRunning(admin: AdminClient, name: string, partitions: number): Promise<ConnectorStatus> {
  return eventually(async () => {
    const s = await admin.connectors.status(name);
    const summary = s.partitions.map((p) => `${p.partition}:${p.workerId}:${p.state}`).join(' ');
    if (s.partitions.length !== partitions || s.partitions.some((p) => p.state !== 'RUNNING')) throw new Error(`${s.state} ${summary}`);
    return s;
  }, { timeoutMs: 30_000, intervalMs: 100, message: `all ${partitions} partitions of ${name} RUNNING` });
}

/** Waits until a STOPPED connector has released every partition (offsets may change then). */
async function released(admin: AdminClient, name: string): Promise<void> {
  await eventually(async () => {
    const s = await admin.connectors.status(name);
    return s.state === 'STOPPED' && s.partitions.every((p) => p.state === 'UNASSIGNED');
  }, { timeoutMs: 30_000, intervalMs: 100, message: `${name} released` });
}

async function committed(admin: AdminClient, name: string): Promise<Map<string, number>> {
  return new Map((await admin.offsets.get(name)).map((o) => [o.partition, Number(o.text)]));
}

async function committedAtLeast(admin: AdminClient, name: string, min: Map<string, number> | number, partitions = ['p0', 'p1']): Promise<Map<string, number>> {
  return eventually(async () => {
    const c = await committed(admin, name);
    const ok = partitions.every((p) => (c.get(p) ?? -1) >= (typeof min === 'number' ? min : (min.get(p) ?? 0)));
    if (!ok) throw new Error(JSON.stringify([...c]));
    return c;
  }, { timeoutMs: 30_000, intervalMs: 100, message: `${name} committed offsets growing` });
}

/** Sum of the topic's high watermarks: grows with every record produced. */
async function produced(brokers: string[], topic: string): Promise<number> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Per stream partition, the seqs in the order Kafka holds them (one stream partition maps to one
 * Kafka partition, by key), and TESTING.md's count (missing, duplicates) of the same records.
 */
async function seqsInOrder(brokers: string[], topic: string, expected: number) {
  const byKafka = await readTopic(brokers, topic, expected);
  const ordered = new Map<string, number[]>();
  for (const records of byKafka.values()) {
    for (const r of [...records].sort((a, b) => (a.offset < b.offset ? -1 : 1))) {
      const v = JSON.parse(r.value!.toString()) as { partition: string; seq: number };
      ordered.set(v.partition, [...(ordered.get(v.partition) ?? []), v.seq]);
    }
  }
  return Object.assign(ordered, { counts: countSeqs([...byKafka.values()].flat()) });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A bidi reflection call through plain grpc-js, messages encoded with the generated schemas only. */
async function reflect(address: string, version: 'v1' | 'v1alpha', requests: Array<{ messageRequest: { case: string; value: unknown } }>) {
  const gen = version === 'v1' ? reflectionV1 : reflectionV1Alpha;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    const call = client.makeBidiStreamRequest(
      `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      (m: object) => Buffer.from(toBinary(gen.ServerReflectionRequestSchema as DescMessage, create(gen.ServerReflectionRequestSchema as DescMessage, m as never))),
      (b: Buffer) => fromBinary(gen.ServerReflectionResponseSchema, b),
    );
    for (const r of requests) call.write(r);
    call.end();
    const out = [];
    for await (const r of call) out.push(r as reflectionV1.ServerReflectionResponse);
    return out;
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------- the suite

describe('admin API on a three-worker cluster', { timeout: 900_000 }, () => {
  let cluster: EmbeddedCluster;
  let leaderWorker: ClusterWorker;
  let followerWorker: ClusterWorker;
  /** Talks to the leader. */
  let leader: AdminClient;
  /** Talks to a worker that is not the leader: every call is forwarded. */
  let follower: AdminClient;
  const clients: AdminClient[] = [];
  let brokers: string[];
  let dir: string;

  const client = (w: ClusterWorker) => {
    const c = new AdminClient(w.address, { timeoutMs: 30_000 });
    clients.push(c);
    return c;
  };
  const topicOf = (name: string) => `${cluster.name}-${name}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-admin-test-'));
    cluster = new EmbeddedCluster({ workers: 3, env: { [RATE_ENV]: '150' } });
    await cluster.start();
    brokers = cluster.kafkaBootstrap.split(',');
    leaderWorker = await cluster.leader();
    followerWorker = cluster.workers.find((w) => w !== leaderWorker)!;
    leader = client(leaderWorker);
    follower = client(followerWorker);
    // Every worker joined the leader's session before the tests count members.
    await eventually(async () => (await leader.workers.list()).filter((w) => w.connected).length === 3, { timeoutMs: 30_000, message: 'three connected workers' });
  });

  after(async () => {
    for (const c of clients) c.close();
    if (process.env.TEST_CLUSTER_LOGS) console.log(cluster.logs(80));
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('GetCluster and ListWorkers: every worker names the same leader; three connected members', async () => {
    const infos = await Promise.all(cluster.workers.map((w) => client(w).cluster.info()));
    for (const info of infos) {
      assert.equal(info.cluster, cluster.name);
      assert.equal(info.leaderId, leaderWorker.id);
      assert.equal(info.leaderAddress, leaderWorker.address);
      assert.ok(info.term > 0, 'a leadership term');
      assert.deepEqual(info.members.map((m) => m.id).sort(), ['w1', 'w2', 'w3']);
    }
    const workers = await follower.workers.list();
    assert.deepEqual(workers.map((w) => w.id).sort(), ['w1', 'w2', 'w3']);
    assert.deepEqual(workers.filter((w) => w.leader).map((w) => w.id), [leaderWorker.id]);
    for (const w of workers) {
      assert.ok(w.connected, `${w.id} connected`);
      assert.equal(w.address, cluster.workers.find((x) => x.id === w.id)!.address);
      assert.ok(w.lastHeartbeatMs !== undefined && Date.now() - w.lastHeartbeatMs < 10_000, `${w.id} heard from recently`);
    }
  });

  test('ListPlugins: the built-in connectors with kind, version and config spec', async () => {
    const plugins = await follower.plugins.list();
    const source = plugins.find((p) => p.name === 'verifiable-source');
    const sink = plugins.find((p) => p.name === 'verifiable-sink');
    assert.equal(source?.kind, 'source');
    assert.equal(sink?.kind, 'sink');
    assert.ok(source.version);
    assert.deepEqual(source.configKeys.find((k) => k.name === 'topic'), { name: 'topic', type: 'string', required: true, documentation: 'The Kafka topic the records are produced to.', secret: false, allowedValues: [], group: 'Records' });
  });

  test('ValidateConfig: per-key errors (missing, wrong type, unresolvable reference, topics and topics.regex), NOT_FOUND for an unknown plugin', async () => {
    const ok = await follower.config.validate(source('t'));
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.valid, true);
    assert.equal(ok.plugin, 'verifiable-source');
    assert.ok(ok.configKeys.some((k) => k.name === 'delivery.guarantee' && k.group === 'Tributary'), "Tributary's own keys are listed");
    assert.ok(ok.configKeys.some((k) => k.name === 'records.per.second'), "the plugin's keys are listed");

    const bad = await follower.config.validate({ 'connector.class': 'verifiable-source', partitions: 'two', 'records.per.second': '${env:TRIBUTARY_NOT_SET_ANYWHERE}' });
    assert.equal(bad.valid, false);
    assert.deepEqual(bad.errors.map((e) => e.key).sort(), ['partitions', 'records.per.second', 'topic']);
    assert.match(bad.errors.find((e) => e.key === 'records.per.second')!.message, /TRIBUTARY_NOT_SET_ANYWHERE is not set/);

    const sink = await follower.config.validate({ 'connector.class': 'verifiable-sink', 'output.file': join(dir, 'x'), topics: 'a', 'topics.regex': 'a.*' });
    assert.deepEqual(sink.errors.map((e) => e.key).sort(), ['topics', 'topics.regex']);

    await expectError(follower.config.validate({ 'connector.class': 'no-such-plugin' }), NotFoundError, (e) => assert.match(e.message, /unknown plugin "no-such-plugin".*verifiable-source/));
  });

  test('CreateConnector rejects bad configs naming every key, and creates nothing', async () => {
    const cases: Array<[string, Record<string, string>, string[]]> = [
      ['missing-key', { 'connector.class': 'verifiable-source', partitions: '2' }, ['topic']],
      ['wrong-type', source('t', { partitions: 'many', 'records.per.second': '1.5' }), ['partitions', 'records.per.second']],
      ['both-topics', { 'connector.class': 'verifiable-sink', 'output.file': join(dir, 'o'), topics: 'a', 'topics.regex': 'a.*' }, ['topics', 'topics.regex']],
      ['no-topics', { 'connector.class': 'verifiable-sink', 'output.file': join(dir, 'o') }, ['topics']],
      ['bad-ref', source('t', { 'records.per.second': '${file:/nonexistent/creds.properties:rate}' }), ['records.per.second']],
      ['bad name!', source('t'), ['name']],
      ['no-plugin', { topic: 't' }, ['connector.class']],
    ];
    for (const [name, config, keys] of cases) {
      const err = await expectError(follower.connectors.create(name, config), InvalidArgumentError);
      assert.deepEqual(problemKeys(err), keys, `${name}: ${err.message}`);
      assert.match(err.message, new RegExp(keys[0]!.replace('.', '\\.')), 'the message names the key too');
    }
    await expectError(follower.connectors.create('unknown-plugin', { 'connector.class': 'no-such-plugin', topic: 't' }), NotFoundError);
    await expectError(follower.rpc.createConnector({ name: 'bad-state', config: source('t'), initialState: 'SLEEPING' }), InvalidArgumentError, (e) => assert.deepEqual(problemKeys(e), ['initial_state']));
    assert.deepEqual(await leader.connectors.list(), [], 'nothing was created');
  });

  test('every per-connector call answers NOT_FOUND for an unknown connector', async () => {
    const name = 'no-such-connector';
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['get', () => follower.connectors.get(name)],
      ['status', () => follower.connectors.status(name)],
      ['pause', () => follower.connectors.pause(name)],
      ['resume', () => follower.connectors.resume(name)],
      ['stop', () => follower.connectors.stop(name)],
      ['restart', () => follower.connectors.restart(name, { includeTasks: true })],
      ['restartPartition', () => follower.connectors.restartPartition(name, 'p0')],
      ['delete', () => follower.connectors.delete(name)],
      ['topics', () => follower.connectors.topics(name)],
      ['resetTopics', () => follower.connectors.resetTopics(name)],
      ['offsets.get', () => follower.offsets.get(name)],
      ['offsets.alter', () => follower.offsets.alter(name, { p0: '1' })],
      ['offsets.reset', () => follower.offsets.reset(name)],
      ['watchStatus', async () => {
        for await (const _ of follower.watchStatus(name)) break;
      }],
    ];
    for (const [what, call] of calls) await expectError(call(), NotFoundError, (e) => assert.match(e.message, /no-such-connector/, what));
  });

  test('a write sent to a non-leader is forwarded and takes effect; a duplicate create is ALREADY_EXISTS; ListConnectors expands', async () => {
    const name = 'forwarded';
    const topic = topicOf(name);
    const info = await follower.connectors.create(name, source(topic, { 'records.per.second': '50' }));
    assert.deepEqual(info, { name, config: source(topic, { 'records.per.second': '50' }), targetState: 'RUNNING', kind: 'source', plugin: 'verifiable-source' });
    assert.deepEqual(await leader.connectors.get(name), info, 'the leader has it');
    await allRunning(leader, name, 2);
    await committedAtLeast(leader, name, 5);

    await expectError(follower.connectors.create(name, source(topic)), AlreadyExistsError, (e) => assert.match(e.message, /tributary connectors update forwarded/));
    await expectError(leader.connectors.create(name, source(topic)), AlreadyExistsError);

    const listed = await follower.rpc.listConnectors({ expandInfo: true, expandStatus: true });
    assert.deepEqual(listed.names, [name]);
    assert.equal(listed.infos[0]?.plugin, 'verifiable-source');
    assert.equal(listed.statuses[0]?.partitions.length, 2);
    assert.deepEqual((await follower.connectors.overview()).map((r) => [r.info.name, r.status?.state]), [[name, 'RUNNING']]);
    assert.deepEqual(await follower.connectors.topics(name), [topic]);
    await follower.connectors.resetTopics(name);

    // PutConnectorConfig: update (created=false) through the follower restarts the partitions with the new config.
    const before = await leader.connectors.status(name);
    const put = await follower.connectors.put(name, source(topic, { 'records.per.second': '60' }));
    assert.equal(put.created, false);
    assert.equal((await leader.connectors.get(name)).config['records.per.second'], '60');
    await eventually(async () => {
      const s = await allRunning(leader, name, 2);
      return s.partitions.every((p) => p.epoch > before.partitions.find((q) => q.partition === p.partition)!.epoch);
    }, { timeoutMs: 30_000, message: 'partitions restarted with the new config' });
    // ... and creates when the name is new.
    const created = await follower.connectors.put('put-created', source(topicOf('put-created'), { 'records.per.second': '10' }));
    assert.equal(created.created, true);

    await follower.connectors.delete('put-created');
    await follower.connectors.delete(name);
    assert.deepEqual(await leader.connectors.list(), []);
    await expectError(leader.connectors.get(name), NotFoundError);
  });

  test('secrets come back masked; a config written back with the mask (in any key order) keeps the stored secret and restarts nothing', async () => {
    const name = 'secretive';
    const config = source(topicOf(name), { 'records.per.second': '20', 'connection.password': 'hunter2' });
    const created = await follower.connectors.create(name, config);
    assert.equal(created.config['connection.password'], '********');
    const got = await follower.connectors.get(name);
    assert.equal(got.config['connection.password'], '********');
    assert.equal((await leader.connectors.infos()).find((i) => i.name === name)?.config['connection.password'], '********');
    const before = await allRunning(leader, name, 2);

    // Same config, secret masked, keys in another order: nothing changed, so nothing restarts.
    await follower.connectors.put(name, Object.fromEntries(Object.entries(got.config).reverse()));
    await sleep(1_500);
    const same = await allRunning(leader, name, 2);
    assert.deepEqual(same.partitions.map((p) => p.epoch), before.partitions.map((p) => p.epoch), 'the stored secret was kept (no config change, no restart)');

    // A real secret change does restart, and is still masked.
    await follower.connectors.put(name, { ...got.config, 'connection.password': 'correct horse' });
    await eventually(async () => (await allRunning(leader, name, 2)).partitions.every((p, i) => p.epoch > before.partitions[i]!.epoch), { timeoutMs: 30_000, message: 'restarted on a secret change' });
    assert.equal((await leader.connectors.get(name)).config['connection.password'], '********');
    await leader.connectors.delete(name);
  });

  test('config references are stored as written and resolved on the workers that run the connector', async () => {
    const name = 'referenced';
    const topic = topicOf(name);
    const file = join(dir, 'refs.properties');
    writeFileSync(file, `# where the records go\ntopic.name = ${topic}\n`);
    const config = source(`\${file:${file}:topic.name}`, { 'records.per.second': `\${env:${RATE_ENV}}` });
    await follower.connectors.create(name, config);
    assert.deepEqual((await leader.connectors.get(name)).config, config, 'the references, not their values');
    await allRunning(leader, name, 2);
    const c = await committedAtLeast(leader, name, 30);
    const seqs = await seqsInOrder(brokers, topic, 60);
    assert.ok((seqs.get('p0')?.length ?? 0) > 0 && (seqs.get('p1')?.length ?? 0) > 0, `records in the topic the file names (committed ${JSON.stringify([...c])})`);
    await leader.connectors.delete(name);
  });

  test('pause stops production within one second; resume continues from the same offsets with nothing lost', async () => {
    const name = 'pausable';
    const topic = topicOf(name);
    await follower.connectors.create(name, source(topic));
    await allRunning(leader, name, 2);
    await committedAtLeast(leader, name, 100);

    await follower.connectors.pause(name);
    const pausedAt = Date.now();
    await sleep(Math.max(0, pausedAt + 1_000 - Date.now()));
    const atOne = await committed(leader, name);
    const producedAtOne = await produced(brokers, topic);
    await sleep(1_000);
    const atTwo = await committed(leader, name);
    const producedAtTwo = await produced(brokers, topic);
    console.log(`# pause: committed ${JSON.stringify([...atOne])} 1 s after pause returned, ${JSON.stringify([...atTwo])} 1 s later; topic ${producedAtOne} → ${producedAtTwo} records`);
    assert.deepEqual(atTwo, atOne, 'committed offsets stopped moving within 1 s of pause');
    assert.equal(producedAtTwo, producedAtOne, 'no record produced after the first second');
    const paused = await follower.connectors.status(name);
    assert.equal(paused.state, 'PAUSED');
    assert.deepEqual(paused.partitions.map((p) => p.state), ['PAUSED', 'PAUSED']);

    await follower.connectors.resume(name);
    await committedAtLeast(leader, name, new Map([...atOne].map(([p, o]) => [p, o + 100])));
    await follower.connectors.stop(name);
    await released(leader, name);
    const final = await committed(leader, name);
    const seqs = await seqsInOrder(brokers, topic, [...final.values()].reduce((n, o) => n + o + 1, 0));
    for (const [p, last] of final) {
      const counted = seqs.counts.get(p)!;
      assert.deepEqual(counted.missing, [], `partition ${p}: nothing lost`);
      assert.equal(counted.duplicates, 0, `partition ${p}: no duplicates`);
      assert.equal(counted.max, last, `partition ${p}: everything up to the committed offset is in Kafka`);
      assert.deepEqual(seqs.get(p), range(0, last), `partition ${p}: 0 … ${last} in order across pause and resume (paused at ${atOne.get(p)})`);
    }
    await leader.connectors.delete(name);
  });

  test('WatchStatus (through a non-leader) pushes the current status, a change when the connector is paused, and its deletion', async () => {
    const name = 'watched';
    await leader.connectors.create(name, source(topicOf(name), { 'records.per.second': '20' }));
    await allRunning(leader, name, 2);
    const stop = new AbortController();
    const events: Array<{ state: string | undefined; deleted: boolean; at: number }> = [];
    const watching = (async () => {
      for await (const e of follower.watchStatus(name, { signal: stop.signal })) events.push({ state: e.status?.state, deleted: e.deleted, at: Date.now() });
    })();
    try {
      await eventually(() => events[0]?.state === 'RUNNING', { timeoutMs: 10_000, message: 'the current status first' });
      const pausedAt = Date.now();
      await leader.connectors.pause(name);
      const pushed = await eventually(() => events.find((e) => e.state === 'PAUSED'), { timeoutMs: 10_000, message: 'a PAUSED status pushed' });
      console.log(`# watch: PAUSED pushed ${pushed!.at - pausedAt} ms after pause`);
      await leader.connectors.delete(name);
      await eventually(() => events.some((e) => e.deleted), { timeoutMs: 10_000, message: 'the deletion pushed' });
    } finally {
      stop.abort();
      await watching;
    }
  });

  test('offsets: refused while running, malformed ones refused, stop → reset → resume re-reads from 0, alter moves a partition', async () => {
    const name = 'rewindable';
    const topic = topicOf(name);
    await follower.connectors.create(name, source(topic));
    await allRunning(leader, name, 2);
    await committedAtLeast(leader, name, 50);

    await expectError(follower.offsets.alter(name, { p0: '1' }), FailedPreconditionError, (e) => assert.match(e.message, /stop it first \(tributary connectors stop rewindable\)/));
    await expectError(follower.offsets.reset(name), FailedPreconditionError);
    await follower.connectors.pause(name);
    await expectError(follower.offsets.reset(name), FailedPreconditionError, (e) => assert.match(e.message, /is PAUSED/));

    await follower.connectors.stop(name);
    await released(leader, name);
    const firstRun = await committed(leader, name);
    await expectError(follower.connectors.restartPartition(name, 'p0'), FailedPreconditionError);
    await expectError(follower.rpc.alterOffsets({ name, offsets: [{ partition: '', text: '1' }, { partition: 'p1', offset: Buffer.from('7'), text: '8' }, { partition: 'p0', text: '3' }, { partition: 'p0', text: '4' }] }), InvalidArgumentError, (e) =>
      assert.deepEqual(problemKeys(e), ['offsets[0].partition', 'offsets[1].offset', 'offsets[3].partition']),
    );
    await expectError(follower.rpc.alterOffsets({ name, offsets: [] }), InvalidArgumentError, (e) => assert.deepEqual(problemKeys(e), ['offsets']));
    assert.deepEqual(await committed(leader, name), firstRun, 'a malformed request changed nothing');

    await follower.offsets.reset(name);
    assert.deepEqual(await follower.offsets.get(name), []);
    await follower.connectors.resume(name);
    await allRunning(leader, name, 2);
    await committedAtLeast(leader, name, 30);
    await follower.connectors.stop(name);
    await released(leader, name);
    const secondRun = await committed(leader, name);

    let seqs = await seqsInOrder(brokers, topic, [...firstRun.values(), ...secondRun.values()].reduce((n, o) => n + o + 1, 0));
    for (const p of ['p0', 'p1']) {
      const s = seqs.get(p)!;
      assert.deepEqual(seqs.counts.get(p)!.missing, [], `${p}: nothing lost`);
      assert.equal(s.filter((x) => x === 0).length, 2, `${p}: seq 0 twice`);
      assert.deepEqual(s, [...range(0, firstRun.get(p)!), ...range(0, secondRun.get(p)!)], `${p}: the second run started at 0 right after the first run's last record`);
    }

    await follower.offsets.alter(name, { p0: '999' });
    assert.deepEqual(await committed(leader, name), new Map([['p0', 999], ['p1', secondRun.get('p1')!]]));
    await follower.connectors.resume(name);
    await committedAtLeast(leader, name, 1_020, ['p0']);
    await follower.connectors.stop(name);
    await released(leader, name);
    const thirdRun = await committed(leader, name);
    const total = [...firstRun.values(), ...secondRun.values()].reduce((n, o) => n + o + 1, 0) + (thirdRun.get('p0')! - 999) + (thirdRun.get('p1')! - secondRun.get('p1')!);
    seqs = await seqsInOrder(brokers, topic, total);
    assert.deepEqual(seqs.get('p0')!.slice(firstRun.get('p0')! + secondRun.get('p0')! + 2), range(1_000, thirdRun.get('p0')!), 'p0 continued at 1000 after the alter');
    await leader.connectors.delete(name);
  });

  test('a sink: topics from its config, malformed sink offsets refused, alter and reset move its connect-<name> Kafka group', async () => {
    const name = 'draining';
    const topic = topicOf(name);
    const kafka = kafkaClient(brokers);
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    const producer = kafka.producer();
    await producer.connect();
    try {
      await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: `{"partition":"x","seq":${i}}` })) });
      await follower.connectors.create(name, { 'connector.class': 'verifiable-sink', 'output.file': join(dir, 'sink.jsonl'), topics: topic });
      await allRunning(leader, name, 2);
      assert.deepEqual((await leader.connectors.status(name)).partitions.map((p) => p.partition), [`${topic}-0`, `${topic}-1`]);
      assert.deepEqual(await follower.connectors.topics(name), [topic]);
      await committedAtLeast(leader, name, 9, [`${topic}-0`, `${topic}-1`]);

      await follower.connectors.stop(name);
      await released(leader, name);
      await expectError(follower.offsets.alter(name, { p0: '5' }), InvalidArgumentError, (e) => assert.match(e.problems[0]!.message, /sink partitions are <topic>-<partition>/));
      await expectError(follower.offsets.alter(name, { [`${topic}-0`]: 'abc' }), InvalidArgumentError, (e) => assert.deepEqual(problemKeys(e), ['offsets[0].offset']));

      const group = async () => new Map((await kafkaAdmin.fetchOffsets({ groupId: `connect-${name}`, topics: [topic] }))[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
      await follower.offsets.alter(name, { [`${topic}-0`]: '4' });
      assert.equal((await committed(leader, name)).get(`${topic}-0`), 4);
      assert.equal((await group()).get(0), 5, 'the group reads on after the altered offset');
      await follower.offsets.reset(name);
      assert.deepEqual(await follower.offsets.get(name), []);
      assert.deepEqual(await group(), new Map([[0, 0], [1, 0]]), 'the group is back at the earliest offsets');
      await leader.connectors.delete(name);
    } finally {
      await producer.disconnect();
      await kafkaAdmin.disconnect();
    }
  });

  test('restart: one partition, every partition, only failed ones, and the connector alone', async () => {
    const name = 'restartable';
    await follower.connectors.create(name, source(topicOf(name), { 'records.per.second': '20' }));
    const start = await allRunning(leader, name, 2);
    const epoch = (s: ConnectorStatus, p: string) => s.partitions.find((x) => x.partition === p)!.epoch;

    await follower.connectors.restartPartition(name, 'p0');
    const one = (await eventually(async () => {
      const s = await allRunning(leader, name, 2);
      return epoch(s, 'p0') > epoch(start, 'p0') ? s : undefined;
    }, { timeoutMs: 30_000, message: 'p0 restarted' }))!;
    assert.equal(epoch(one, 'p1'), epoch(start, 'p1'), 'p1 untouched');
    await expectError(follower.connectors.restartPartition(name, 'p9'), NotFoundError);

    // Nothing is FAILED: --only-failed restarts nothing; the connector-only restart leaves partitions alone.
    const status = await follower.connectors.restart(name, { includeTasks: true, onlyFailed: true });
    assert.equal(status.name, name);
    await follower.connectors.restart(name);
    await sleep(1_500);
    const unchanged = await allRunning(leader, name, 2);
    assert.deepEqual(unchanged.partitions.map((p) => p.epoch), one.partitions.map((p) => p.epoch));

    await follower.connectors.restart(name, { includeTasks: true });
    await eventually(async () => (await allRunning(leader, name, 2)).partitions.every((p) => p.epoch > epoch(one, p.partition)), { timeoutMs: 30_000, message: 'every partition restarted' });
    await leader.connectors.delete(name);
  });

  test('log levels are per worker: set on one, unchanged on another; an unknown level is INVALID_ARGUMENT', async () => {
    const other = client(cluster.workers.find((w) => w !== followerWorker)!);
    assert.equal(await follower.logLevel.get(), 'info');
    assert.equal(await follower.logLevel.set('debug'), 'info');
    assert.equal(await follower.logLevel.get(), 'debug');
    assert.equal(await other.logLevel.get(), 'info');
    await expectError(follower.logLevel.set('verbose'), InvalidArgumentError, (e) => assert.deepEqual(problemKeys(e), ['level']));
    assert.equal(await follower.logLevel.set('info'), 'debug');
  });

  test('server reflection (v1 and v1alpha) lists every service and serves descriptors a generic client can call with', async () => {
    const expected = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection', 'tributary.admin.v1.AdminService', 'tributary.cluster.v1.CoordinatorService'];
    for (const version of ['v1', 'v1alpha'] as const) {
      const [list] = await reflect(followerWorker.address, version, [{ messageRequest: { case: 'listServices', value: '' } }]);
      assert.equal(list!.messageResponse.case, 'listServicesResponse');
      assert.deepEqual((list!.messageResponse.value as reflectionV1.ListServiceResponse).service.map((s) => s.name).sort(), expected, version);
    }

    const [files, missing] = await reflect(followerWorker.address, 'v1', [
      { messageRequest: { case: 'fileContainingSymbol', value: 'tributary.admin.v1.AdminService' } },
      { messageRequest: { case: 'fileContainingSymbol', value: 'tributary.admin.v1.NoSuchThing' } },
    ]);
    assert.equal(missing!.messageResponse.case, 'errorResponse');
    assert.equal((missing!.messageResponse.value as reflectionV1.ErrorResponse).errorCode, grpc.status.NOT_FOUND);
    const protos = (files!.messageResponse.value as reflectionV1.FileDescriptorResponse).fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    assert.deepEqual(protos.map((f) => f.name), ['tributary/admin/v1/admin.proto', 'tributary/connector/v1/connector.proto']);

    // Call GetCluster knowing only what reflection said, as grpcurl does.
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...protos].reverse() }));
    const method = registry.getService('tributary.admin.v1.AdminService')!.methods.find((m) => m.name === 'GetCluster')!;
    const raw = new grpc.Client(followerWorker.address, grpc.credentials.createInsecure());
    try {
      const answer = await new Promise<Record<string, unknown>>((resolve, reject) =>
        raw.makeUnaryRequest(
          `/tributary.admin.v1.AdminService/${method.name}`,
          (m: object) => Buffer.from(toBinary(method.input, create(method.input, m as never))),
          (b: Buffer) => fromBinary(method.output, b) as unknown as Record<string, unknown>,
          {},
          (err, value) => (err ? reject(err) : resolve(value!)),
        ),
      );
      assert.equal(answer['leaderId'], leaderWorker.id);
      assert.equal(answer['cluster'], cluster.name);
    } finally {
      raw.close();
    }
  });

  test('the CLI: tables for people, --json for scripts, each key of an invalid config, and exit codes', async () => {
    const name = 'cli-made';
    const file = join(dir, 'cli-made.json');
    writeFileSync(file, JSON.stringify({ name, config: source(topicOf(name), { 'records.per.second': '10', 'db.password': 'hunter2' }) }));
    const badFile = join(dir, 'cli-bad.json');
    writeFileSync(badFile, JSON.stringify({ name: 'cli-bad', config: { 'connector.class': 'verifiable-source', partitions: 'x' } }));
    const server = followerWorker.address;

    const info = await runCli(['cluster', 'info', '--json'], { TRIBUTARY_SERVER: server });
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).leaderId, leaderWorker.id);

    const bad = await runCli(['connectors', 'create', '-f', badFile], { TRIBUTARY_SERVER: server });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: invalid config for connector "cli-bad"\n {2}topic: is required\n {2}partitions: must be an integer, got "x"\n/);

    const made = await runCli(['connectors', 'create', '-f', file], { TRIBUTARY_SERVER: server });
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /created connector cli-made \(verifiable-source, RUNNING\)/);
    assert.equal((await runCli(['connectors', 'create', '-f', file], { TRIBUTARY_SERVER: server })).code, 4, 'ALREADY_EXISTS');
    await allRunning(leader, name, 2);

    const list = await runCli(['connectors', 'list'], { TRIBUTARY_SERVER: server });
    assert.match(list.stdout, /^NAME\s+KIND\s+PLUGIN\s+TARGET\s+STATE\s+RUNNING\s+WORKERS\ncli-made\s+source\s+verifiable-source\s+RUNNING\s+RUNNING\s+2\/2/);
    const got = await runCli(['connectors', 'get', name, '--json'], { TRIBUTARY_SERVER: server });
    assert.equal(JSON.parse(got.stdout).config['db.password'], '********');

    const missing = await runCli(['connectors', 'status', 'nope'], { TRIBUTARY_SERVER: server });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /connector "nope" not found; list them with: tributary connectors list/);

    const running = await runCli(['offsets', 'reset', name], { TRIBUTARY_SERVER: server });
    assert.equal(running.code, 4);
    assert.match(running.stderr, /stop it first/);

    const down = await runCli(['cluster', 'info', '--server', '127.0.0.1:1', '--timeout', '3000'], { TRIBUTARY_SERVER: server });
    assert.equal(down.code, 5);
    assert.match(down.stderr, /is a worker running at 127\.0\.0\.1:1\?/);

    const usage = await runCli(['connectors', 'get'], { TRIBUTARY_SERVER: server });
    assert.equal(usage.code, 2, 'a usage error is invalid input');

    assert.equal((await runCli(['connectors', 'delete', name], { TRIBUTARY_SERVER: server })).code, 0);
    assert.deepEqual(await leader.connectors.list(), []);
  });
});
