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

/** Like settle(), with per-connector worker caps (tasks.max). */
function settleCapped(desired: PlannedPartition[], ws: Array<{ id: string; capacity: number }>, current: Ownership[], maxWorkers: Map<string, number>): Ownership[] {
  let owners = current;
  for (let round = 0; round < 20; round++) {
    const plan = planAssignment({ desired, workers: ws, current: owners, maxWorkers });
    if (plan.assign.length === 0 && plan.move.length === 0 && plan.drop.length === 0) return owners;
    const gone = new Set([...plan.move, ...plan.drop].map(partitionKey));
    owners = [...owners.filter((o) => !gone.has(partitionKey(o))), ...plan.assign.map((a) => ({ ...a, revoking: false }))];
  }
  throw new Error('assignment did not converge');
}

const hostsOf = (owners: Ownership[], connector: string) => new Set(owners.filter((o) => o.connector === connector).map((o) => o.workerId));

test('tasks.max caps the workers a connector runs on; uncapped connectors fill the rest', () => {
  const desired = [...parts('capped', 6), ...parts('free', 6)];
  const owners = settleCapped(desired, workers('w1', 'w2', 'w3'), [], new Map([['capped', 2]]));
  assert.equal(owners.length, 12);
  assert.equal(hostsOf(owners, 'capped').size, 2, 'capped runs on exactly 2 workers');
  assert.equal(hostsOf(owners, 'free').size, 3, 'free spreads over all 3');
  assert.deepEqual(counts(owners), { w1: 4, w2: 4, w3: 4 }, 'still balanced by partition count');
});

test('tasks.max=1 keeps every partition on one worker, also when a worker joins', () => {
  const desired = parts('one', 5);
  const caps = new Map([['one', 1]]);
  const before = settleCapped(desired, workers('w1', 'w2'), [], caps);
  assert.equal(hostsOf(before, 'one').size, 1);
  const plan = planAssignment({ desired, workers: workers('w1', 'w2', 'w3'), current: before, maxWorkers: caps });
  assert.deepEqual([plan.assign, plan.move, plan.drop], [[], [], []], 'a joining worker takes nothing of a connector at its cap');
});

test('failover keeps the cap: a dead host is replaced by one worker, not spread', () => {
  const desired = parts('c', 6);
  const caps = new Map([['c', 2]]);
  const before = settleCapped(desired, workers('w1', 'w2', 'w3', 'w4'), [], caps);
  const [dead] = [...hostsOf(before, 'c')];
  const after = settleCapped(desired, workers('w1', 'w2', 'w3', 'w4').filter((w) => w.id !== dead), before.filter((o) => o.workerId !== dead), caps);
  assert.equal(after.length, 6);
  assert.equal(hostsOf(after, 'c').size, 2, `after ${dead} died: still 2 hosts`);
});

test('lowering tasks.max consolidates onto the hosts holding most, moving only what must move', () => {
  const desired = parts('c', 6);
  const spread = settleCapped(desired, workers('w1', 'w2', 'w3'), [], new Map());
  assert.equal(hostsOf(spread, 'c').size, 3);
  const plan = planAssignment({ desired, workers: workers('w1', 'w2', 'w3'), current: spread, maxWorkers: new Map([['c', 2]]) });
  assert.equal(plan.move.length, 2, 'one host gives up its 2 partitions');
  assert.equal(new Set(plan.move.map((m) => m.workerId)).size, 1);
  const after = settleCapped(desired, workers('w1', 'w2', 'w3'), spread, new Map([['c', 2]]));
  assert.equal(hostsOf(after, 'c').size, 2);
  assert.equal(after.length, 6);
});

test('with random caps, workers and churn: always converges, never exceeds a cap, places everything', () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let run = 0; run < 200; run++) {
    const connectors = Array.from({ length: 1 + rand(4) }, (_, i) => `c${i}`);
    const desired = connectors.flatMap((c) => parts(c, 1 + rand(8)));
    const caps = new Map(connectors.filter(() => rand(2) === 0).map((c) => [c, 1 + rand(3)]));
    let ids = Array.from({ length: 1 + rand(5) }, (_, i) => `w${i}`);
    let owners = settleCapped(desired, workers(...ids), [], caps);
    for (let step = 0; step < 3; step++) {
      // A worker dies or one joins.
      if (ids.length > 1 && rand(2) === 0) {
        const dead = ids[rand(ids.length)]!;
        ids = ids.filter((id) => id !== dead);
        owners = owners.filter((o) => o.workerId !== dead);
      } else {
        ids = [...ids, `w${10 + step}`];
      }
      owners = settleCapped(desired, workers(...ids), owners, caps);
      assert.equal(owners.length, desired.length, `run ${run} step ${step}: every partition placed`);
      for (const [c, max] of caps) assert.ok(hostsOf(owners, c).size <= max, `run ${run} step ${step}: ${c} on ${hostsOf(owners, c).size} workers, cap ${max}`);
    }
  }
});
