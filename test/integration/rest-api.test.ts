/**
 * The Kafka Connect REST API and /metrics on one real worker (etcd coordinator, real Kafka):
 * Kafka Connect's documented REST examples replayed (status codes and body shapes), a plain
 * `curl` script as Kafka Connect's docs drive it (create → status → pause → offsets → delete),
 * and a /metrics scrape checked against the records counted in Kafka.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { countSeqs, readTopic, uniqueName } from '../support/data-plane.js';
import { services } from '../support/services.js';
import { call, metricValue, startRestWorker, type RestWorker } from '../support/rest-worker.js';

let w: RestWorker;
let brokers: string[];

before(async () => {
  const s = await services();
  brokers = s.kafkaBootstrap.split(',');
  w = await startRestWorker({ etcdEndpoints: s.etcdEndpoints, kafkaBootstrap: s.kafkaBootstrap });
  await w.started;
  await eventually(() => w.health.status().serving, { timeoutMs: 20_000, message: 'the worker joined its cluster' });
});

after(async () => {
  await w?.stop();
});

const isError = (body: unknown, code: number) => {
  const b = body as { error_code?: unknown; message?: unknown };
  assert.equal(b.error_code, code);
  assert.equal(typeof b.message, 'string');
  assert.ok((b.message as string).length > 0);
};

test('/metrics counts exactly the records Kafka received, per connector', async () => {
  const name = uniqueName('metrics');
  const topic = uniqueName('metrics-topic');
  const perPartition = 700;
  const created = await call(w.url, 'POST', '/connectors', {
    name,
    config: { 'connector.class': 'verifiable-source', topic, partitions: '3', 'max.records': String(perPartition), 'topic.creation.default.partitions': '3' },
  });
  assert.equal(created.status, 201);
  const records = await readTopic(brokers, topic, 3 * perPartition);
  const all = [...records.values()].flat();
  const seqs = countSeqs(all);
  assert.equal(seqs.size, 3);
  for (const [, s] of seqs) assert.deepEqual(s.missing, []);
  const inKafka = all.length;

  // Produced is counted when Kafka acknowledges, offsets are committed once the next report
  // reaches the leader: the scrape may come a moment before either.
  const scraped = await eventually(async () => {
    const t = await (await fetch(`${w.url}/metrics`)).text();
    const produced = metricValue(t, 'tributary_source_records_produced_total', { connector: name }) === inKafka;
    return produced && metricValue(t, 'tributary_offset_commit_seconds_count')! >= 1 ? t : undefined;
  }, { timeoutMs: 10_000, message: 'produced counter reaches the records in Kafka and the leader commits offsets' });
  const text = scraped!;
  assert.equal(metricValue(text, 'tributary_source_records_polled_total', { connector: name }), inKafka, 'every polled record was produced');
  const batches = metricValue(text, 'tributary_source_batches_total', { connector: name })!;
  assert.ok(batches >= 3 && batches <= inKafka, `batches counted per produce call, not per record (${batches})`);
  assert.equal(metricValue(text, 'tributary_source_produce_seconds_count', { connector: name }), batches);
  assert.equal(metricValue(text, 'tributary_worker_partitions', { connector: name, state: 'RUNNING' }), 3);
  assert.equal(metricValue(text, 'tributary_cluster_is_leader'), 1);
  assert.ok(metricValue(text, 'tributary_cluster_leader_term')! > 0);
  assert.ok(metricValue(text, 'tributary_cluster_rebalances_total')! >= 1);
  assert.ok(metricValue(text, 'tributary_offset_commit_seconds_count')! >= 1, 'the leader committed offsets');
  assert.equal(metricValue(text, 'tributary_worker_credits_capacity_records'), w.node.worker.credits.capacity);
  assert.ok(metricValue(text, 'tributary_cluster_session_rtt_seconds_count')! >= 0);
  // The same counter through the Admin API (GetRecordCounters), as the web console reads it.
  const counters = await w.admin.recordCounters.get();
  assert.equal(counters.workerId, 'w1');
  assert.ok(counters.startedAtMs > 0 && counters.startedAtMs <= Date.now());
  assert.deepEqual(counters.connectors.find((c) => c.connector === name), { connector: name, sourceRecordsProduced: inKafka, sinkRecordsWritten: 0 });
  assert.equal((await call(w.url, 'DELETE', `/connectors/${name}`)).status, 204);
});

test("Kafka Connect's documented REST examples: status codes and body shapes", async () => {
  const name = uniqueName('kc');
  const topic = uniqueName('kc-topic');
  const config = { 'connector.class': 'verifiable-source', topic, partitions: '2', 'records.per.second': '50', 'topic.creation.default.partitions': '2' };

  const root = await call(w.url, 'GET', '/');
  assert.equal(root.status, 200);
  assert.deepEqual(Object.keys(root.body as object).sort(), ['commit', 'kafka_cluster_id', 'version']);

  // POST /connectors → 201 with {name, config, tasks, type} and a Location header.
  const created = await call(w.url, 'POST', '/connectors', { name, config });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get('location'), `/connectors/${name}`);
  assert.deepEqual(created.body, { name, config: { ...config, name }, tasks: [], type: 'source' });
  const duplicate = await call(w.url, 'POST', '/connectors', { name, config });
  assert.equal(duplicate.status, 409);
  isError(duplicate.body, 409);
  const invalid = await call(w.url, 'POST', '/connectors', { name: uniqueName('bad'), config: { 'connector.class': 'verifiable-source', partitions: 'four' } });
  assert.equal(invalid.status, 400);
  isError(invalid.body, 400);
  assert.match((invalid.body as { message: string }).message, /contains the following 2 error\(s\):\ntopic: .*\npartitions: /s);
  const mismatch = await call(w.url, 'PUT', `/connectors/${name}/config`, { ...config, name: 'other' });
  assert.equal(mismatch.status, 400);

  // GET /connectors, ?expand=status&expand=info
  assert.ok(((await call(w.url, 'GET', '/connectors')).body as string[]).includes(name));
  await eventually(async () => ((await call(w.url, 'GET', `/connectors/${name}/status`)).body as { tasks: Array<{ state: string }> }).tasks.filter((t) => t.state === 'RUNNING').length === 2, {
    timeoutMs: 20_000,
    message: 'both tasks RUNNING',
  });
  const expanded = (await call(w.url, 'GET', '/connectors?expand=status&expand=info')).body as Record<string, { status: unknown; info: unknown }>;
  assert.deepEqual(Object.keys(expanded[name]!).sort(), ['info', 'status']);

  const status = await call(w.url, 'GET', `/connectors/${name}/status`);
  assert.equal(status.status, 200);
  assert.deepEqual(status.body, {
    name,
    connector: { state: 'RUNNING', worker_id: 'w1' },
    tasks: [
      { id: 0, state: 'RUNNING', worker_id: 'w1' },
      { id: 1, state: 'RUNNING', worker_id: 'w1' },
    ],
    type: 'source',
  });
  assert.deepEqual((await call(w.url, 'GET', `/connectors/${name}`)).body, { name, config: { ...config, name }, tasks: [{ connector: name, task: 0 }, { connector: name, task: 1 }], type: 'source' });
  const tasks = (await call(w.url, 'GET', `/connectors/${name}/tasks`)).body as Array<{ id: { connector: string; task: number }; config: Record<string, string> }>;
  assert.deepEqual(tasks.map((t) => [t.id, t.config['tributary.partition']]), [[{ connector: name, task: 0 }, 'p0'], [{ connector: name, task: 1 }, 'p1']]);
  assert.deepEqual((await call(w.url, 'GET', `/connectors/${name}/tasks/1/status`)).body, { id: 1, state: 'RUNNING', worker_id: 'w1' });
  const noTask = await call(w.url, 'GET', `/connectors/${name}/tasks/7/status`);
  assert.equal(noTask.status, 404);
  isError(noTask.body, 404);
  assert.deepEqual((await call(w.url, 'GET', `/connectors/${name}/topics`)).body, { [name]: { topics: [topic] } });
  assert.equal((await call(w.url, 'PUT', `/connectors/${name}/topics/reset`)).status, 202);

  // PATCH /connectors/{name}/config (KIP-477): set one key, remove another.
  const patched = await call(w.url, 'PATCH', `/connectors/${name}/config`, { 'records.per.second': '40', 'topic.creation.default.partitions': null });
  assert.equal(patched.status, 200);
  assert.equal((patched.body as { config: Record<string, string> }).config['records.per.second'], '40');
  assert.equal((patched.body as { config: Record<string, string> }).config['topic.creation.default.partitions'], undefined);

  // Offsets while running: 400 as Kafka Connect answers.
  const early = await call(w.url, 'PATCH', `/connectors/${name}/offsets`, { offsets: [{ partition: { partition: 'p0' }, offset: { offset: '5' } }] });
  assert.equal(early.status, 400);
  isError(early.body, 400);

  assert.equal((await call(w.url, 'PUT', `/connectors/${name}/pause`)).status, 202);
  await eventually(async () => ((await call(w.url, 'GET', `/connectors/${name}/status`)).body as { connector: { state: string } }).connector.state === 'PAUSED', { timeoutMs: 20_000, message: 'PAUSED' });
  assert.equal((await call(w.url, 'PUT', `/connectors/${name}/stop`)).status, 204);
  await eventually(async () => {
    const s = (await call(w.url, 'GET', `/connectors/${name}/status`)).body as { connector: { state: string }; tasks: Array<{ state: string }> };
    return s.connector.state === 'STOPPED' && s.tasks.every((t) => t.state === 'UNASSIGNED');
  }, { timeoutMs: 20_000, message: 'STOPPED and released' });

  const offsets = await call(w.url, 'GET', `/connectors/${name}/offsets`);
  assert.equal(offsets.status, 200);
  const list = (offsets.body as { offsets: Array<{ partition: { partition: string }; offset: { offset: string } }> }).offsets;
  assert.deepEqual(list.map((o) => o.partition.partition).sort(), ['p0', 'p1']);
  for (const o of list) assert.match(o.offset.offset, /^\d+$/);
  const altered = await call(w.url, 'PATCH', `/connectors/${name}/offsets`, { offsets: [{ partition: { partition: 'p0' }, offset: { offset: '5' } }, { partition: { partition: 'p1' }, offset: null }] });
  assert.equal(altered.status, 200);
  assert.deepEqual(altered.body, { message: 'The offsets for this connector have been altered successfully' });
  assert.deepEqual((await call(w.url, 'GET', `/connectors/${name}/offsets`)).body, { offsets: [{ partition: { partition: 'p0' }, offset: { offset: '5' } }] });
  const malformed = await call(w.url, 'PATCH', `/connectors/${name}/offsets`, { offsets: [{ partition: {}, offset: { offset: '1' } }] });
  assert.equal(malformed.status, 400);
  assert.match((malformed.body as { message: string }).message, /offsets\[0\]\.partition\.partition/);
  assert.deepEqual((await call(w.url, 'DELETE', `/connectors/${name}/offsets`)).body, { message: 'The offsets for this connector have been reset successfully' });
  assert.deepEqual((await call(w.url, 'GET', `/connectors/${name}/offsets`)).body, { offsets: [] });
  assert.equal((await call(w.url, 'PUT', `/connectors/${name}/resume`)).status, 202);
  const restarted = await call(w.url, 'POST', `/connectors/${name}/restart?includeTasks=true&onlyFailed=true`);
  assert.equal(restarted.status, 202);
  assert.equal((restarted.body as { name: string }).name, name);
  assert.equal((await call(w.url, 'POST', `/connectors/${name}/restart`)).status, 204);

  // Plugins, validation, loggers.
  const plugins = (await call(w.url, 'GET', '/connector-plugins')).body as Array<{ class: string; type: string; version: string }>;
  assert.ok(plugins.some((p) => p.class === 'verifiable-source' && p.type === 'source'));
  const keys = (await call(w.url, 'GET', '/connector-plugins/verifiable-source/config')).body as Array<{ name: string; type: string; required: boolean }>;
  assert.ok(keys.some((k) => k.name === 'topic' && k.required));
  const validated = await call(w.url, 'PUT', '/connector-plugins/verifiable-source/config/validate', { partitions: 'x' });
  assert.equal(validated.status, 200);
  const v = validated.body as { name: string; error_count: number; configs: Array<{ value: { name: string; errors: string[] } }> };
  assert.equal(v.name, 'verifiable-source');
  assert.ok(v.error_count >= 2);
  assert.ok(v.configs.find((c) => c.value.name === 'topic')!.value.errors.length > 0);
  assert.equal((await call(w.url, 'PUT', '/connector-plugins/verifiable-source/config/validate', { 'connector.class': 'file-source' })).status, 400);
  assert.equal((await call(w.url, 'GET', '/connector-plugins/nope/config')).status, 404);
  const initial = ((await call(w.url, 'GET', '/admin/loggers')).body as { root: { level: string; last_modified: null } }).root;
  assert.ok(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'OFF'].includes(initial.level));
  assert.equal(initial.last_modified, null);
  assert.deepEqual((await call(w.url, 'PUT', '/admin/loggers/root', { level: 'DEBUG' })).body, ['root']);
  assert.equal(((await call(w.url, 'GET', '/admin/loggers/root')).body as { level: string }).level, 'DEBUG');
  assert.equal((await call(w.url, 'PUT', '/admin/loggers/root?scope=cluster', { level: 'INFO' })).status, 204);
  assert.equal(((await call(w.url, 'GET', '/admin/loggers/root')).body as { level: string }).level, 'INFO');
  assert.equal((await call(w.url, 'PUT', '/admin/loggers/root', { level: 'LOUD' })).status, 404);
  await call(w.url, 'PUT', '/admin/loggers/root', { level: initial.level });

  assert.equal((await call(w.url, 'DELETE', `/connectors/${name}`)).status, 204);
  const gone = await call(w.url, 'GET', `/connectors/${name}`);
  assert.equal(gone.status, 404);
  isError(gone.body, 404);
  const unknownPath = await call(w.url, 'GET', '/no/such/path');
  assert.equal(unknownPath.status, 404);
  isError(unknownPath.body, 404);
});

test('a plain curl script, as Kafka Connect documents it, drives create → status → pause → offsets → delete', async () => {
  const script = fileURLToPath(new URL('../fixtures/rest/kafka-connect-curl.sh', import.meta.url));
  // Asynchronously: the worker answering curl runs in this process.
  const { stdout } = await promisify(execFile)('bash', [script, w.url, uniqueName('curl'), uniqueName('curl-topic')], { encoding: 'utf8', timeout: 120_000 }).catch((err: { stdout?: string; stderr?: string }) => {
    throw new Error(`curl script failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  });
  assert.match(stdout, /deleted$/m);
});
