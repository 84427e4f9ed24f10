import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerLiveness } from '../../src/coordinator/worker-liveness.js';

test('worker liveness: overdue only past the session timeout; a new leader gives every owner a full timeout; forgotten workers are not expected', () => {
  let now = 1_000;
  const liveness = new WorkerLiveness(500, () => now);
  liveness.expect(['w1', 'w2']);
  now += 500;
  assert.deepEqual(liveness.overdue(['w1', 'w2']), [], 'exactly the timeout is not overdue');
  liveness.heard('w2');
  now += 1;
  assert.deepEqual(liveness.overdue(['w1', 'w2']), [{ workerId: 'w1', silentMs: 501 }]);
  assert.equal(liveness.alive('w2'), true);
  // A worker first seen in a check counts from that check, not from the epoch.
  assert.deepEqual(liveness.overdue(['w3']), []);
  now += 501;
  assert.deepEqual(liveness.overdue(['w3']).map((o) => o.workerId), ['w3']);
  liveness.forget('w1');
  assert.equal(liveness.alive('w1'), false, 'a forgotten worker is not alive');
  assert.deepEqual([...liveness.known()].sort(), ['w2', 'w3']);
});
