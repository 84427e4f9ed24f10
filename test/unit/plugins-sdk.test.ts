/**
 * The plugin SDK and the in-process adapter: the connector protocol's rules, counted (credits
 * never exceeded, contiguous seqnos, drain answers with exactly the last record sent and is
 * followed by nothing), the sink's durable answers, config validation and hostile plugins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { CancelledError, DeadlineExceededError, FailedPreconditionError, InternalError, InvalidArgumentError, describeError } from '../../src/errors.js';
import {
  ConfigType,
  type ReadRequestSchema,
  type ReadResponse,
  type WriteRequestSchema,
  type WriteResponse,
} from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { applyDefaults, inProcessPlugin, sinkPlugin, sourcePlugin, staticPartitions, validateConfig, type ConnectorPlugin, type RecordInit } from '../../src/plugins/index.js';
import { parseVerifiableValue, verifiableSourcePlugin } from '../../src/connectors/verifiable-source/index.js';
import { readVerifiableSinkFile, verifiableSinkPlugin } from '../../src/connectors/verifiable-sink/index.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { hangingDescribePlugin, hangingReadPlugin, overCreditPlugin } from '../fixtures/plugins/hostile.js';
import { eventually } from '../support/eventually.js';

type ReadRequestInit = MessageInitShape<typeof ReadRequestSchema>;
type WriteRequestInit = MessageInitShape<typeof WriteRequestSchema>;

const text = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString() : undefined);

function openRead(plugin: ConnectorPlugin, partition: string, config: Record<string, string>, offset?: string) {
  const requests = new AsyncQueue<ReadRequestInit>();
  const iterator = plugin.read(requests)[Symbol.asyncIterator]();
  requests.push({ kind: { case: 'open', value: { connector: { name: 'c1', config }, partition: { id: partition }, offset: offset === undefined ? undefined : Buffer.from(offset) } } });
  return {
    requests,
    next: () => iterator.next() as Promise<IteratorResult<ReadResponse>>,
    credit: (records: number) => requests.push({ kind: { case: 'credit', value: { records } } }),
    drain: () => requests.push({ kind: { case: 'drain', value: {} } }),
  };
}

/** A pseudo-random but repeatable sequence. */
function rng(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return 1 + (s % n);
  };
}

test('a source never has more records in flight than the credits granted, over hundreds of grants', async () => {
  let sentByPlugin = 0;
  let granted = 0;
  const violations: string[] = [];
  const random = rng(7);
  const plugin = inProcessPlugin(
    sourcePlugin({
      name: 'counting',
      version: '1',
      configKeys: [],
      watchPartitions: () => staticPartitions([]),
      open() {
        return {
          async poll(max) {
            if (max < 1) violations.push(`poll(max=${max})`);
            if (sentByPlugin + max > granted) violations.push(`poll(max=${max}) with ${granted - sentByPlugin} credits left`);
            const count = random(max);
            const records = Array.from({ length: count }, (_, i) => ({ value: Buffer.from('x'), offset: Buffer.from(String(sentByPlugin + i)) }));
            sentByPlugin += count;
            return records;
          },
        };
      },
    }),
  );
  const read = openRead(plugin, 'p0', {});
  let received = 0;
  let grants = 0;
  let lastOffset: string | undefined;
  const grant = () => {
    const n = random(37);
    granted += n;
    grants++;
    read.credit(n);
  };
  grant();
  while (grants < 300 || received < granted) {
    const { value, done } = await read.next();
    assert.equal(done, false);
    assert.equal(value!.kind.case, 'batch');
    const records = value!.kind.case === 'batch' ? value!.kind.value.records : [];
    assert.ok(records.length > 0, 'an empty batch was sent');
    received += records.length;
    lastOffset = text(records.at(-1)!.offset);
    assert.ok(received <= granted, `received ${received} records with ${granted} credits granted`);
    // Grant both when the window is used up and, sometimes, while records are still in flight.
    if (grants < 300 && (received === granted || random(3) === 1)) grant();
  }
  assert.deepEqual(violations, []);
  assert.equal(received, granted);

  read.drain();
  const drained = await read.next();
  assert.equal(drained.value?.kind.case, 'drained');
  if (drained.value?.kind.case !== 'drained') return;
  assert.equal(drained.value.kind.value.records, BigInt(received));
  assert.equal(text(drained.value.kind.value.lastOffset), lastOffset);
  // Credits and acks after drain change nothing; the stream ends when the worker ends it.
  read.credit(100);
  read.requests.push({ kind: { case: 'ack', value: { offset: Buffer.from(lastOffset!), records: BigInt(received) } } });
  read.requests.end();
  const after = await read.next();
  assert.equal(after.done, true, `something followed drained: ${JSON.stringify(after.value?.kind.case)}`);
  assert.equal(sentByPlugin, received);
});

