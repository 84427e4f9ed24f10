import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedProducer } from '../../src/worker/shared-producer.js';
import { FailedPreconditionError } from '../../src/errors.js';
import type { ProducerRecord, RecordProducer, SendOptions } from '../../src/kafka/index.js';

/** A producer double that records calls and lets the test settle sends by hand. */
function recordingProducer() {
  const calls = { created: 0, started: 0, stopped: 0, sends: [] as Array<{ lane: string | undefined; settle: (err?: Error) => void }> };
  const create = (): RecordProducer => {
    calls.created++;
    return {
      start: async () => void calls.started++,
      stop: async () => void calls.stopped++,
      beginTransaction: () => Promise.reject(new Error('not used')),
      initTransactions: () => Promise.reject(new Error('not used')),
      abandon: () => 0,
      abort: async () => 0,
      send: (_records: ProducerRecord[], options?: SendOptions) =>
        new Promise<void>((resolve, reject) => calls.sends.push({ lane: options?.lane, settle: (err) => (err ? reject(err) : resolve()) })),
    };
  };
  return { calls, create };
}

test('connectors share one producer: started once, stopped after the last handle, which waits for its own sends', async () => {
  const { calls, create } = recordingProducer();
  const shared = new SharedProducer(create);
  const a = shared.acquire();
  const b = shared.acquire();
  await Promise.all([a.start(), b.start()]);
  assert.equal(calls.created, 1);
  assert.equal(calls.started, 1);

  const sentA = a.send([], { lane: 'a\u0000p0' });
  const sentB = b.send([], { lane: 'b\u0000p0' });
  assert.deepEqual(calls.sends.map((s) => s.lane), ['a\u0000p0', 'b\u0000p0'], 'each send keeps its lane');
  // One lane's rejection is that sender's only.
  calls.sends[0]!.settle(new Error('record too large'));
  await assert.rejects(sentA, /record too large/);
  calls.sends[1]!.settle();
  await sentB;

  await a.stop();
  assert.equal(calls.stopped, 0, 'b still uses it');
  await assert.rejects(a.send([]), FailedPreconditionError);
  const pending = b.send([], { lane: 'b\u0000p1' });
  let stopped = false;
  const stopping = b.stop().then(() => (stopped = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(stopped, false, 'stop waits for the handle’s send in flight');
  calls.sends[2]!.settle();
  await pending;
  await stopping;
  assert.equal(calls.stopped, 1);
  assert.equal(shared.open, 0);

  // A connector opened afterwards gets a fresh producer.
  const c = shared.acquire();
  await c.start();
  assert.equal(calls.created, 2);
  await assert.rejects(c.beginTransaction(), FailedPreconditionError);
  await c.stop();
});
