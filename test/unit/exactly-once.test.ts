/**
 * Exactly-once pieces without a broker: offset recovery (offsets topic vs coordinator: which wins,
 * when), the offsets topic's record format, transactional ids, and the connector/worker keys.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseStartingOffset, decodeOffsetValue, encodeOffsetValue, offsetRecordKey, transactionalIdFor, transactionalIdPrefix } from '../../src/worker/exactly-once/index.js';
import { parseConnectorSettings } from '../../src/worker/connector-settings.js';
import { compileWorkerOptions } from '../../src/worker/worker.js';
import { InternalError, InvalidArgumentError } from '../../src/errors.js';
import type { PluginHost } from '../../src/plugins/index.js';
import type { OffsetStore } from '../../src/coordinator/index.js';

const off = (text: string, epoch: bigint) => ({ offset: Buffer.from(text), epoch });
const text = (o: { offset: Uint8Array | undefined }) => (o.offset ? Buffer.from(o.offset).toString() : undefined);

describe('offset recovery: offsets topic vs coordinator', () => {
  test('nothing anywhere: the plugin starts from its beginning', () => {
    assert.deepEqual(chooseStartingOffset(undefined, undefined), { offset: undefined, epoch: 0n, origin: 'none' });
  });
  test('only one of them: that one', () => {
    const t = chooseStartingOffset(off('10', 3n), undefined);
    assert.equal(t.origin, 'offsets-topic');
    assert.equal(text(t), '10');
    const c = chooseStartingOffset(undefined, off('7', 2n));
    assert.equal(c.origin, 'coordinator');
    assert.equal(text(c), '7');
  });
  test('same epoch: the offsets topic wins, even when the coordinator mirror lags (a crash before its report)', () => {
    const r = chooseStartingOffset(off('120', 4n), off('100', 4n));
    assert.equal(r.origin, 'offsets-topic');
    assert.equal(text(r), '120');
  });
  test('a newer owner epoch in the topic wins over an older coordinator offset', () => {
    const r = chooseStartingOffset(off('50', 6n), off('900', 5n));
    assert.equal(r.origin, 'offsets-topic', 'the bytes are opaque: the epoch decides, not their value');
    assert.equal(text(r), '50');
    assert.equal(r.epoch, 6n);
  });
  test('a strictly newer coordinator epoch wins: an at-least-once run or an operator moved the partition after the last transaction', () => {
    const r = chooseStartingOffset(off('50', 6n), off('70', 8n));
    assert.equal(r.origin, 'coordinator');
    assert.equal(text(r), '70');
    assert.equal(r.epoch, 8n);
  });
});

describe('offsets topic records', () => {
  test('key names connector and stream partition; value round-trips offset bytes and epoch', () => {
    assert.equal(offsetRecordKey('orders', 'p/0').toString(), '["orders","p/0"]');
    const bytes = new Uint8Array([0, 255, 1, 2]);
    const decoded = decodeOffsetValue(encodeOffsetValue(bytes, 12345678901234567890n), 'x');
    assert.deepEqual([...decoded.offset], [...bytes]);
    assert.equal(decoded.epoch, 12345678901234567890n);
  });
  test('a foreign record is an InternalError naming where it is', () => {
    assert.throws(() => decodeOffsetValue(Buffer.from('not json'), 'offsets-3@17'), (err) => err instanceof InternalError && /offsets-3@17/.test(err.message));
    assert.throws(() => decodeOffsetValue(Buffer.from('{"offset":1}'), 'offsets-3@18'), InternalError);
  });
});

describe('transactional ids', () => {
  test('derived from cluster, connector and stream partition only', () => {
    assert.equal(transactionalIdFor('prod', 'orders-db', 'p3'), 'tributary.prod.orders-db.p3');
    assert.ok(transactionalIdFor('prod', 'orders-db', 'p3').startsWith(transactionalIdPrefix('prod')));
  });
  test('a partition id with spaces or non-ASCII becomes a stable hash (a valid, bounded id)', () => {
    const a = transactionalIdFor('prod', 'files', '/data/my file.csv');
    assert.match(a, /^tributary\.prod\.files\.h-[0-9a-f]{32}$/);
    assert.equal(a, transactionalIdFor('prod', 'files', '/data/my file.csv'));
    assert.notEqual(a, transactionalIdFor('prod', 'files', '/data/my file2.csv'));
  });
});

describe('exactly-once keys', () => {
  const base = { 'connector.class': 'verifiable-source', topic: 't' };
  const problems = (config: Record<string, string>, kind: 'source' | 'sink' = 'source') => {
    try {
      parseConnectorSettings('c', config, kind);
      return [];
    } catch (err) {
      assert.ok(err instanceof InvalidArgumentError);
      return err.problems.map((p) => p.key);
    }
  };
  test('delivery.guarantee=exactly-once and exactly.once.support=required both turn it on, default boundary poll', () => {
    for (const extra of [{ 'delivery.guarantee': 'exactly-once' }, { 'exactly.once.support': 'required' }] as Array<Record<string, string>>) {
      const s = parseConnectorSettings('c', { ...base, ...extra }, 'source');
      assert.equal(s.guarantee, 'exactly-once');
      assert.deepEqual(s.exactlyOnce, { boundary: 'poll', intervalMs: 60_000, offsetsTopic: undefined });
    }
  });
  test('interval boundary with its interval; connector boundary; own offsets topic', () => {
    const s = parseConnectorSettings('c', { ...base, 'delivery.guarantee': 'exactly-once', 'transaction.boundary': 'interval', 'transaction.boundary.interval.ms': '250', 'offsets.storage.topic': 'my-offsets' }, 'source');
    assert.deepEqual(s.exactlyOnce, { boundary: 'interval', intervalMs: 250, offsetsTopic: 'my-offsets' });
    assert.equal(parseConnectorSettings('c', { ...base, 'exactly.once.support': 'required', 'transaction.boundary': 'connector' }, 'source').exactlyOnce?.boundary, 'connector');
  });
  test('bad values and keys without exactly-once are errors naming the key', () => {
    assert.deepEqual(problems({ ...base, 'delivery.guarantee': 'exactly-once', 'transaction.boundary': 'sometimes' }), ['transaction.boundary']);
    assert.deepEqual(problems({ ...base, 'delivery.guarantee': 'exactly-once', 'transaction.boundary.interval.ms': '100' }), ['transaction.boundary.interval.ms'], 'an interval without the interval boundary');
    assert.deepEqual(problems({ ...base, 'transaction.boundary': 'poll' }), ['transaction.boundary'], 'a boundary without exactly-once');
    assert.deepEqual(problems({ ...base, 'delivery.guarantee': 'exactly-once', 'offsets.storage.topic': 'no spaces allowed' }), ['offsets.storage.topic']);
    assert.deepEqual(problems({ ...base, 'exactly.once.support': 'maybe' }), ['exactly.once.support']);
    assert.deepEqual(problems({ ...base, 'delivery.guarantee': 'at-most-once', 'exactly.once.support': 'required' }), ['exactly.once.support']);
  });
  test('a sink takes delivery.guarantee=exactly-once (read_committed) but no source transaction keys', () => {
    const sink = { 'connector.class': 'postgres-sink', topics: 'in' };
    assert.equal(parseConnectorSettings('c', { ...sink, 'delivery.guarantee': 'exactly-once' }, 'sink').guarantee, 'exactly-once');
    assert.equal(parseConnectorSettings('c', { ...sink, 'delivery.guarantee': 'exactly-once' }, 'sink').exactlyOnce, undefined);
    assert.deepEqual(problems({ ...sink, 'transaction.boundary': 'poll' }, 'sink'), ['transaction.boundary']);
  });
  test('worker: exactly.once.source.support and the default offsets topic per cluster', () => {
    const worker = (extra: object) => compileWorkerOptions({ kafka: { brokers: ['k:9092'] }, plugins: {} as PluginHost, offsets: {} as OffsetStore, ...extra });
    assert.deepEqual(worker({ cluster: 'prod' }).exactlyOnce, { cluster: 'prod', sourceSupport: 'enabled', offsetsTopic: 'tributary-prod-offsets' });
    assert.equal(worker({ exactlyOnce: { sourceSupport: 'disabled', offsetsTopic: 'o' } }).exactlyOnce.offsetsTopic, 'o');
    assert.throws(() => worker({ exactlyOnce: { sourceSupport: 'preparing' } }), (err) => err instanceof InvalidArgumentError && err.problems[0]?.key === 'exactly.once.source.support');
  });
});
