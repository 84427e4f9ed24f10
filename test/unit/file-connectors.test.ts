/**
 * The built-in file connectors driven through the connector protocol in-process: the file
 * source's lines and byte offsets, resuming, held-back partial lines, appends, truncation and
 * rotation, dynamic discovery over WatchPartitions, credits and validation; the file sink's lines
 * and its durable answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { NotFoundError, UnavailableError } from '../../src/errors.js';
import type { ReadRequestSchema, ReadResponse, WatchPartitionsResponse, WriteRequestSchema, WriteResponse } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { inProcessPlugin, type ConnectorPlugin, type PluginRecord } from '../../src/plugins/index.js';
import { createFileSourcePlugin, FILE_SOURCE, fileSourcePlugin, globMatcher, writeDecimal, type FileSourceLogger } from '../../src/connectors/file-source/index.js';
import { FILE_SINK, fileSinkPlugin } from '../../src/connectors/file-sink/index.js';

// The file connectors and ${file:…} references are confined to allowed.paths (none by default);
// these tests' files live under the OS temp directory.
process.env.TRIBUTARY_ALLOWED_PATHS = tmpdir();
import { AsyncQueue } from '../../src/util/async-queue.js';

type ReadRequestInit = MessageInitShape<typeof ReadRequestSchema>;
type WriteRequestInit = MessageInitShape<typeof WriteRequestSchema>;

const TIMEOUT = { timeout: 30_000 };
const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString());

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sourceConfig(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'connector.class': FILE_SOURCE, topic: 'lines', path: dir, 'poll.interval.ms': '20', ...extra };
}

/** Collects warnings instead of writing them to stderr. */
function capturingLogger(): FileSourceLogger & { messages: string[] } {
  const messages: string[] = [];
  return { messages, warn: (_fields, message) => void messages.push(message) };
}

/** A Read stream driven like the worker does; checks the credits on every batch. */
function openRead(plugin: ConnectorPlugin, config: Record<string, string>, partition: string, offset?: string) {
  const requests = new AsyncQueue<ReadRequestInit>();
  const iterator = plugin.read(requests)[Symbol.asyncIterator]();
  requests.push({ kind: { case: 'open', value: { connector: { name: 'files', config }, partition: { id: partition }, offset: offset === undefined ? undefined : Buffer.from(offset) } } });
  let granted = 0;
  let received = 0;
  const batches: number[] = [];
  const next = () => iterator.next() as Promise<IteratorResult<ReadResponse>>;
  return {
    requests,
    next,
    batches,
    get received() {
      return received;
    },
    credit(records: number) {
      granted += records;
      requests.push({ kind: { case: 'credit', value: { records } } });
    },
    drain: () => requests.push({ kind: { case: 'drain', value: {} } }),
    /** Reads one batch; the records received so far must be within the credits granted. */
    async batch(): Promise<PluginRecord[]> {
      const { value, done } = await next();
      assert.equal(done, false, 'the Read stream ended early');
      if (value!.kind.case !== 'batch') assert.fail(`expected a batch, got ${value!.kind.case}`);
      const records = value!.kind.value.records;
      assert.ok(records.length > 0, 'an empty batch was sent');
      received += records.length;
      batches.push(records.length);
      assert.ok(received <= granted, `received ${received} records with only ${granted} credits granted`);
      return records;
    },
    /** Reads batches until exactly `count` more records arrived. */
    async records(count: number): Promise<PluginRecord[]> {
      const out: PluginRecord[] = [];
      while (out.length < count) out.push(...(await this.batch()));
      assert.equal(out.length, count, `expected ${count} records, got ${out.length}`);
      return out;
    },
    /** Drains and returns the `drained` answer; then ends the stream. */
    async drainAndEnd(): Promise<{ lastOffset: string | undefined; records: bigint }> {
      requests.push({ kind: { case: 'drain', value: {} } });
      const { value } = await next();
      if (value?.kind.case !== 'drained') assert.fail(`expected drained, got ${value?.kind.case}`);
      const drained = { lastOffset: text(value.kind.value.lastOffset), records: value.kind.value.records };
      requests.end();
      assert.equal((await next()).done, true);
      return drained;
    },
    end: async () => {
      requests.end();
      assert.equal((await next()).done, true);
    },
  };
}

