/**
 * Hostile plugins on a worker (TESTING.md): a plugin that hangs, or breaks the protocol, fails
 * its own partitions with a reason naming the stage — and a normal connector on the same worker
 * keeps delivering and committing records meanwhile. The worker never goes down.
 */
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { PluginHost } from '../../src/plugins/index.js';
import { DeadlineExceededError } from '../../src/errors.js';
import { TaskState } from '../../src/worker/index.js';
import { hangingDescribePlugin, hangingReadPlugin, overCreditPlugin } from '../fixtures/plugins/hostile.js';
import { eventually } from '../support/eventually.js';
import { quietLogger, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';

let dp: DataPlane;
const healthy = uniqueName('healthy');

before(async () => {
  const plugins = new PluginHost({ logger: quietLogger, describeTimeoutMs: 1_000 });
  plugins.register({ name: 'hang-read', source: { type: 'in-process', create: hangingReadPlugin } });
  plugins.register({ name: 'hang-describe', source: { type: 'in-process', create: hangingDescribePlugin } });
  plugins.register({ name: 'over-credit', source: { type: 'in-process', create: overCreditPlugin } });
  plugins.register({ name: 'hang-read-child', source: { type: 'command', command: process.execPath, args: ['--import', 'tsx', fileURLToPath(new URL('../fixtures/plugins/hostile-main.ts', import.meta.url)), 'hang-read'] } });
  dp = await startDataPlane({ plugins, drainTimeoutMs: 1_000 });
  await runAllPartitions(dp, healthy, { 'connector.class': 'verifiable-source', topic: uniqueName('healthy'), partitions: '2', 'records.per.second': '500', 'topic.creation.default.partitions': '1' });
});

after(async () => {
  await dp.close();
});

/** Resolves once the healthy connector committed `n` more records on every partition. */
async function healthyKeepsMoving(n = 200): Promise<void> {
  const before = new Map([...(await dp.offsets.readAll(healthy))].map(([p, o]) => [p, Number(Buffer.from(o.offset).toString())]));
  await eventually(async () => {
    const now = await dp.offsets.readAll(healthy);
    return now.size === 2 && [...now].every(([p, o]) => Number(Buffer.from(o.offset).toString()) >= (before.get(p) ?? -1) + n);
  }, { timeoutMs: 20_000, message: 'the healthy connector kept committing records' });
}

test('a plugin that hangs in Read: others keep moving; its stop is cut off at the drain timeout and FAILS naming the stage', async () => {
  const name = uniqueName('hang-read');
  const runtime = await runAllPartitions(dp, name, { 'connector.class': 'hang-read', topic: uniqueName('hang'), partitions: '1', 'topic.creation.default.partitions': '1' });
  await healthyKeepsMoving();
  const [partition] = runtime.partitions();
  const task = runtime.task(partition!)!;
  const started = Date.now();
  await task.stop('revoke');
  assert.ok(Date.now() - started < 5_000, 'the stop is bounded by the drain timeout');
  assert.equal(task.status().state, TaskState.FAILED);
  assert.match(task.status().error!.message, /stage: drain/);
  await healthyKeepsMoving();
  await dp.worker.closeConnector(name);
});

test('a child-process plugin that hangs while stopping is killed; its partition FAILS naming the stage; the host starts a fresh process', async () => {
  const name = uniqueName('hang-child');
  const runtime = await runAllPartitions(dp, name, { 'connector.class': 'hang-read-child', topic: uniqueName('hang'), partitions: '1', 'topic.creation.default.partitions': '1' });
  const instance = runtime.plugin as { pid?: number };
  const pid = instance.pid!;
  assert.ok(pid, 'the plugin runs as a child process');
  const [partition] = runtime.partitions();
  const task = runtime.task(partition!)!;
  await runtime.stopPartition(partition!, 'revoke');
  assert.equal(task.status().state, TaskState.FAILED);
  assert.match(task.status().error!.message, /stage: drain/);
  await eventually(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, { timeoutMs: 10_000, message: `the hung plugin process ${pid} was killed` });
  await eventually(() => instance.pid !== undefined && instance.pid !== pid, { timeoutMs: 15_000, message: 'the host started a fresh plugin process' });
  await healthyKeepsMoving();
  await dp.worker.closeConnector(name);
});

test('a plugin sending more records than its credits FAILS with a protocol error; others keep moving', async () => {
  const name = uniqueName('over-credit');
  const runtime = await runAllPartitions(dp, name, { 'connector.class': 'over-credit', topic: uniqueName('over'), partitions: '1', 'topic.creation.default.partitions': '1', 'task.restart.max.attempts': '0' });
  await eventually(() => runtime.statuses().every((s) => s.state === TaskState.FAILED), { timeoutMs: 10_000, message: 'the over-sending partition failed' });
  assert.match(runtime.statuses()[0]!.error!.message, /protocol violation: plugin sent \d+ records with only \d+ credits left/);
  await healthyKeepsMoving();
  await dp.worker.closeConnector(name);
});

test('a plugin that hangs in Describe: opening its connector fails with DEADLINE_EXCEEDED naming Describe; others keep moving', async () => {
  const started = Date.now();
  await assert.rejects(dp.worker.openConnector(uniqueName('hang-describe'), { 'connector.class': 'hang-describe', topic: 't' }), (err: unknown) => {
    assert.ok(err instanceof DeadlineExceededError, `expected DeadlineExceededError, got ${String(err)}`);
    assert.match(err.message, /describe/i);
    return true;
  });
  assert.ok(Date.now() - started < 10_000, 'bounded by the describe timeout');
  await healthyKeepsMoving();
});
