/**
 * A FAILED partition is restarted on its own with capped exponential backoff
 * (task.restart.* of its connector), and stays FAILED with the reason and the attempt count once
 * the cap is reached; an operator restart starts a fresh count. Real broker; records counted by
 * sequence number.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/eventually.js';
import { countSeqs, quietLogger, readTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { TaskState } from '../../src/worker/index.js';
import { PluginHost, sourcePlugin } from '../../src/plugins/index.js';
import { verifiableSourceDefinition } from '../../src/connectors/verifiable-source/index.js';

const RECORDS = 2_000;
const FLAKY = 'p0';

/** Per connector: how many more times partition FLAKY refuses `open`; and how often it was opened. */
const refusals = new Map<string, number>();
const opens = new Map<string, number>();

const flakySource = sourcePlugin({
  ...verifiableSourceDefinition,
  name: 'flaky-open-source',
  async open(connector, partition, offset, signal) {
    if (partition.id === FLAKY) {
      opens.set(connector.name, (opens.get(connector.name) ?? 0) + 1);
      const left = refusals.get(connector.name) ?? 0;
      if (left > 0) {
        refusals.set(connector.name, left - 1);
        throw new Error('open refused: simulated outage of the source system');
      }
    }
    return verifiableSourceDefinition.open(connector, partition, offset, signal);
  },
});

describe('automatic restarts of a FAILED partition (real broker)', () => {
  let dp: DataPlane;
  before(async () => {
    const plugins = new PluginHost({ logger: quietLogger });
    plugins.register({ name: 'flaky-open-source', source: { type: 'in-process', create: () => flakySource } });
    dp = await startDataPlane({ plugins });
  });
  after(async () => {
    await dp.close();
  });

  const config = (topic: string, extra: Record<string, string>) => ({
    'connector.class': 'flaky-open-source',
    topic,
    partitions: '2',
    'max.records': String(RECORDS),
    'topic.creation.default.partitions': '2',
    'task.restart.backoff.initial.ms': '100',
    'task.restart.backoff.max.ms': '400',
    ...extra,
  });

  async function committed(name: string): Promise<Map<string, number>> {
    return new Map([...(await dp.offsets.readAll(name))].map(([p, o]) => [p, Number(Buffer.from(o.offset).toString())]));
  }

  async function assertComplete(topic: string, name: string): Promise<void> {
    const counts = countSeqs([...(await readTopic(dp.brokers, topic, 2 * RECORDS)).values()].flat());
    for (const p of ['p0', 'p1']) {
      const c = counts.get(p);
      assert.ok(c, `${p} produced records`);
      assert.deepEqual(c.missing, [], `${p}: no missing seq`);
      assert.equal(c.max, RECORDS - 1, `${p}: every record up to the last`);
      assert.equal(c.duplicates, 0, `${p}: a refused open produced nothing twice`);
    }
    assert.equal((await committed(name)).get(FLAKY), RECORDS - 1);
  }

  test('a partition whose plugin open fails twice then succeeds comes back by itself and delivers every record', { timeout: 120_000 }, async () => {
    const topic = uniqueName('flaky');
    const name = uniqueName('flaky');
    refusals.set(name, 2);
    const runtime = await runAllPartitions(dp, name, config(topic, { 'task.restart.max.attempts': '5' }));
    await eventually(async () => (await committed(name)).get(FLAKY) === RECORDS - 1 && (await committed(name)).get('p1') === RECORDS - 1, {
      timeoutMs: 60_000,
      message: 'both partitions committed their last record',
    });
    assert.equal(opens.get(name), 3, 'opened three times: two refusals, then the good one');
    const status = runtime.task(FLAKY)!.status();
    assert.equal(status.state, TaskState.RUNNING);
    assert.equal(status.error, undefined, 'running again: no stale error');
    assert.equal(status.restartAttempts, 2, 'two automatic restarts');
    await dp.worker.closeConnector(name);
    await assertComplete(topic, name);
  });

  test('a partition whose open always fails stays FAILED after task.restart.max.attempts, with the reason and the count; an operator restart starts afresh', { timeout: 120_000 }, async () => {
    const topic = uniqueName('broken');
    const name = uniqueName('broken');
    refusals.set(name, Number.MAX_SAFE_INTEGER);
    const runtime = await runAllPartitions(dp, name, config(topic, { 'task.restart.max.attempts': '3' }));
    const task = runtime.task(FLAKY)!;
    await eventually(() => task.status().state === TaskState.FAILED && /gave up/.test(task.status().error?.message ?? ''), { timeoutMs: 30_000, message: 'the partition gave up' });
    await task.done;
    const status = task.status();
    assert.equal(status.restartAttempts, 3);
    assert.match(status.error!.message, /open refused: simulated outage/, 'the reason is the plugin\'s');
    assert.match(status.error!.message, /gave up after 3 automatic restarts, task\.restart\.max\.attempts=3/);
    assert.equal(opens.get(name), 4, 'the first open and three restarts, no more');
    await eventually(async () => (await committed(name)).get('p1') === RECORDS - 1, { timeoutMs: 60_000, message: 'the sibling committed its last record meanwhile' });
    assert.equal(runtime.task('p1')!.status().state, TaskState.RUNNING);

    // The operator fixed the source system and restarts the partition: a fresh count, and it runs.
    refusals.set(name, 1);
    await runtime.restartPartition(FLAKY, 2n);
    await eventually(async () => (await committed(name)).get(FLAKY) === RECORDS - 1, { timeoutMs: 60_000, message: 'the restarted partition delivered everything' });
    assert.equal(runtime.task(FLAKY)!.status().restartAttempts, 1, 'the operator restart reset the count (one refusal since)');
    assert.equal(opens.get(name), 6);
    await dp.worker.closeConnector(name);
    await assertComplete(topic, name);
  });
});