test('the verifiable source resumes after the given offset with contiguous seqnos', async () => {
  const plugin = inProcessPlugin(verifiableSourcePlugin, { name: 'verifiable-source' });
  const read = openRead(plugin, 'p1', { topic: 't', partitions: '2' }, '41');
  read.credit(100);
  const seqs: number[] = [];
  while (seqs.length < 100) {
    const { value } = await read.next();
    assert.equal(value!.kind.case, 'batch');
    if (value!.kind.case !== 'batch') return;
    for (const record of value!.kind.value.records) {
      const parsed = parseVerifiableValue(record.value);
      assert.equal(parsed?.partition, 'p1');
      assert.equal(text(record.key), 'p1');
      assert.equal(text(record.offset), String(parsed!.seq));
      seqs.push(parsed!.seq);
    }
  }
  assert.deepEqual(seqs, Array.from({ length: 100 }, (_, i) => 42 + i));
  read.requests.end();
  assert.equal((await read.next()).done, true);
});

test('the verifiable source emits exactly 0..max.records-1 per partition, then waits for drain', async () => {
  const plugin = inProcessPlugin(verifiableSourcePlugin);
  const config = { topic: 't', partitions: '3', 'max.records': '250' };
  const random = rng(11);
  await Promise.all(
    ['p0', 'p1', 'p2'].map(async (partition) => {
      const read = openRead(plugin, partition, config);
      const seqs: number[] = [];
      let granted = 0;
      while (seqs.length < 250) {
        if (granted === seqs.length) {
          const n = random(40);
          granted += n;
          read.credit(n);
        }
        const { value } = await read.next();
        if (value!.kind.case !== 'batch') assert.fail(`expected a batch, got ${value!.kind.case}`);
        for (const r of value!.kind.value.records) {
          assert.equal(parseVerifiableValue(r.value)?.partition, partition);
          seqs.push(parseVerifiableValue(r.value)!.seq);
        }
        assert.ok(seqs.length <= granted);
      }
      assert.deepEqual(seqs, Array.from({ length: 250 }, (_, i) => i));
      read.credit(1000);
      read.drain();
      const { value } = await read.next();
      if (value!.kind.case !== 'drained') assert.fail(`expected drained, got ${value!.kind.case}`);
      assert.equal(value!.kind.value.records, 250n);
      assert.equal(text(value!.kind.value.lastOffset), '249');
      read.requests.end();
      assert.equal((await read.next()).done, true);
    }),
  );
});

