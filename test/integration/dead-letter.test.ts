/**
 * Error handling on the real broker, for a source (the file source, one line per record):
 * a transform that always fails on line "5" and fails once (retriably) on line "8".
 * - errors.tolerance=all with a dead-letter topic: every other line, "8" included after its
 *   retry, arrives in order; the DLQ holds exactly line "5", with Kafka Connect's
 *   __connect.errors.* headers naming stage, class, exception, message and origin.
 * - errors.tolerance=none: the partition FAILS with a message naming the record's offset and
 *   the stage, and no offset at or after the bad record is committed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../../src/errors.js';
import { DataError } from '../../src/processing/index.js';
import { registerTransform } from '../../src/processing/transforms/index.js';
import { TaskState } from '../../src/worker/task-state.js';
import { kafkaClient, readTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';

const LINES = Array.from({ length: 20 }, (_, i) => String(i));
let failedOnce = false;
registerTransform({
  className: 'test.Flaky',
  aliases: [],
  summary: 'fails always on "5", once on "8"',
  configKeys: [],
  create: () => ({
    apply(r) {
      if (r.value === '5') throw new DataError('line 5 is bad');
      if (r.value === '8' && !failedOnce) {
        failedOnce = true;
        throw new TributaryError('UNAVAILABLE', 'line 8 is not ready yet', { retriable: true });
      }
      return r;
    },
  }),
});

describe('dead-letter topic and tolerance on the real broker', () => {
  let dp: DataPlane;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-dlq-'));
    writeFileSync(join(dir, 'in.txt'), LINES.map((l) => `${l}\n`).join(''));
    dp = await startDataPlane();
  });
  after(async () => {
    await dp?.close();
  });

  const config = (topic: string, extra: Record<string, string>): Record<string, string> => ({
    'connector.class': 'file-source',
    path: dir,
    topic,
    transforms: 'flaky',
    'transforms.flaky.type': 'test.Flaky',
    'errors.retry.timeout': '10000',
    'errors.retry.delay.max.ms': '500',
    ...extra,
  });

  it('errors.tolerance=all: good records arrive, exactly the always-bad one is in the DLQ with headers', async () => {
    failedOnce = false;
    const topic = uniqueName('dlq-data');
    const dlq = uniqueName('dlq');
    await dp.worker.admin.createTopics([{ name: topic, partitions: 1 }]);
    const runtime = await runAllPartitions(dp, uniqueName('dlq-src'), config(topic, { 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq, 'errors.deadletterqueue.topic.replication.factor': '1', 'errors.deadletterqueue.context.headers.enable': 'true' }));
    try {
      const data = [...(await readTopic(dp.brokers, topic, LINES.length - 1)).values()].flat();
      assert.deepEqual(data.map((r) => r.value?.toString()), LINES.filter((l) => l !== '5'));
      assert.ok(failedOnce, 'line 8 failed once and was retried');
      const consumer = kafkaClient(dp.brokers).consumer({ groupId: uniqueName('dlq-check') });
      const dead: Array<{ value: string; headers: Record<string, string> }> = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic: dlq, fromBeginning: true });
        void consumer.run({
          eachMessage: async ({ message }) => {
            dead.push({ value: message.value!.toString(), headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) });
          },
        });
        await eventually(() => dead.length >= 1, { timeoutMs: 30_000 });
      } finally {
        await consumer.disconnect();
      }
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.value, '5');
      const h = dead[0]!.headers;
      assert.equal(h['__connect.errors.stage'], 'TRANSFORMATION');
      assert.equal(h['__connect.errors.class.name'], 'test.Flaky');
      assert.equal(h['__connect.errors.exception.class.name'], 'org.apache.kafka.connect.errors.DataException');
      assert.equal(h['__connect.errors.exception.message'], 'line 5 is bad');
      assert.match(h['__connect.errors.exception.stacktrace']!, /line 5 is bad/);
      assert.equal(h['__connect.errors.topic'], topic);
      assert.equal(h['__connect.errors.offset'], '12', 'the source offset of line 5 (byte position after it)');
      assert.equal(h['__connect.errors.task.id'], 'in.txt');
      await eventually(() => Buffer.from(runtime.statuses()[0]!.committedOffset ?? []).toString() === String(LINES.join('\n').length + 1), { timeoutMs: 10_000, message: 'every line committed, the dead-lettered one too' });
    } finally {
      await runtime.stop();
    }
  });

  it('errors.tolerance=none: the partition FAILS naming the position and the stage; nothing from there on is committed', async () => {
    failedOnce = true;
    const topic = uniqueName('none-data');
    await dp.worker.admin.createTopics([{ name: topic, partitions: 1 }]);
    // No automatic restart: the failure itself is under test.
    const runtime = await runAllPartitions(dp, uniqueName('none-src'), config(topic, { 'task.restart.max.attempts': '0' }));
    try {
      await eventually(() => runtime.statuses()[0]?.state === TaskState.FAILED, { timeoutMs: 30_000 });
      const status = runtime.statuses()[0]!;
      assert.match(status.error!.message, /offset 12/);
      assert.match(status.error!.message, /stage TRANSFORMATION \(test\.Flaky\)/);
      const committed = status.committedOffset === undefined ? 0 : Number(Buffer.from(status.committedOffset).toString());
      assert.ok(committed <= 10, `committed ${committed} must stay before line 5 (which starts at byte 10)`);
    } finally {
      await runtime.stop();
    }
  });
});
