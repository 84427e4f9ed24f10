/** The worker's credit pools (records and bytes): waiting with a minimum, overdrafts, the peak. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreditPool } from '../../src/worker/index.js';

test('acquire with a minimum waits until that many are free, then takes up to what it wants', async () => {
  const pool = new CreditPool(100);
  assert.equal(await pool.acquire(80), 80);
  let got: number | undefined;
  const waiting = pool.acquire(50, undefined, 30).then((n) => (got = n));
  pool.release(10); // 30 free: exactly the minimum
  await waiting;
  assert.equal(got, 30, 'took every free credit once the minimum was free');
  assert.equal(pool.inUse, 100);
});

test('a waiter asking for a minimum holds back later waiters (FIFO), and an abort lets them through', async () => {
  const pool = new CreditPool(100);
  await pool.acquire(100);
  const abort = new AbortController();
  const big = pool.acquire(60, abort.signal, 60);
  let small: number | undefined;
  const smallDone = pool.acquire(10).then((n) => (small = n));
  pool.release(20);
  await Promise.resolve();
  assert.equal(small, undefined, 'the smaller waiter queues behind the bigger one');
  abort.abort();
  assert.equal(await big, 0);
  await smallDone;
  assert.equal(small, 10);
});

test('a minimum above the capacity is clamped to it, so it cannot wait forever', async () => {
  const pool = new CreditPool(100);
  assert.equal(await pool.acquire(500, undefined, 500), 100);
});

test('take() may overdraw: it is counted and shows in the peak; within the capacity it is not', () => {
  const pool = new CreditPool(100);
  pool.take(40);
  assert.equal(pool.overdraftCount, 0);
  pool.take(90);
  assert.equal(pool.inUse, 130);
  assert.equal(pool.peakInUse, 130);
  assert.equal(pool.overdraftCount, 1);
  pool.release(130);
  assert.equal(pool.inUse, 0);
  assert.equal(pool.peakInUse, 130, 'the peak is a high-water mark');
});