test('drain sends the records of the poll in progress, then drained, and acks still reach the source', async () => {
  const upstream: RecordInit[] = Array.from({ length: 5 }, (_, i) => ({ value: Buffer.from(`m${i}`), offset: Buffer.from(`o${i}`) }));
  const acks: Array<[string, bigint]> = [];
  let closed = 0;
  const plugin = inProcessPlugin(
    sourcePlugin({
      name: 'queue',
      version: '1',
      configKeys: [],
      watchPartitions: () => staticPartitions([]),
      open() {
        return {
          // A queue consumer that has taken messages and is still waiting on a slow round trip.
          async poll(max, signal) {
            const taken = upstream.splice(0, Math.min(max, 3));
            await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
            return taken;
          },
          ack(offset, records) {
            acks.push([text(offset)!, records]);
          },
          close() {
            closed++;
          },
        };
      },
    }),
  );
  const read = openRead(plugin, 'q', {});
  read.credit(10);
  read.drain();
  const first = await read.next();
  if (first.value?.kind.case !== 'batch') assert.fail(`expected the taken records, got ${first.value?.kind.case}`);
  assert.deepEqual(first.value.kind.value.records.map((r: { value?: Uint8Array }) => text(r.value)), ['m0', 'm1', 'm2']);
  const second = await read.next();
  if (second.value?.kind.case !== 'drained') assert.fail(`expected drained, got ${second.value?.kind.case}`);
  assert.equal(text(second.value.kind.value.lastOffset), 'o2');
  assert.equal(second.value.kind.value.records, 3n);
  read.requests.push({ kind: { case: 'ack', value: { offset: Buffer.from('o2'), records: 3n } } });
  await eventually(() => acks.length === 1, { message: 'the final ack did not reach the source' });
  assert.deepEqual(acks, [['o2', 3n]]);
  assert.equal(closed, 0, 'the reader was closed before the worker ended the stream');
  read.requests.end();
  assert.equal((await read.next()).done, true);
  assert.equal(closed, 1);
});

test('drain before any record answers drained without an offset', async () => {
  const plugin = inProcessPlugin(verifiableSourcePlugin);
  const read = openRead(plugin, 'p0', { topic: 't' });
  read.drain();
  const { value } = await read.next();
  if (value?.kind.case !== 'drained') assert.fail(`expected drained, got ${value?.kind.case}`);
  assert.equal(value.kind.value.lastOffset, undefined);
  assert.equal(value.kind.value.records, 0n);
  read.requests.end();
  assert.equal((await read.next()).done, true);
});

test('a Read whose request stream ends without drain closes the reader', async () => {
  let closed = false;
  const plugin = inProcessPlugin(
    sourcePlugin({
      name: 's',
      version: '1',
      configKeys: [],
      watchPartitions: () => staticPartitions([]),
      open: () => ({
        poll: (_max, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve([]), { once: true })),
        close: () => void (closed = true),
      }),
    }),
  );
  const read = openRead(plugin, 'p0', {});
  read.credit(5);
  read.requests.end();
  assert.equal((await read.next()).done, true);
  assert.equal(closed, true);
});

test('a Read that does not start with open is rejected with InvalidArgumentError', async () => {
  const plugin = inProcessPlugin(verifiableSourcePlugin);
  const requests = new AsyncQueue<ReadRequestInit>();
  requests.push({ kind: { case: 'credit', value: { records: 1 } } });
  const iterator = plugin.read(requests)[Symbol.asyncIterator]();
  await assert.rejects(iterator.next(), (err: unknown) => err instanceof InvalidArgumentError && /first message must be "open"/.test(err.message));
});

