import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { create } from '@bufbuild/protobuf';
import { ReadResponseSchema, StreamPartitionSchema, type ReadRequest, type ReadResponse } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import type { ConnectorPlugin } from '../../src/plugins/types.js';
import type { ProducerRecord, RecordProducer, SendOptions } from '../../src/kafka/types.js';
import { CancelledError } from '../../src/errors.js';
import type { CommittedOffset, OffsetStore } from '../../src/coordinator/offset-store.js';
import { CreditPool } from '../../src/worker/credits.js';
import { SourceTask } from '../../src/worker/source-task.js';
import { parseConnectorSettings } from '../../src/worker/connector-settings.js';
import { passThroughProcessor } from '../../src/worker/processing.js';
import { TaskState } from '../../src/worker/task-state.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { eventually } from '../support/eventually.js';

/** A source plugin whose Read stream the test drives by hand. */
class ScriptedSource {
  readonly requests: ReadRequest[] = [];
  credits = 0;
  sent = 0;
  responses = new AsyncQueue<ReadResponse>();
  onDrain: 'answer' | 'hang' = 'answer';

  plugin(): ConnectorPlugin {
    return {
      read: (requests: AsyncIterable<unknown>) => {
        this.responses = new AsyncQueue<ReadResponse>();
        void (async () => {
          for await (const r of requests as AsyncIterable<ReadRequest>) {
            this.requests.push(r);
            if (r.kind.case === 'credit') this.credits += r.kind.value.records;
            if (r.kind.case === 'drain' && this.onDrain === 'answer') {
              this.responses.push(create(ReadResponseSchema, { kind: { case: 'drained', value: { lastOffset: this.sent > 0 ? Buffer.from(String(this.sent - 1)) : undefined, records: BigInt(this.sent) } } }));
            }
          }
          this.responses.end();
        })();
        return this.responses;
      },
    } as unknown as ConnectorPlugin;
  }

  /** Sends `n` records with offsets continuing from the last one. */
  send(n: number): void {
    const records = Array.from({ length: n }, () => ({ value: Buffer.from(`v${this.sent}`), offset: Buffer.from(String(this.sent++)) }));
    this.responses.push(create(ReadResponseSchema, { kind: { case: 'batch', value: { records } } }));
  }

  acks(): string[] {
    return this.requests.filter((r) => r.kind.case === 'ack').map((r) => Buffer.from((r.kind.value as { offset: Uint8Array }).offset).toString());
  }
}

/** A producer whose sends complete only when the test says so, in any order. */
class ManualProducer implements RecordProducer {
  readonly sends: Array<{ records: ProducerRecord[]; lane: string | undefined; resolve: () => void; reject: (e: unknown) => void }> = [];
  async start() {}
  async stop() {}
  async beginTransaction(): Promise<never> {
    throw new Error('not used');
  }
  send(records: ProducerRecord[], options?: SendOptions): Promise<void> {
    return new Promise((resolve, reject) => this.sends.push({ records, lane: options?.lane, resolve, reject }));
  }
  abandon(lane: string, reason: string): number {
    let dropped = 0;
    for (const s of this.sends.filter((x) => x.lane === lane)) {
      this.sends.splice(this.sends.indexOf(s), 1);
      dropped += s.records.length;
      s.reject(new CancelledError(`not sent: ${reason}`));
    }
    return dropped;
  }
  async abort(reason: string): Promise<number> {
    let dropped = 0;
    for (const s of this.sends.splice(0)) {
      dropped += s.records.length;
      s.reject(new CancelledError(`not sent: ${reason}`));
    }
    return dropped;
  }
  async initTransactions(): Promise<never> {
    throw new Error('not used');
  }
}

class MemoryOffsets implements OffsetStore {
  readonly committed = new Map<string, CommittedOffset>();
  async start() {}
  async stop() {}
  async flush() {}
  async persist() {}
  async read(c: string, p: string) {
    return this.committed.get(`${c}/${p}`);
  }
  async readAll() {
    return new Map();
  }
  commit(c: string, p: string, offset: Uint8Array, epoch = 0n) {
    this.committed.set(`${c}/${p}`, { offset, epoch });
  }
  offset(): string | undefined {
    const o = this.committed.get('c/p0');
    return o && Buffer.from(o.offset).toString();
  }
}