const lines = (records: PluginRecord[]) => records.map((r) => text(r.value));
const offsets = (records: PluginRecord[]) => records.map((r) => text(r.offset));

test('file-source: one record per line, offset = the byte after the newline, header file, no key; a partial line is held back', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.log'), 'alpha\nbeta\r\n\n\u00e9t\u00e9\ngam');
  const plugin = inProcessPlugin(fileSourcePlugin);
  const read = openRead(plugin, sourceConfig(dir), 'a.log');
  read.credit(100);
  const records = await read.records(4);
  assert.deepEqual(lines(records), ['alpha', 'beta', '', 'été']);
  // 'alpha\n' = 6 bytes, 'beta\r\n' = 6, '\n' = 1, 'été\n' = 6 (é is two bytes in UTF-8).
  assert.deepEqual(offsets(records), ['6', '12', '13', '19']);
  for (const r of records) {
    assert.equal(r.key, undefined);
    assert.deepEqual(r.headers.map((h) => [h.key, text(h.value)]), [['file', 'a.log']]);
  }
  // 'gam' has no newline: drain shows nothing more was sent.
  const drained = await read.drainAndEnd();
  assert.deepEqual(drained, { lastOffset: '19', records: 4n });
});

test('file-source: a partial line is emitted once completed, and appended lines are picked up by an open stream', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a.log');
  writeFileSync(file, 'one\ntw');
  const read = openRead(inProcessPlugin(fileSourcePlugin), sourceConfig(dir), 'a.log');
  read.credit(100);
  assert.deepEqual(lines(await read.records(1)), ['one']);
  appendFileSync(file, 'o\nthr');
  const second = await read.records(1);
  assert.deepEqual([lines(second), offsets(second)], [['two'], ['8']]);
  appendFileSync(file, 'ee\nfour\n');
  const more: PluginRecord[] = [];
  while (more.length < 2) more.push(...(await read.batch()));
  assert.deepEqual([lines(more), offsets(more)], [['three', 'four'], ['14', '19']]);
  assert.deepEqual(await read.drainAndEnd(), { lastOffset: '19', records: 4n });
});

test('file-source: opening at an offset continues exactly after that line', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  const content = Array.from({ length: 50 }, (_, i) => `line-${i}\n`).join('');
  writeFileSync(join(dir, 'data.txt'), content);
  const plugin = inProcessPlugin(fileSourcePlugin);
  const first = openRead(plugin, sourceConfig(dir), 'data.txt');
  first.credit(50);
  const all = await first.records(50);
  await first.drainAndEnd();
  assert.equal(offsets(all).at(-1), String(Buffer.byteLength(content)));

  for (const k of [0, 9, 10, 48]) {
    const resumed = openRead(plugin, sourceConfig(dir), 'data.txt', text(all[k]!.offset));
    resumed.credit(100);
    const rest = await resumed.records(49 - k);
    assert.deepEqual(lines(rest), lines(all.slice(k + 1)), `resume after line ${k}`);
    assert.deepEqual(offsets(rest), offsets(all.slice(k + 1)));
    assert.deepEqual(await resumed.drainAndEnd(), { lastOffset: offsets(all).at(-1), records: BigInt(49 - k) });
  }
});