test('a sink answers flush with durable through the last Kafka offset received, and nothing before any record', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sink-'));
  try {
    const file = join(dir, 'out', 'sink.jsonl');
    const plugin = inProcessPlugin(verifiableSinkPlugin);
    const requests = new AsyncQueue<WriteRequestInit>();
    const iterator = plugin.write(requests)[Symbol.asyncIterator]();
    const next = () => iterator.next() as Promise<IteratorResult<WriteResponse>>;
    const batch = (from: number, count: number): WriteRequestInit => ({
      kind: {
        case: 'batch',
        value: {
          records: Array.from({ length: count }, (_, i) => ({
            value: Buffer.from(JSON.stringify({ partition: 'p0', seq: from - 10 + i })),
            kafkaOffset: BigInt(from + i),
          })),
        },
      },
    });
    requests.push({ kind: { case: 'open', value: { connector: { name: 'sink', config: { 'output.file': file } }, partition: { id: 'orders-0', topic: 'orders', kafkaPartition: 0 } } } });
    const opened = await next();
    assert.equal(opened.value?.kind.case, 'opened');
    if (opened.value?.kind.case === 'opened') assert.equal(opened.value.kind.value.resumeAfterOffset, undefined);
    requests.push({ kind: { case: 'flush', value: {} } }); // nothing received yet: no answer
    requests.push(batch(10, 10));
    requests.push({ kind: { case: 'flush', value: {} } });
    const first = await next();
    if (first.value?.kind.case !== 'durable') assert.fail(`expected durable, got ${first.value?.kind.case}`);
    assert.equal(first.value.kind.value.throughOffset, 19n);
    requests.push(batch(20, 5));
    requests.push({ kind: { case: 'flush', value: {} } });
    const second = await next();
    if (second.value?.kind.case !== 'durable') assert.fail(`expected durable, got ${second.value?.kind.case}`);
    assert.equal(second.value.kind.value.throughOffset, 24n);
    requests.end();
    assert.equal((await next()).done, true);

    const output = await readVerifiableSinkFile(file);
    assert.deepEqual(output.records.map((r) => r.offset), Array.from({ length: 15 }, (_, i) => 10 + i));
    assert.deepEqual(output.records.map((r) => r.seq), Array.from({ length: 15 }, (_, i) => i));
    assert.ok(output.records.every((r) => r.topic === 'orders' && r.partition === 0 && r.source === 'p0'));
    assert.deepEqual(output.durable, [
      { durable: 19, topic: 'orders', partition: 0 },
      { durable: 24, topic: 'orders', partition: 0 },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sink that stores offsets reports resume_after_offset on open and as durable on an early flush', async () => {
  const plugin = inProcessPlugin(
    sinkPlugin({
      name: 'upsert',
      version: '1',
      configKeys: [],
      open: () => ({ resumeAfterOffset: 41n, write() {}, flush() {} }),
    }),
  );
  const requests = new AsyncQueue<WriteRequestInit>();
  const iterator = plugin.write(requests)[Symbol.asyncIterator]();
  requests.push({ kind: { case: 'open', value: { partition: { id: 't-0' }, committedOffset: 30n } } });
  requests.push({ kind: { case: 'flush', value: {} } });
  const opened = (await iterator.next()).value as WriteResponse;
  assert.equal(opened.kind.case === 'opened' && opened.kind.value.resumeAfterOffset, 41n);
  const durable = (await iterator.next()).value as WriteResponse;
  assert.equal(durable.kind.case === 'durable' && durable.kind.value.throughOffset, 41n);
  requests.end();
  assert.equal((await iterator.next()).done, true);
});

test('config validation names each offending key', () => {
  const keys = [
    { name: 'topic', type: ConfigType.STRING, required: true },
    { name: 'count', type: ConfigType.INT, defaultValue: '1' },
    { name: 'ratio', type: ConfigType.DOUBLE },
    { name: 'enabled', type: ConfigType.BOOLEAN },
    { name: 'linger', type: ConfigType.DURATION_MS },
    { name: 'mode', type: ConfigType.STRING, allowedValues: ['fast', 'safe'] },
    { name: 'tags', type: ConfigType.LIST, allowedValues: ['a', 'b'] },
  ];
  const problems = validateConfig(keys, { count: '1.5', ratio: 'abc', enabled: 'yes', linger: '-5', mode: 'slow', tags: 'a, c', unknown: 'kept' });
  assert.deepEqual(
    problems.map((p) => p.key),
    ['topic', 'count', 'ratio', 'enabled', 'linger', 'mode', 'tags'],
  );
  assert.match(problems[0]!.message, /required/);
  assert.match(problems[1]!.message, /integer/);
  assert.match(problems[5]!.message, /"slow" is not one of "fast", "safe"/);
  assert.match(problems[6]!.message, /"c"/);
  assert.deepEqual(validateConfig(keys, { topic: 't', count: '-3', ratio: '2.5e3', enabled: 'TRUE', linger: '100', mode: 'safe', tags: 'b,a' }), []);
  assert.deepEqual(applyDefaults(keys, { topic: 't' }), { topic: 't', count: '1' });
  assert.deepEqual(applyDefaults(keys, { count: '7' }), { count: '7' });
});

test('Validate through the SDK runs the spec checks, then the plugin own checks', async () => {
  const plugin = inProcessPlugin(verifiableSourcePlugin);
  const bad = await plugin.validate({ connector: { name: 'c', config: { partitions: 'x' } } });
  assert.deepEqual(
    bad.errors.map((e) => e.key),
    ['topic', 'partitions'],
  );
  const own = await plugin.validate({ connector: { name: 'c', config: { topic: 't', partitions: '0' } } });
  assert.deepEqual(
    own.errors.map((e) => [e.key, e.message]),
    [['partitions', 'must be at least 1']],
  );
  assert.deepEqual((await plugin.validate({ connector: { name: 'c', config: { topic: 't' } } })).errors, []);
});

test('WatchPartitions lists the configured partitions in one snapshot', async () => {
  const plugin = inProcessPlugin(verifiableSourcePlugin);
  for await (const message of plugin.watchPartitions({ connector: { name: 'c', config: { topic: 't', partitions: '3' } } })) {
    assert.equal(message.snapshot, true);
    assert.deepEqual(message.added.map((p) => p.id), ['p0', 'p1', 'p2']);
    break;
  }
});

test('a sink plugin refuses Read and a source plugin refuses Write with FailedPreconditionError', async () => {
  const sink = inProcessPlugin(verifiableSinkPlugin);
  await assert.rejects(sink.read(new AsyncQueue<ReadRequestInit>())[Symbol.asyncIterator]().next(), FailedPreconditionError);
  const source = inProcessPlugin(verifiableSourcePlugin);
  await assert.rejects(source.write(new AsyncQueue<WriteRequestInit>())[Symbol.asyncIterator]().next(), FailedPreconditionError);
});

test('a unary call to a plugin that hangs rejects with DeadlineExceededError naming the method', async () => {
  const plugin = inProcessPlugin(hangingDescribePlugin(), { name: 'hang' });
  await assert.rejects(plugin.describe({}, { timeoutMs: 100 }), (err: unknown) => {
    assert.ok(err instanceof DeadlineExceededError, `expected DeadlineExceededError, got ${String(err)}`);
    assert.match(err.message, /Describe/);
    assert.match(err.message, /100 ms/);
    return true;
  });
  const controller = new AbortController();
  const call = plugin.describe({}, { signal: controller.signal });
  controller.abort();
  await assert.rejects(call, CancelledError);
});

test('a Read stream of a plugin that hangs ends with the caller cancelling it', async () => {
  const plugin = inProcessPlugin(hangingReadPlugin(), { name: 'hang' });
  const controller = new AbortController();
  const requests = new AsyncQueue<ReadRequestInit>();
  requests.push({ kind: { case: 'open', value: { partition: { id: 'p0' } } } });
  const iterator = plugin.read(requests, { signal: controller.signal })[Symbol.asyncIterator]();
  const pending = iterator.next();
  controller.abort();
  await assert.rejects(pending, CancelledError);
  const timed = plugin.read(requests, { timeoutMs: 50 })[Symbol.asyncIterator]();
  await assert.rejects(timed.next(), (err: unknown) => err instanceof DeadlineExceededError && /Read/.test(err.message));
});

test('an error that is not a TributaryError becomes an InternalError that keeps the original and its stack', async () => {
  const plugin = inProcessPlugin({
    ...verifiableSourcePlugin,
    describe: async () => {
      throw new TypeError('kaboom');
    },
  });
  await assert.rejects(plugin.describe({}), (err: unknown) => {
    assert.ok(err instanceof InternalError);
    assert.ok(err.cause instanceof TypeError);
    assert.match(err.message, /^Describe on an in-process plugin failed: kaboom$/);
    assert.match(describeError(err).trace, /TypeError: kaboom\n\s+at /);
    return true;
  });
});

test('the over-credit fixture does send more records than its credits (for the worker\'s enforcement tests)', async () => {
  const plugin = inProcessPlugin(overCreditPlugin());
  const read = openRead(plugin, 'p0', {});
  read.credit(10);
  const { value } = await read.next();
  assert.equal(value?.kind.case === 'batch' && value.kind.value.records.length, 20);
  read.requests.end();
  assert.equal((await read.next()).done, true);
});
