import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreditPool } from '../../src/worker/credits.js';
import { FileOffsetStore } from '../../src/coordinator/file-offset-store.js';
import { parseConnectorSettings } from '../../src/worker/connector-settings.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { TaskState, TaskStateMachine } from '../../src/worker/task-state.js';

test('credit pool never hands out more than its capacity and serves waiters in order', async () => {
  const pool = new CreditPool(10);
  assert.equal(await pool.acquire(7), 7);
  assert.equal(await pool.acquire(7), 3, 'takes what is left');
  const order: string[] = [];
  const a = pool.acquire(4).then((n) => order.push(`a${n}`));
  const b = pool.acquire(4).then((n) => order.push(`b${n}`));
  assert.equal(pool.inUse, 10);
  pool.release(5);
  await Promise.all([a, b]);
  assert.deepEqual(order, ['a4', 'b1']);
  assert.equal(pool.inUse, 10);
  const controller = new AbortController();
  const c = pool.acquire(1, controller.signal);
  controller.abort();
  assert.equal(await c, 0, 'an aborted wait takes nothing');
  pool.release(10);
  assert.equal(pool.inUse, 0);
});

test('file offset store survives a restart and ignores commits from older epochs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-offsets-'));
  try {
    const path = join(dir, 'offsets.json');
    const store = new FileOffsetStore(path);
    await store.start();
    store.commit('orders', 'p0', Buffer.from('41'), 2n);
    store.commit('orders', 'p0', Buffer.from('99'), 1n);
    store.commit('orders', 'p1', Buffer.from('7'), 2n);
    await store.stop();
    const reopened = new FileOffsetStore(path);
    await reopened.start();
    assert.equal(Buffer.from((await reopened.read('orders', 'p0'))!.offset).toString(), '41');
    assert.equal((await reopened.read('orders', 'p0'))!.epoch, 2n);
    assert.deepEqual([...(await reopened.readAll('orders')).keys()].sort(), ['p0', 'p1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt offsets file fails start with the path in the error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-offsets-'));
  try {
    const path = join(dir, 'offsets.json');
    writeFileSync(path, '{not json');
    await assert.rejects(new FileOffsetStore(path).start(), new RegExp(path.replace(/[.]/g, '\\.')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connector settings name every offending key at once', () => {
  assert.throws(
    () => parseConnectorSettings('bad name!', { 'delivery.guarantee': 'sometimes', 'max.inflight.records': '-3', 'topics.regex': '(' }, 'sink'),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      const keys = err.problems.map((p) => p.key).sort();
      assert.deepEqual(keys, ['connector.class', 'delivery.guarantee', 'max.inflight.records', 'name', 'topics.regex']);
      return true;
    },
  );
  assert.throws(() => parseConnectorSettings('s', { 'connector.class': 'x', topics: 'a', 'topics.regex': 'b.*' }, 'sink'), /either topics or topics.regex/);
  assert.throws(() => parseConnectorSettings('s', { 'connector.class': 'x' }, 'sink'), /a sink needs topics or topics.regex/);
  const ok = parseConnectorSettings('s', { 'connector.class': 'x', 'topics.regex': 'orders-.*', 'tasks.max': '3' }, 'sink');
  assert.ok(ok.topicsRegex!.test('orders-eu'));
  assert.ok(!ok.topicsRegex!.test('xorders-eu'), 'the pattern must match whole topic names');
  assert.equal(ok.guarantee, 'at-least-once');
});

test('task state machine refuses transitions it does not allow', () => {
  const sm = new TaskStateMachine('c/p0');
  const seen: TaskState[] = [];
  sm.onChange((s) => seen.push(s));
  sm.to(TaskState.STARTING);
  sm.to(TaskState.RUNNING);
  assert.throws(() => sm.to(TaskState.UNASSIGNED), /illegal task transition RUNNING → UNASSIGNED/);
  sm.to(TaskState.STOPPING);
  sm.to(TaskState.STOPPED);
  assert.throws(() => sm.to(TaskState.RUNNING), /illegal/);
  assert.deepEqual(seen, ['STARTING', 'RUNNING', 'STOPPING', 'STOPPED']);
});
