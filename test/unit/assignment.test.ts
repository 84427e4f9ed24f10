import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAssignment, partitionKey, type Ownership, type PlannedPartition } from '../../src/coordinator/assignment.js';

const parts = (connector: string, n: number): PlannedPartition[] => Array.from({ length: n }, (_, i) => ({ connector, partition: `p${i}` }));
const workers = (...ids: string[]) => ids.map((id) => ({ id, capacity: 1 }));

/** Applies a plan as the leader would once every revoke is acknowledged, and returns the owners. */
function settle(desired: PlannedPartition[], ws: Array<{ id: string; capacity: number }>, current: Ownership[]): Ownership[] {
  let owners = current;
  for (let round = 0; round < 10; round++) {
    const plan = planAssignment({ desired, workers: ws, current: owners });
    if (plan.assign.length === 0 && plan.move.length === 0 && plan.drop.length === 0) return owners;
    const gone = new Set([...plan.move, ...plan.drop].map(partitionKey));
    owners = [...owners.filter((o) => !gone.has(partitionKey(o))), ...plan.assign.map((a) => ({ ...a, revoking: false }))];
  }
  throw new Error('assignment did not converge');
}

function counts(owners: Ownership[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of owners) out[o.workerId] = (out[o.workerId] ?? 0) + 1;
  return out;
}

test('spreads new partitions evenly, each connector across workers', () => {
  const desired = [...parts('a', 4), ...parts('b', 2)];
  const plan = planAssignment({ desired, workers: workers('w1', 'w2'), current: [] });
  assert.equal(plan.assign.length, 6);
  const owners = plan.assign.map((a) => ({ ...a, revoking: false }));
  assert.deepEqual(counts(owners), { w1: 3, w2: 3 });
  for (const w of ['w1', 'w2']) {
    assert.equal(owners.filter((o) => o.workerId === w && o.connector === 'a').length, 2, `connector a spread on ${w}`);
  }
});

test('a joining worker takes only its share; everything else stays put', () => {
  const desired = parts('a', 12);
  const before = settle(desired, workers('w1', 'w2'), []);
  const plan = planAssignment({ desired, workers: workers('w1', 'w2', 'w3'), current: before });
  assert.equal(plan.assign.length, 0, 'nothing is assigned before the revokes are acknowledged');
  assert.equal(plan.move.length, 4, 'exactly the new worker\'s share moves');
  assert.deepEqual(counts(plan.move), { w1: 2, w2: 2 });
  const after = settle(desired, workers('w1', 'w2', 'w3'), before);
  assert.deepEqual(counts(after), { w1: 4, w2: 4, w3: 4 });
  const unmoved = before.filter((o) => after.some((a) => partitionKey(a) === partitionKey(o) && a.workerId === o.workerId));
  assert.equal(unmoved.length, 8, 'the 8 partitions that did not have to move kept their owner');
});

test('moves in flight are not moved twice', () => {
  const desired = parts('a', 12);
  const before = settle(desired, workers('w1', 'w2'), []);
  const first = planAssignment({ desired, workers: workers('w1', 'w2', 'w3'), current: before });
  const moving = new Set(first.move.map(partitionKey));
  const current = before.map((o) => ({ ...o, revoking: moving.has(partitionKey(o)) }));
  const second = planAssignment({ desired, workers: workers('w1', 'w2', 'w3'), current });
  assert.deepEqual(second, { assign: [], move: [], drop: [] });
});

test('a dead worker\'s partitions go to the live ones at once, nothing else moves', () => {
  const desired = parts('a', 9);
  const before = settle(desired, workers('w1', 'w2', 'w3'), []);
  const alive = before.filter((o) => o.workerId !== 'w3');
  const plan = planAssignment({ desired, workers: workers('w1', 'w2'), current: alive });
  assert.equal(plan.move.length, 0);
  assert.equal(plan.drop.length, 0);
  assert.equal(plan.assign.length, 3);
  const after = [...alive, ...plan.assign.map((a) => ({ ...a, revoking: false }))];
  const c = counts(after);
  assert.ok(Math.abs(c['w1']! - c['w2']!) <= 1, `balanced: ${JSON.stringify(c)}`);
});

test('removed partitions and stopped connectors are dropped, not moved', () => {
  const desired = parts('a', 4);
  const before = settle([...desired, ...parts('b', 2)], workers('w1', 'w2'), []);
  const plan = planAssignment({ desired, workers: workers('w1', 'w2'), current: before });
  assert.deepEqual(plan.drop.map((d) => d.connector).sort(), ['b', 'b']);
  assert.equal(plan.assign.length, 0);
});

test('capacity weights the share', () => {
  const owners = settle(parts('a', 9), [{ id: 'big', capacity: 2 }, { id: 'small', capacity: 1 }], []);
  assert.deepEqual(counts(owners), { big: 6, small: 3 });
});

test('no workers: nothing is planned', () => {
  assert.deepEqual(planAssignment({ desired: parts('a', 3), workers: [], current: [] }), { assign: [], move: [], drop: [] });
});

test('a worker whose session dropped keeps its partitions but gets nothing new', () => {
  const desired = parts('a', 4);
  const before = settle(desired, workers('w1', 'w2'), []);
  const plan = planAssignment({ desired: [...desired, ...parts('b', 2)], workers: [{ id: 'w1', capacity: 1 }, { id: 'w2', capacity: 1, available: false }], current: before });
  assert.equal(plan.move.length, 0, 'nothing moves off the unreachable worker before it is declared dead');
  assert.deepEqual(plan.assign.map((a) => a.workerId), ['w1', 'w1']);
});
