import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FenceClock } from '../../src/worker/fence-clock.js';

const FENCE_AFTER = 2_500;

function clockAt(start: number) {
  const time = { now: start };
  return { time, clock: new FenceClock(() => FENCE_AFTER, () => time.now) };
}

test('a live answer of the leader holds the fence for session.timeout − heartbeat.interval from when the answered request was sent', () => {
  const { time, clock } = clockAt(0);
  time.now = 1_000;
  clock.answered('a', 900);
  assert.equal(clock.deadline(), 900 + FENCE_AFTER);
  clock.answered('a', 1_400);
  assert.equal(clock.deadline(), 1_400 + FENCE_AFTER);
  // A late answer to an older request never moves the deadline back.
  clock.answered('a', 1_200);
  assert.equal(clock.deadline(), 1_400 + FENCE_AFTER);
});

test('nothing but answers and election reads moves the deadline: a read showing the same leader does not', () => {
  const { clock } = clockAt(0);
  clock.answered('a', 1_000);
  // The old leader still holds its key but no longer answers (a cut link): it may act on its clock.
  clock.electionRead('a', 5_000);
  assert.equal(clock.deadline(), 1_000 + FENCE_AFTER);
});

test('a fresh read showing no leader holds the fence from the moment the read was sent', () => {
  const { clock } = clockAt(0);
  clock.answered('a', 1_000);
  clock.electionRead(undefined, 3_000);
  assert.equal(clock.deadline(), 3_000 + FENCE_AFTER);
  clock.electionRead(undefined, 3_500);
  assert.equal(clock.deadline(), 3_500 + FENCE_AFTER);
});

test('a read showing a new leader we have not heard from: the deadline counts from the last moment no other leader could lead', () => {
  const { clock } = clockAt(0);
  clock.answered('a', 1_000);
  clock.electionRead('a', 2_000); // a still held its key at 2 000: b started after that
  clock.electionRead('b', 2_600);
  assert.equal(clock.deadline(), 2_000 + FENCE_AFTER);
  // Further reads of the unheard leader prove nothing about when it started.
  clock.electionRead('b', 4_000);
  assert.equal(clock.deadline(), 2_000 + FENCE_AFTER);
  // Its first answer does.
  clock.answered('b', 4_100);
  assert.equal(clock.deadline(), 4_100 + FENCE_AFTER);
});

test('an old leader reached after the election moved on gives nothing', () => {
  const { clock } = clockAt(0);
  clock.answered('a', 1_000);
  clock.electionRead('b', 1_500);
  // a answered a request sent before the read: it does not bring a back.
  clock.answered('a', 900);
  assert.ok(clock.deadline() <= 1_000 + FENCE_AFTER, 'an answer to an older request never extends the deadline');
});