function makeTask(
  source: ScriptedSource,
  producer: RecordProducer,
  offsets: MemoryOffsets,
  opts: { window?: number; pool?: number; drainTimeoutMs?: number; config?: Record<string, string> } = {},
) {
  const config = { 'connector.class': 'x', topic: 't', 'max.inflight.records': String(opts.window ?? 100), ...opts.config };
  const credits = new CreditPool(opts.pool ?? 1000);
  const task = new SourceTask({
    connector: { name: 'c', config },
    partition: create(StreamPartitionSchema, { id: 'p0' }),
    settings: parseConnectorSettings('c', config, 'source'),
    epoch: 1n,
    plugin: source.plugin(),
    producer,
    offsets,
    credits,
    processor: passThroughProcessor,
    logger: pino({ level: 'silent' }),
    maxSendRecords: 10,
    maxSendsInFlight: 4,
    drainTimeoutMs: opts.drainTimeoutMs ?? 2_000,
  });
  return { task, credits };
}

test('commits only the acknowledged prefix when Kafka acknowledges sends out of order', async () => {
  const source = new ScriptedSource();
  const producer = new ManualProducer();
  const offsets = new MemoryOffsets();
  const { task } = makeTask(source, producer, offsets);
  await task.start();
  await eventually(() => source.credits > 0);
  source.send(10);
  await eventually(() => producer.sends.length === 1);
  source.send(10);
  await eventually(() => producer.sends.length === 2);
  producer.sends[1]!.resolve();
  await new Promise((r) => setImmediate(r));
  assert.equal(offsets.offset(), undefined, 'second send acknowledged first must not commit anything');
  producer.sends[0]!.resolve();
  await eventually(() => offsets.offset() === '19', { message: 'both sends acknowledged: offset 19 committed' });
  assert.deepEqual(source.acks(), ['19']);
  const stopping = task.stop();
  assert.equal(Buffer.from((await stopping)!).toString(), '19');
  assert.equal(task.status().state, TaskState.STOPPED);
});

test('never grants more credits than the window while Kafka is slow', async () => {
  const source = new ScriptedSource();
  const producer = new ManualProducer();
  const offsets = new MemoryOffsets();
  const { task, credits } = makeTask(source, producer, offsets, { window: 50 });
  await task.start();
  await eventually(() => source.credits === 50);
  source.send(50);
  await eventually(() => producer.sends.length === 4);
  // Kafka acknowledges nothing: no more credits may be granted, however long we wait.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(source.credits, 50);
  assert.equal(task.status().inFlight, 50);
  assert.equal(credits.inUse, 50);
  for (const s of producer.sends) s.resolve();
  await eventually(() => producer.sends.length === 5);
  producer.sends[4]!.resolve();
  await eventually(() => source.credits >= 90, { message: 'acknowledged records return their credits' });
  assert.ok(source.credits - 50 <= 50, `outstanding credits ${source.credits - 50} exceed the window of 50`);
  await task.stop();
  assert.equal(credits.inUse, 0, 'a stopped task gives every credit back');
});

test('a plugin sending more records than its credits fails the task with a protocol error', async () => {
  const source = new ScriptedSource();
  const { task } = makeTask(source, new ManualProducer(), new MemoryOffsets(), { window: 5 });
  await task.start();
  await eventually(() => source.credits === 5);
  source.send(6);
  await task.done;
  assert.equal(task.status().state, TaskState.FAILED);
  assert.match(task.status().error!.message, /protocol violation: plugin sent 6 records with only 5 credits left/);
});

test('a plugin that never answers drain is cut off and its partition marked FAILED', async () => {
  const source = new ScriptedSource();
  source.onDrain = 'hang';
  const producer = new ManualProducer();
  const { task } = makeTask(source, producer, new MemoryOffsets(), { drainTimeoutMs: 200 });
  await task.start();
  await eventually(() => source.credits > 0);
  await task.stop();
  assert.equal(task.status().state, TaskState.FAILED);
  assert.match(task.status().error!.message, /stage: drain/);
});

test('at-most-once commits the offset before producing', async () => {
  const source = new ScriptedSource();
  const producer = new ManualProducer();
  const offsets = new MemoryOffsets();
  const { task } = makeTask(source, producer, offsets, { config: { 'delivery.guarantee': 'at-most-once' } });
  await task.start();
  await eventually(() => source.credits > 0);
  source.send(3);
  await eventually(() => producer.sends.length === 1);
  assert.equal(offsets.offset(), '2', 'committed while the send is still in flight');
  producer.sends[0]!.resolve();
  await task.stop();
});