test('file-source: credits are never exceeded, batches respect batch.size, and lines cross 64 KiB chunks intact', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  let seed = 17;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return 1 + (seed % n);
  };
  const expected = Array.from({ length: 3000 }, (_, i) => (i === 1234 ? 'L'.repeat(200_000) : `${i}:${'x'.repeat(random(120))}`));
  const content = expected.map((l) => `${l}\n`).join('');
  writeFileSync(join(dir, 'big.log'), content);
  const read = openRead(inProcessPlugin(fileSourcePlugin), sourceConfig(dir, { 'batch.size': '100' }), 'big.log');
  const got: PluginRecord[] = [];
  let granted = 0;
  while (got.length < expected.length) {
    // Grant when the window is used up and, sometimes, while records are still in flight.
    if (granted < expected.length && (got.length === granted || random(3) === 1)) {
      const n = Math.min(random(250), expected.length - granted);
      granted += n;
      read.credit(n);
    }
    got.push(...(await read.batch()));
  }
  assert.ok(Math.max(...read.batches) <= 100, `a batch had ${Math.max(...read.batches)} records with batch.size 100`);
  assert.deepEqual(lines(got), expected);
  let position = 0;
  assert.deepEqual(
    offsets(got),
    expected.map((l) => String((position += Buffer.byteLength(l) + 1))),
  );
  assert.deepEqual(await read.drainAndEnd(), { lastOffset: String(Buffer.byteLength(content)), records: 3000n });
});

test('file-source: a truncated file, and an offset past the end, restart from byte 0 with a warning', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a.log');
  writeFileSync(file, 'first line\nsecond line\n');
  const logger = capturingLogger();
  const plugin = inProcessPlugin(createFileSourcePlugin({ logger }));
  const read = openRead(plugin, sourceConfig(dir), 'a.log');
  read.credit(100);
  assert.deepEqual(offsets(await read.records(2)), ['11', '23']);
  truncateSync(file, 0);
  appendFileSync(file, 'new\n');
  const after = await read.records(1);
  assert.deepEqual([lines(after), offsets(after)], [['new'], ['4']]);
  assert.equal(logger.messages.length, 1);
  assert.match(logger.messages[0]!, /truncated/);
  await read.drainAndEnd();

  const beyond = openRead(plugin, sourceConfig(dir), 'a.log', '999');
  beyond.credit(100);
  assert.deepEqual(lines(await beyond.records(1)), ['new']);
  assert.equal(logger.messages.length, 2);
  assert.match(logger.messages[1]!, /shorter than the offset/);
  await beyond.drainAndEnd();
});

test('file-source: a rotated file is read to its end, then the new file from byte 0', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'app.log');
  writeFileSync(file, 'old1\n');
  const logger = capturingLogger();
  const read = openRead(inProcessPlugin(createFileSourcePlugin({ logger })), sourceConfig(dir, { 'file.pattern': '*.log' }), 'app.log');
  read.credit(100);
  assert.deepEqual(lines(await read.records(1)), ['old1']);
  appendFileSync(file, 'old2\n');
  renameSync(file, join(dir, 'app.log.1'));
  writeFileSync(file, 'new1\n');
  const rest: PluginRecord[] = [];
  while (rest.length < 2) rest.push(...(await read.batch()));
  assert.deepEqual([lines(rest), offsets(rest)], [['old2', 'new1'], ['10', '5']]);
  assert.match(logger.messages.join('\n'), /rotated/);
  await read.drainAndEnd();
});

test('file-source: WatchPartitions lists the matching files, then reports new ones as added and deleted ones as removed', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  for (const name of ['b.log', 'a.log', 'notes.txt', '.hidden.log']) writeFileSync(join(dir, name), 'x\n');
  mkdirSync(join(dir, 'sub.log'));
  const plugin = inProcessPlugin(fileSourcePlugin);
  const controller = new AbortController();
  const watch = plugin.watchPartitions({ connector: { name: 'files', config: sourceConfig(dir, { 'file.pattern': '*.log' }) } }, { signal: controller.signal })[Symbol.asyncIterator]();
  const change = async (): Promise<WatchPartitionsResponse> => ((await watch.next()) as IteratorResult<WatchPartitionsResponse>).value!;
  try {
    const snapshot = await change();
    assert.equal(snapshot.snapshot, true);
    assert.deepEqual(snapshot.added.map((p) => p.id), ['a.log', 'b.log']);
    assert.equal(snapshot.added[0]!.attributes['path'], join(dir, 'a.log'));

    // A Read stream on a.log stays open meanwhile; it keeps working after a.log's removal.
    const read = openRead(plugin, sourceConfig(dir, { 'file.pattern': '*.log' }), 'a.log');
    read.credit(10);
    assert.deepEqual(lines(await read.records(1)), ['x']);

    writeFileSync(join(dir, 'c.txt'), 'not matching\n');
    writeFileSync(join(dir, 'd.log'), 'new\n');
    const added = await change();
    assert.deepEqual([added.snapshot, added.added.map((p) => p.id), added.removed], [false, ['d.log'], []]);

    unlinkSync(join(dir, 'a.log'));
    const removed = await change();
    assert.deepEqual([removed.snapshot, removed.added.map((p) => p.id), removed.removed], [false, [], ['a.log']]);

    assert.deepEqual(await read.drainAndEnd(), { lastOffset: '2', records: 1n });
  } finally {
    controller.abort();
    await watch.next().catch(() => undefined);
  }
});

