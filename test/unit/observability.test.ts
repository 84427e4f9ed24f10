/**
 * Metrics and health on their own: counters move by the counts reported per batch (never one
 * per call unless it is a batch counter), the processing stage reports filtered, dead-lettered
 * and skipped records, scrape-time gauges read the bound view, and health is NOT_SERVING until
 * every condition holds and while fenced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import pino from 'pino';
import { RecordSchema } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { PrometheusMetrics, WorkerHealth } from '../../src/observability/index.js';
import { parseProcessing } from '../../src/processing/config.js';
import { ProcessingPipeline } from '../../src/processing/pipeline.js';
import { registerTransform } from '../../src/processing/transforms/index.js';
import { Schemas, Struct, schemaToProto, structSchema, valueToProto } from '../../src/processing/index.js';
import { metricValue } from '../support/rest-worker.js';

test('counters move by the records of each batch; histograms observe once per batch', async () => {
  const m = new PrometheusMetrics({ processMetrics: false });
  m.sourcePolled('orders', 500);
  m.sourcePolled('orders', 250);
  m.sourceProduced('orders', 750, 0.004);
  m.sinkFetched('sink', 100);
  m.sinkWritten('sink', 100, 0.2);
  m.offsetCommit(0.01, true);
  m.offsetCommit(0, false);
  m.pluginRestarted('file-source');
  const text = await m.text();
  assert.equal(metricValue(text, 'tributary_source_records_polled_total', { connector: 'orders' }), 750);
  assert.equal(metricValue(text, 'tributary_source_records_produced_total', { connector: 'orders' }), 750);
  assert.equal(metricValue(text, 'tributary_source_batches_total', { connector: 'orders' }), 1);
  assert.equal(metricValue(text, 'tributary_source_produce_seconds_count', { connector: 'orders' }), 1);
  assert.equal(metricValue(text, 'tributary_source_produce_seconds_bucket', { connector: 'orders', le: '0.005' }), 1);
  assert.equal(metricValue(text, 'tributary_sink_records_written_total', { connector: 'sink' }), 100);
  assert.equal(metricValue(text, 'tributary_offset_commit_seconds_count'), 1);
  assert.equal(metricValue(text, 'tributary_offset_commit_failures_total'), 1);
  assert.equal(metricValue(text, 'tributary_plugin_process_restarts_total', { plugin: 'file-source' }), 1);
});

test('gauges are read from the bound view when scraped', async () => {
  const m = new PrometheusMetrics({ processMetrics: false });
  let inUse = 10;
  m.bind({
    creditsInUse: () => inUse,
    creditsCapacity: () => 1000,
    partitions: () => [
      { connector: 'a', state: 'RUNNING', inFlight: 4 },
      { connector: 'a', state: 'FAILED', inFlight: 0 },
      { connector: 'b', state: 'RUNNING', inFlight: 6 },
    ],
    connectors: () => 2,
    leaderTerm: () => 7,
    isLeader: () => false,
  });
  let text = await m.text();
  assert.equal(metricValue(text, 'tributary_worker_credits_in_use_records'), 10);
  assert.equal(metricValue(text, 'tributary_worker_partitions', { connector: 'a', state: 'RUNNING' }), 1);
  assert.equal(metricValue(text, 'tributary_worker_partitions', { connector: 'a', state: 'FAILED' }), 1);
  assert.equal(metricValue(text, 'tributary_worker_partitions', { connector: 'a', state: 'PAUSED' }), 0);
  assert.equal(metricValue(text, 'tributary_worker_in_flight_records', { connector: 'b' }), 6);
  assert.equal(metricValue(text, 'tributary_cluster_leader_term'), 7);
  assert.equal(metricValue(text, 'tributary_cluster_is_leader'), 0);
  inUse = 99;
  text = await m.text();
  assert.equal(metricValue(text, 'tributary_worker_credits_in_use_records'), 99);
});

test('the processing stage reports filtered, dead-lettered and skipped records per batch', async () => {
  registerTransform({ className: 'test.DropOdd', aliases: [], summary: 'drops values "odd"', configKeys: [], create: () => ({ apply: (r) => (r.value instanceof Uint8Array && Buffer.from(r.value).toString() === 'odd' ? null : r) }) });
  const order = structSchema([['id', Schemas.int64]]);
  const bad = create(RecordSchema, { offset: Buffer.from('3'), valueSchema: schemaToProto(order), structuredValue: valueToProto(new Struct(order).put('id', 1n), order) });
  const rec = (v: string, o: string) => create(RecordSchema, { offset: Buffer.from(o), value: Buffer.from(v) });
  const seen: Array<{ filtered: number; deadLettered: number; skipped: number }> = [];
  const run = (config: Record<string, string>) =>
    new ProcessingPipeline({ settings: parseProcessing(config, { kind: 'source' }), logger: pino({ level: 'silent' }), counts: (c) => seen.push(c) }).toKafka([rec('even', '1'), rec('odd', '2'), bad], { connector: 'c', partition: 'p', defaultTopic: 't' });
  await run({ transforms: 'drop', 'transforms.drop.type': 'test.DropOdd', 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': 'dlq' });
  await run({ transforms: 'drop', 'transforms.drop.type': 'test.DropOdd', 'errors.tolerance': 'all' });
  assert.deepEqual(seen, [
    { filtered: 1, deadLettered: 1, skipped: 0 },
    { filtered: 1, deadLettered: 0, skipped: 1 },
  ]);
});

test('health: NOT_SERVING until coordinator, Kafka and joined all hold; NOT_SERVING while fenced and when shutting down', () => {
  const h = new WorkerHealth();
  const changes: boolean[] = [];
  h.onChange((s) => changes.push(s.serving));
  assert.equal(h.status().serving, false);
  assert.match(h.status().reason, /coordinator/);
  h.set('coordinator', true);
  h.set('kafka', false, 'cannot reach kafka: ECONNREFUSED');
  assert.match(h.status().reason, /ECONNREFUSED/);
  h.set('kafka', true);
  assert.match(h.status().reason, /joined/);
  h.set('joined', true);
  assert.deepEqual(h.status().serving, true);
  h.set('not-fenced', false, 'fenced: no answer from leader');
  assert.equal(h.status().serving, false);
  assert.match(h.status().reason, /fenced/);
  h.set('not-fenced', true);
  assert.equal(h.status().serving, true);
  h.shuttingDown();
  assert.equal(h.status().serving, false);
  assert.deepEqual(changes.filter((v, i) => i === 0 || v !== changes[i - 1]), [false, true, false, true, false]);
});

test('the Grafana dashboard uses only metrics a worker exports', async () => {
  const { readFileSync } = await import('node:fs');
  const dashboard = readFileSync(new URL('../../deploy/grafana/tributary-dashboard.json', import.meta.url), 'utf8');
  const used = new Set([...dashboard.matchAll(/\b((?:tributary|process|nodejs)_[a-z_]+?)(?:_bucket|_sum|_count)?\{/g)].map((m) => m[1]!));
  const m = new PrometheusMetrics();
  const exported = new Set((await m.registry.getMetricsAsJSON()).map((x) => x.name));
  assert.ok(used.size >= 15);
  for (const name of used) assert.ok(exported.has(name), `${name} is not exported`);
});
