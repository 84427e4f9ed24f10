import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, TributaryError, UnavailableError } from '../../src/errors.js';
import { SendQueue, type Dispatch } from '../../src/kafka/send-queue.js';
import type { ProducerRecord } from '../../src/kafka/types.js';
import { QueuedProducer, type ProducerDriver } from '../../src/kafka/producer-base.js';
import { compileProducerOptions } from '../../src/kafka/config.js';
import { eventually } from '../support/eventually.js';

const rec = (value: string): ProducerRecord => ({ topic: 't', key: null, value: Buffer.from(value) });

/** A dispatch that records each request's values and rejects any request holding `poison`. */
function broker(fail: (values: string[]) => Error | undefined): { dispatch: Dispatch; requests: string[][]; release: () => void } {
  const requests: string[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    requests,
    release,
    dispatch: async (records) => {
      const values = records.map((r) => r.value!.toString());
      requests.push(values);
      // The first request waits, so the sends behind it queue up and coalesce.
      if (requests.length === 1) await gate;
      const err = fail(values);
      if (err) throw err;
    },
  };
}

const outcome = (p: Promise<void>): Promise<string> =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof TributaryError ? `${err.code}${err.retriable ? ' retriable' : ''}` : 'other'),
  );

describe('SendQueue failure isolation', () => {
  test('a non-retriable failure of a coalesced request fails only the send holding the rejected record and its lane', async () => {
    const queue = new SendQueue(1 << 20);
    const b = broker((values) => (values.includes('poison') ? new InvalidArgumentError('record too large') : undefined));
    const first = outcome(queue.enqueue([rec('a0')], b.dispatch, 'a'));
    const coalesced = [
      outcome(queue.enqueue([rec('a1')], b.dispatch, 'a')),
      outcome(queue.enqueue([rec('poison')], b.dispatch, 'b')),
      outcome(queue.enqueue([rec('c1')], b.dispatch, 'c')),
      outcome(queue.enqueue([rec('b2')], b.dispatch, 'b')),
      outcome(queue.enqueue([rec('c2')], b.dispatch, 'c')),
    ];
    b.release();
    assert.equal(await first, 'ok');
    assert.deepEqual(await Promise.all(coalesced), ['ok', 'INVALID_ARGUMENT', 'ok', 'INVALID_ARGUMENT', 'ok']);
    await queue.drain();
    assert.deepEqual(b.requests[1], ['a1', 'poison', 'c1', 'b2', 'c2'], 'the sends were coalesced into one request');
    assert.deepEqual(b.requests.slice(2), [['a1'], ['poison'], ['c1'], ['c2']], 'then sent again one by one; b2 (behind the poison in its lane) never');
  });

  test('a retriable failure still fails every send queued behind it, unsent and retriable', async () => {
    const queue = new SendQueue(1 << 20);
    const b = broker((values) => (values.includes('x1') ? new UnavailableError('broker down') : undefined));
    const first = outcome(queue.enqueue([rec('x1')], b.dispatch, 'x'));
    const behind = [outcome(queue.enqueue([rec('y1')], b.dispatch, 'y')), outcome(queue.enqueue([rec('z1')], b.dispatch, 'z'))];
    b.release();
    assert.equal(await first, 'UNAVAILABLE retriable');
    assert.deepEqual(await Promise.all(behind), ['UNAVAILABLE retriable', 'UNAVAILABLE retriable']);
    assert.deepEqual(b.requests, [['x1']], 'nothing was sent after the failure');
  });
});

describe('QueuedProducer abort and abandon (issue 25 hole 2: a fenced worker sends nothing more)', () => {
  /** A driver whose first request waits for `release` and then fails retriably, as a stalled broker does. */
  function stalledDriver() {
    const requests: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let closed = 0;
    const driver: ProducerDriver = {
      open: async () => {},
      close: async () => {
        closed++;
      },
      send: async (records) => {
        requests.push(records.map((r) => r.value!.toString()));
        if (requests.length === 1) {
          await gate;
          throw new UnavailableError('broker stalled');
        }
      },
      beginTransaction: () => Promise.reject(new Error('not used')),
      validate: () => {},
    };
    return { driver, requests, release, closed: () => closed };
  }
  const opts = () => compileProducerOptions({ client: 'platformatic' });

  test('abort: queued sends reject unsent, the stalled request is not sent again, the client closes at once', async () => {
    const d = stalledDriver();
    const producer = new QueuedProducer(d.driver, opts(), 30_000);
    await producer.start();
    const inFlight = outcome(producer.send([rec('a0')], { lane: 'a' }));
    const queued = [outcome(producer.send([rec('a1')], { lane: 'a' })), outcome(producer.send([rec('b0'), rec('b1')], { lane: 'b' }))];
    await eventually(() => d.requests.length === 1, { message: 'the first request is on the wire' });
    const dropped = await producer.abort('fenced');
    assert.equal(dropped, 3, 'the three queued records were dropped');
    assert.equal(d.closed(), 1, 'closed without waiting for the stalled request');
    assert.deepEqual(await Promise.all(queued), ['CANCELLED', 'CANCELLED']);
    d.release();
    assert.equal(await inFlight, 'CANCELLED', 'the stalled request fails instead of being retried');
    assert.deepEqual(d.requests, [['a0']], 'no produce request left after the abort');
    await assert.rejects(producer.send([rec('c0')]), /stopped/);
  });

  test('abandon: only the queued sends of that lane are dropped; others still go', async () => {
    const d = stalledDriver();
    const producer = new QueuedProducer(d.driver, opts(), 30_000);
    await producer.start();
    const first = outcome(producer.send([rec('x0')], { lane: 'x' }));
    await eventually(() => d.requests.length === 1, { message: 'the first request is on the wire' });
    const a = outcome(producer.send([rec('a0')], { lane: 'a' }));
    const b = outcome(producer.send([rec('b0')], { lane: 'b' }));
    assert.equal(producer.abandon('a', 'partition a moved'), 1);
    assert.equal(await a, 'CANCELLED');
    d.release();
    // The stalled request is retried (same request, still running) and then b goes.
    assert.equal(await first, 'ok');
    assert.equal(await b, 'ok');
    assert.ok(!d.requests.flat().includes('a0'), 'the abandoned record was never sent');
    await producer.stop();
  });
});