test('file-source: a directory missing at watch time is UNAVAILABLE naming path; an unknown partition is NOT_FOUND', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  const plugin = inProcessPlugin(fileSourcePlugin);
  const missing = join(dir, 'nope');
  const watch = plugin.watchPartitions({ connector: { name: 'files', config: sourceConfig(missing) } })[Symbol.asyncIterator]();
  await assert.rejects(watch.next(), (err: unknown) => err instanceof UnavailableError && /path/.test(err.message) && err.message.includes(missing));

  const read = openRead(plugin, sourceConfig(dir, { 'file.pattern': '*.log' }), 'other.txt');
  await assert.rejects(read.next(), (err: unknown) => err instanceof NotFoundError && /other\.txt/.test(err.message));
  const escape = openRead(plugin, sourceConfig(dir), '../etc/passwd');
  await assert.rejects(escape.next(), NotFoundError);
});

test('file-source: a file that is gone at open is waited for, and read once it appears', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  const read = openRead(inProcessPlugin(fileSourcePlugin), sourceConfig(dir), 'later.log');
  read.credit(10);
  const pending = read.records(1);
  writeFileSync(join(dir, 'later.log'), 'hello\n');
  assert.deepEqual(lines(await pending), ['hello']);
  await read.drainAndEnd();
});

test('file-source: Validate names path and topic when missing, and path when it is not a readable directory', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  const plugin = inProcessPlugin(fileSourcePlugin);
  const validate = async (config: Record<string, string>) => (await plugin.validate({ connector: { name: 'files', config } })).errors.map((e) => [e.key, e.message]);

  const missing = await validate({});
  assert.deepEqual(missing.map(([key]) => key).sort(), ['path', 'topic']);

  const file = join(dir, 'plain.txt');
  writeFileSync(file, '');
  const notDir = await validate({ path: file, topic: 't' });
  assert.equal(notDir.length, 1);
  assert.equal(notDir[0]![0], 'path');
  assert.match(notDir[0]![1]!, /is not a directory/);
  assert.ok(notDir[0]![1]!.includes(file));

  const absent = await validate({ path: join(dir, 'nope'), topic: 't' });
  assert.deepEqual(absent.map(([key]) => key), ['path']);
  assert.match(absent[0]![1]!, /does not exist/);

  const badPattern = await validate({ path: dir, topic: 't', 'file.pattern': 'logs/*.log', 'batch.size': '0' });
  assert.deepEqual(badPattern.map(([key]) => key), ['file.pattern', 'batch.size']);

  assert.deepEqual(await validate({ path: dir, topic: 't' }), []);
  const described = await plugin.describe({});
  assert.equal(described.name, FILE_SOURCE);
  assert.deepEqual(described.configKeys.map((k) => [k.name, k.defaultValue]), [
    ['path', undefined],
    ['file.pattern', '*'],
    ['topic', undefined],
    ['poll.interval.ms', '500'],
    ['batch.size', '2000'],
    ['file.header.enable', 'true'],
  ]);
});

