/** The automatic restart schedule of a FAILED partition, and its connector keys. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRestartPolicy, parseConnectorSettings, restartCeilingMs, restartDelayMs } from '../../src/worker/index.js';
import { InvalidArgumentError } from '../../src/errors.js';

const policy = { maxAttempts: 10, initialMs: 100, maxMs: 1_000 };

test('the restart ceiling doubles per attempt from the initial delay and stops at the cap', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 50].map((n) => restartCeilingMs(n, policy)),
    [100, 200, 400, 800, 1_000, 1_000, 1_000],
  );
});

test('the jittered delay stays in the upper half of the ceiling', () => {
  for (const attempt of [1, 3, 7]) {
    const ceiling = restartCeilingMs(attempt, policy);
    assert.equal(restartDelayMs(attempt, policy, () => 0), ceiling / 2, `attempt ${attempt}, lowest draw`);
    assert.equal(restartDelayMs(attempt, policy, () => 1), ceiling, `attempt ${attempt}, highest draw`);
    assert.equal(restartDelayMs(attempt, policy, () => 0.5), Math.round(ceiling * 0.75), `attempt ${attempt}, middle draw`);
  }
});

test('attempt numbers below 1 are a programming error', () => {
  assert.throws(() => restartCeilingMs(0, policy), RangeError);
});

test('task.restart.* keys: defaults, parsed values, and one error per bad key', () => {
  const base = { 'connector.class': 'x', topic: 't' };
  assert.deepEqual(parseConnectorSettings('c', base, 'source').restart, defaultRestartPolicy);
  assert.deepEqual(
    parseConnectorSettings('c', { ...base, 'task.restart.max.attempts': '0', 'task.restart.backoff.initial.ms': '50', 'task.restart.backoff.max.ms': '50' }, 'source').restart,
    { maxAttempts: 0, initialMs: 50, maxMs: 50 },
  );
  assert.throws(
    () => parseConnectorSettings('c', { ...base, 'task.restart.max.attempts': '-1', 'task.restart.backoff.initial.ms': '500', 'task.restart.backoff.max.ms': '100' }, 'source'),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.deepEqual(err.problems.map((p) => p.key).sort(), ['task.restart.backoff.max.ms', 'task.restart.max.attempts']);
      return true;
    },
  );
});

test('max.inflight.bytes: default 64 MiB, bounded below by 1 KiB', () => {
  const base = { 'connector.class': 'x', topic: 't' };
  assert.equal(parseConnectorSettings('c', base, 'source').maxInFlightBytes, 64 * 1024 * 1024);
  assert.equal(parseConnectorSettings('c', { ...base, 'max.inflight.bytes': '4096' }, 'source').maxInFlightBytes, 4096);
  assert.throws(() => parseConnectorSettings('c', { ...base, 'max.inflight.bytes': '10' }, 'source'), (err: unknown) => err instanceof InvalidArgumentError && err.problems.some((p) => p.key === 'max.inflight.bytes'));
});
