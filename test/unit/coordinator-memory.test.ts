/**
 * The memory coordinator backend: the CoordinatorBackend contract in one process, and the state
 * file that lets a restarted standalone process resume.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../src/coordinator/memory-backend.js';
import { FailedPreconditionError, InternalError } from '../../src/errors.js';
import { everyKindOfWrite, normalise, worker } from '../support/coordinator-state.js';


async function started(options: ConstructorParameters<typeof MemoryBackend>[0] = {}): Promise<MemoryBackend> {
  const b = new MemoryBackend(options);
  await b.start();
  return b;
}

describe('memory coordinator backend', () => {
  it('elects the first candidate at once with term 1, the next on resign with term 2', async () => {
    const b = await started();
    const seen: (string | undefined)[] = [];
    b.watchLeader((l) => seen.push(l?.id));
    const first = await b.campaign(worker('a'), new AbortController().signal);
    assert.ok(first);
    assert.equal(first.term, 1n);
    assert.deepEqual(await b.leader(), worker('a'));

    let second: Awaited<ReturnType<MemoryBackend['campaign']>> | null = null;
    const waiting = b.campaign(worker('b'), new AbortController().signal).then((l) => (second = l));
    const withdrawn = new AbortController();
    const third = b.campaign(worker('c'), withdrawn.signal);
    await Promise.resolve();
    assert.equal(second, null, 'the second candidate waits while the first leads');
    withdrawn.abort();
    assert.equal(await third, undefined, 'an aborted campaign resolves undefined');

    await first.resign();
    assert.equal(first.lost.aborted, true);
    await waiting;
    assert.ok(second);
    assert.equal((second as { term: bigint }).term, 2n);
    assert.deepEqual(await b.leader(), worker('b'));
    assert.deepEqual(seen, [undefined, 'a', 'b'], 'watchLeader: current value first, then every change');
    await b.stop();
  });

  it('a campaign whose signal is already aborted is not elected', async () => {
    const b = await started();
    const c = new AbortController();
    c.abort();
    assert.equal(await b.campaign(worker('a'), c.signal), undefined);
    assert.equal(await b.leader(), undefined);
    await b.stop();
  });

  it('applies every kind of state write and the snapshot gives it back exactly', async () => {
    const b = await started();
    const leadership = (await b.campaign(worker('a'), new AbortController().signal))!;
    const { writes, expected } = everyKindOfWrite();
    await leadership.write(writes);
    const snapshot = await b.snapshot();
    assert.deepEqual(normalise(snapshot), normalise(expected));
    // The snapshot is a copy: changing it does not change the backend.
    snapshot.connectors[0]!.config.x = 'y';
    snapshot.offsets.get('orders')!.get('p0')!.offset[0] = 42;
    assert.deepEqual(normalise(await b.snapshot()), normalise(expected));
    await b.stop();
  });

  it('deleteConnector removes the connector with its offsets and statuses, and nothing of other connectors', async () => {
    const b = await started();
    const leadership = (await b.campaign(worker('a'), new AbortController().signal))!;
    await leadership.write([
      ...everyKindOfWrite().writes,
      { type: 'putConnector', record: { name: 'orders2', config: {}, targetState: 'RUNNING' } },
      { type: 'commitOffset', connector: 'orders2', partition: 'p0', offset: { offset: new Uint8Array([7]), epoch: 1n } },
      // A "/" in a name is encoded in the key: deleting "orders" cannot reach "orders/eu".
      { type: 'putConnector', record: { name: 'orders/eu', config: {}, targetState: 'RUNNING' } },
      { type: 'commitOffset', connector: 'orders/eu', partition: 'p0', offset: { offset: new Uint8Array([8]), epoch: 1n } },
    ]);
    await leadership.write([{ type: 'deleteConnector', name: 'orders' }]);
    const s = await b.snapshot();
    assert.deepEqual(s.connectors.map((c) => c.name).sort(), ['orders/eu', 'orders2']);
    assert.deepEqual([...s.partitions.keys()], []);
    assert.deepEqual([...s.offsets.keys()].sort(), ['orders/eu', 'orders2']);
    assert.deepEqual(s.statuses, []);

    await leadership.write([
      { type: 'deleteConnector', name: 'orders2' },
      { type: 'putConnector', record: { name: 'orders2', config: { v: '2' }, targetState: 'STOPPED' } },
    ]);
    const t = await b.snapshot();
    assert.deepEqual(t.connectors.find((c) => c.name === 'orders2'), { name: 'orders2', config: { v: '2' }, targetState: 'STOPPED' });
    assert.deepEqual([...t.offsets.keys()], ['orders/eu'], 'the re-created connector starts without the old offsets');
    await b.stop();
  });

  it('a resigned leader cannot write, and its write changes nothing', async () => {
    const b = await started();
    const leadership = (await b.campaign(worker('a'), new AbortController().signal))!;
    await leadership.write([{ type: 'putEpoch', epoch: 1n }]);
    const pending = leadership.write([{ type: 'putEpoch', epoch: 2n }]); // queued before the resign
    await leadership.resign();
    await assert.rejects(pending, FailedPreconditionError, 'a write still queued when leadership ends is not applied');
    await assert.rejects(leadership.write([{ type: 'putEpoch', epoch: 3n }]), FailedPreconditionError);
    assert.equal((await b.snapshot()).epoch, 1n);
    await b.stop();
  });

  it('members appear on register, are watched, and go with stop; stop is idempotent and resigns', async () => {
    const b = await started();
    const lists: string[][] = [];
    b.watchMembers((m) => lists.push(m.map((w) => w.id)));
    await b.register(worker('b'));
    await b.register(worker('a'));
    assert.deepEqual(await b.members(), [worker('a'), worker('b')]);
    assert.deepEqual(lists, [[], ['b'], ['a', 'b']]);
    const leadership = (await b.campaign(worker('a'), new AbortController().signal))!;
    const waiting = b.campaign(worker('b'), new AbortController().signal);
    await Promise.all([b.stop(), b.stop()]);
    await b.stop();
    assert.equal(leadership.lost.aborted, true);
    assert.equal(await waiting, undefined, 'a waiting candidate is withdrawn by stop');
    await assert.rejects(b.members(), FailedPreconditionError);
  });

  it('with a path, a restarted backend resumes connectors, partitions, offsets, epoch and terms', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-memory-'));
    try {
      const path = join(dir, 'state', 'standalone.json');
      const first = await started({ path });
      const leadership = (await first.campaign(worker('a'), new AbortController().signal))!;
      const { writes, expected } = everyKindOfWrite();
      await leadership.write(writes);
      await first.stop();

      const second = await started({ path });
      assert.deepEqual(normalise(await second.snapshot()), normalise(expected));
      const again = (await second.campaign(worker('a'), new AbortController().signal))!;
      assert.equal(again.term, 2n, 'terms keep growing across restarts');
      await again.write([{ type: 'deleteConnector', name: 'orders' }, { type: 'putEpoch', epoch: 7n }]);
      await second.stop();

      const third = await started({ path });
      const s = await third.snapshot();
      assert.deepEqual(s.connectors, []);
      assert.deepEqual([...s.offsets.keys()], []);
      assert.equal(s.epoch, 7n);
      await third.stop();
      assert.deepEqual(readdirSync(join(dir, 'state')), ['standalone.json'], 'no temporary file left behind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start from a damaged state file, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-memory-'));
    try {
      const path = join(dir, 'standalone.json');
      writeFileSync(path, '{"version": 1, "term": "1", "state": {');
      await assert.rejects(new MemoryBackend({ path }).start(), (err: unknown) => err instanceof InternalError && err.message.includes(path));
      writeFileSync(path, JSON.stringify({ version: 1, cluster: 'standalone', term: '1', state: { epoch: 'seven' } }));
      await assert.rejects(new MemoryBackend({ path }).start(), (err: unknown) => err instanceof InternalError && /epoch/.test(err.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a backend without a path starts empty and keeps state in memory only', async () => {
    const b = await started();
    assert.deepEqual(normalise(await b.snapshot()), normalise({ connectors: [], partitions: new Map(), assignments: [], offsets: new Map(), statuses: [], epoch: 0n }));
    await b.stop();
  });
});