test('file-source: file.pattern globs match * and ? only, and skip hidden files unless the pattern starts with "."', () => {
  const log = globMatcher('*.log');
  assert.deepEqual(['a.log', '.log', 'x.y.log', 'a.log.1', '.a.log', 'a.LOG'].map(log), [true, false, true, false, false, false]);
  const q = globMatcher('app-?.txt');
  assert.deepEqual(['app-1.txt', 'app-é.txt', 'app-12.txt', 'app-.txt'].map(q), [true, true, false, false]);
  const literal = globMatcher('a+(b).[c]$');
  assert.deepEqual(['a+(b).[c]$', 'aa(b).c'].map(literal), [true, false]);
  assert.equal(globMatcher('.*')('.hidden'), true);
  assert.equal(globMatcher('*')('anything at all'), true);
});

test('file-sink: appends each value as a line (null as an empty line), durable through the last offset after flush', TIMEOUT, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'out', 'sink.txt');
  const plugin = inProcessPlugin(fileSinkPlugin);
  const config = { 'connector.class': FILE_SINK, topics: 'lines', file };

  const openWrite = (partition: number) => {
    const requests = new AsyncQueue<WriteRequestInit>();
    const iterator = plugin.write(requests)[Symbol.asyncIterator]();
    requests.push({ kind: { case: 'open', value: { connector: { name: 'out', config }, partition: { id: `lines-${partition}`, topic: 'lines', kafkaPartition: partition } } } });
    return { requests, next: () => iterator.next() as Promise<IteratorResult<WriteResponse>> };
  };
  const batch = (from: number, values: Array<string | undefined>): WriteRequestInit => ({
    kind: { case: 'batch', value: { records: values.map((v, i) => ({ value: v === undefined ? undefined : Buffer.from(v), kafkaOffset: BigInt(from + i) })) } },
  });
  const flush: WriteRequestInit = { kind: { case: 'flush', value: {} } };

  const p0 = openWrite(0);
  assert.equal((await p0.next()).value?.kind.case, 'opened');
  p0.requests.push(batch(5, ['alpha', undefined, 'gamma é']));
  p0.requests.push(flush);
  const durable = (await p0.next()).value;
  if (durable?.kind.case !== 'durable') assert.fail(`expected durable, got ${durable?.kind.case}`);
  assert.equal(durable.kind.value.throughOffset, 7n);
  assert.equal(readFileSync(file, 'utf8'), 'alpha\n\ngamma é\n');

  // Another partition appends to the same file.
  const p1 = openWrite(1);
  assert.equal((await p1.next()).value?.kind.case, 'opened');
  p1.requests.push(batch(0, ['delta']));
  p1.requests.push(flush);
  const second = (await p1.next()).value;
  assert.equal(second?.kind.case === 'durable' && second.kind.value.throughOffset, 0n);
  assert.equal(readFileSync(file, 'utf8'), 'alpha\n\ngamma é\ndelta\n');

  p0.requests.end();
  p1.requests.end();
  assert.equal((await p0.next()).done, true);
  assert.equal((await p1.next()).done, true);

  const errors = await plugin.validate({ connector: { name: 'out', config: { file: dir } } });
  assert.deepEqual(errors.errors.map((e) => e.key), ['file']);
  assert.deepEqual((await plugin.validate({ connector: { name: 'out', config: {} } })).errors.map((e) => e.key), ['file']);
});

test('file-source offsets: writeDecimal writes the same bytes as Buffer.from(String(n)), up to the largest safe integer', () => {
  const slab = Buffer.alloc(64, 0xff);
  for (const n of [0, 7, 9, 10, 99, 100, 12_345, 1_000_000, 4_294_967_296, Number.MAX_SAFE_INTEGER]) {
    const digits = writeDecimal(slab, 3, n);
    assert.deepEqual(slab.subarray(3, 3 + digits), Buffer.from(String(n)), `offset ${n}`);
    assert.equal(slab[2], 0xff, 'nothing written before the position');
    assert.equal(slab[3 + digits], 0xff, `nothing written after the ${digits} digits of ${n}`);
  }
});
