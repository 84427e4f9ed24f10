/**
 * The etcd coordinator backend against a real etcd: election and fencing (invariant 2),
 * membership with leases, and cluster state written in guarded transactions.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Etcd3, GRPCOutOfRangeError } from 'etcd3';
import type { StateWrite, WorkerInfo } from '../../src/coordinator/backend.js';
import { createEtcdBackend, type EtcdBackend, type EtcdBackendOptions } from '../../src/coordinator/etcd/index.js';
import { FailedPreconditionError, UnavailableError, isRetriable } from '../../src/errors.js';
import { eventually } from '../support/eventually.js';
import { services } from '../support/services.js';
import { everyKindOfWrite, normalise, worker } from '../support/coordinator-state.js';


/**
 * A TCP proxy to etcd that can cut the link without closing it (bytes just stop flowing), or
 * refuse it (connections reset) until restored.
 */
class BlackholeProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private blackholed = false;
  private refusing = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => {});
      if (this.refusing) return client.resetAndDestroy();
      if (this.blackholed) return client.pause(); // accept, then never answer
      const upstream = connect(this.target);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('data', (chunk) => this.blackholed || upstream.write(chunk));
      upstream.on('data', (chunk) => this.blackholed || client.write(chunk));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Drops every byte from now on, in both directions, on existing and new connections. */
  cut(): void {
    this.blackholed = true;
  }

  /** Resets every connection, and new ones, until `restore()`. */
  refuse(): void {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.refusing = false;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

describe('etcd coordinator backend (real etcd)', () => {
  let endpoints: string[];
  let raw: Etcd3;
  let cluster: string;
  const backends: EtcdBackend[] = [];
  const controllers: AbortController[] = [];

  const backend = async (options: Partial<EtcdBackendOptions> = {}): Promise<EtcdBackend> => {
    const b = createEtcdBackend({ endpoints, cluster, ...options });
    backends.push(b);
    await b.start();
    return b;
  };
  const campaign = (b: EtcdBackend, self: WorkerInfo) => {
    const controller = new AbortController();
    controllers.push(controller);
    return { controller, elected: b.campaign(self, controller.signal) };
  };
  const keysUnder = async (suffix: string) => raw.getAll().prefix(`/tributary/${cluster}/${suffix}`).keys();

  before(async () => {
    ({ etcdEndpoints: endpoints } = await services());
    raw = new Etcd3({ hosts: endpoints });
  });

  // Each test gets its own cluster name, and leaves no key behind.
  afterEach(async () => {
    for (const c of controllers.splice(0)) c.abort();
    await Promise.all(backends.splice(0).map((b) => b.stop()));
    await raw.delete().prefix(`/tributary/${cluster}/`);
  });
  const fresh = () => (cluster = `test-${randomUUID().slice(0, 8)}`);

  after(() => raw?.close());

  it('elects exactly one of two candidates, and both backends report it as leader', async () => {
    fresh();
    const [a, b] = [await backend(), await backend()];
    const seenByA: (WorkerInfo | undefined)[] = [];
    const seenByB: (WorkerInfo | undefined)[] = [];
    a.watchLeader((l) => seenByA.push(l));
    b.watchLeader((l) => seenByB.push(l));
    const ca = campaign(a, worker('a'));
    const first = await ca.elected;
    assert.ok(first, 'the first candidate is elected');
    const cb = campaign(b, worker('b'));
    let bElected = false;
    void cb.elected.then((l) => (bElected = l !== undefined));
    assert.deepEqual(await a.leader(), worker('a'));
    assert.deepEqual(await b.leader(), worker('a'));
    await eventually(() => seenByA.at(-1)?.id === 'a' && seenByB.at(-1)?.id === 'a', { message: 'both watchers see a as leader' });
    assert.equal(bElected, false, 'the second candidate waits while the first leads');
    assert.ok(first.term > 0n);
    assert.equal(first.lost.aborted, false);
    cb.controller.abort();
    assert.equal(await cb.elected, undefined, 'an aborted campaign resolves undefined');
    assert.equal((await keysUnder('leader/')).length, 1, 'the withdrawn candidate left no election key');
  });

  it('applies a guarded batch in one go, and the snapshot gives back every kind of write exactly', async () => {
    fresh();
    const a = await backend();
    const leadership = (await campaign(a, worker('a')).elected)!;
    const { writes, expected } = everyKindOfWrite();
    await leadership.write(writes);
    const reader = await backend(); // another instance reads what the leader wrote
    assert.deepEqual(normalise(await reader.snapshot()), normalise(expected));
    const snapshot = await reader.snapshot();
    assert.ok(snapshot.offsets.get('orders')!.get('p0')!.offset instanceof Uint8Array);
    assert.equal(typeof snapshot.epoch, 'bigint');
    // Keys follow the documented layout.
    assert.deepEqual((await keysUnder('offsets/')).sort(), [`/tributary/${cluster}/offsets/orders/p0`, `/tributary/${cluster}/offsets/orders/topic%2F1`]);
    assert.equal(await raw.get(`/tributary/${cluster}/epoch`).string(), expected.epoch.toString());
  });

  it('deleteConnector removes the connector with its partitions, offsets and statuses, and nothing of other connectors', async () => {
    fresh();
    const a = await backend();
    const leadership = (await campaign(a, worker('a')).elected)!;
    const { writes } = everyKindOfWrite();
    const other: StateWrite[] = [
      { type: 'putConnector', record: { name: 'orders2', config: {}, targetState: 'RUNNING' } },
      { type: 'commitOffset', connector: 'orders2', partition: 'p0', offset: { offset: new Uint8Array([7]), epoch: 1n } },
      { type: 'putStatus', status: { connector: 'orders2', partition: 'p0', workerId: 'w1', state: 'RUNNING', epoch: 1n, updatedAt: 1 } },
    ];
    await leadership.write([...writes, ...other]);
    await leadership.write([{ type: 'deleteConnector', name: 'orders' }]);
    const s = await a.snapshot();
    assert.deepEqual(s.connectors.map((c) => c.name), ['orders2']);
    assert.deepEqual([...s.partitions.keys()], []);
    assert.deepEqual([...s.offsets.keys()], ['orders2']);
    assert.deepEqual(s.statuses.map((x) => x.connector), ['orders2']);
    assert.equal(s.assignments.length, 2, 'assignments are the leader’s to rewrite, not deleted with the connector');

    // Deleting and re-creating a connector in one batch: the old offsets go, the new config stays.
    await leadership.write([
      { type: 'deleteConnector', name: 'orders2' },
      { type: 'putConnector', record: { name: 'orders2', config: { v: '2' }, targetState: 'STOPPED' } },
      { type: 'commitOffset', connector: 'orders2', partition: 'p9', offset: { offset: new Uint8Array([1]), epoch: 2n } },
    ]);
    const t = await a.snapshot();
    assert.deepEqual(t.connectors, [{ name: 'orders2', config: { v: '2' }, targetState: 'STOPPED' }]);
    assert.deepEqual([...t.offsets.get('orders2')!.keys()], ['p9']);
    assert.deepEqual(t.statuses, []);
  });

  it('splits a batch larger than etcd’s transaction limit into guarded transactions', async () => {
    fresh();
    const a = await backend({ maxTxnOps: 128 });
    const leadership = (await campaign(a, worker('a')).elected)!;
    const writes: StateWrite[] = Array.from({ length: 300 }, (_, i) => ({
      type: 'commitOffset' as const,
      connector: 'big',
      partition: `p${i}`,
      offset: { offset: new Uint8Array([i % 256]), epoch: 1n },
    }));
    await leadership.write(writes);
    assert.equal((await a.snapshot()).offsets.get('big')!.size, 300);
  });

  it('a leader keeps etcd history bounded: after many offset flushes the history is compacted to the retained revisions', async () => {
    fresh();
    const a = await backend({ compactionIntervalMs: 100, compactionRetainRevisions: 200 });
    const leadership = (await campaign(a, worker('a')).elected)!;
    const client = new Etcd3({ hosts: endpoints });
    try {
      const value = new Uint8Array(1024).fill(7);
      // Offset flushes as a leader writes them: one transaction per flush, the same keys again and again.
      for (let i = 0; i < 600; i++) {
        await leadership.write([{ type: 'commitOffset', connector: 'busy', partition: `p${i % 4}`, offset: { offset: value, epoch: BigInt(i + 1) } }]);
      }
      const revision = BigInt((await client.maintenance.status()).header.revision);
      // An old revision is readable only while it has not been compacted.
      await eventually(async () => {
        try {
          await client.get('anything').revision((revision - 300n).toString()).exec();
          return false;
        } catch (err) {
          // etcd answers OUT_OF_RANGE ("required revision has been compacted").
          if (err instanceof GRPCOutOfRangeError) return true;
          throw err;
        }
      }, { timeoutMs: 10_000, message: 'revisions older than the retained 200 are compacted' });
      // What is retained is still there: a read 100 revisions back works.
      await client.get('anything').revision((revision - 100n).toString()).exec();
    } finally {
      client.close();
    }
  });

  it('a leader whose lease is revoked loses `lost` at once, cannot write, and the other candidate leads with a larger term', async () => {
    fresh();
    const [a, b] = [await backend(), await backend()];
    const leadA = (await campaign(a, worker('a')).elected)!;
    const cb = campaign(b, worker('b'));
    await eventually(async () => (await keysUnder('leader/')).length === 2, { message: 'both candidates registered' });

    // Revoke a's election lease from outside, as etcd does when it expires.
    const [{ key }] = (await raw.getAll().prefix(`/tributary/${cluster}/leader/`).sort('Create', 'Ascend').limit(1).exec()).kvs;
    const leaseId = key!.toString().split('/').at(-1)!;
    await raw.leaseClient.leaseRevoke({ ID: leaseId });

    await eventually(() => leadA.lost.aborted, { timeoutMs: 2000, message: 'a notices it lost leadership' });
    await assert.rejects(
      leadA.write([{ type: 'putEpoch', epoch: 99n }, { type: 'putConnector', record: { name: 'x', config: {}, targetState: 'RUNNING' } }]),
      (err: unknown) => err instanceof FailedPreconditionError && /no longer the leader/.test(err.message) && !isRetriable(err),
    );
    assert.equal(await raw.get(`/tributary/${cluster}/epoch`).string(), null, 'nothing was written');
    assert.deepEqual(await keysUnder('connectors/'), []);

    const leadB = (await cb.elected)!;
    assert.ok(leadB.term > leadA.term, `b's term ${leadB.term} > a's term ${leadA.term}`);
    assert.deepEqual(await a.leader(), worker('b'));
    await leadB.write([{ type: 'putEpoch', epoch: 7n }]);
    assert.equal((await a.snapshot()).epoch, 7n);
  });

  it('a write racing the deletion of the election key is refused by the transaction guard and writes nothing', async () => {
    fresh();
    const a = await backend();
    const leadA = (await campaign(a, worker('a')).elected)!;
    const [{ key }] = (await raw.getAll().prefix(`/tributary/${cluster}/leader/`).exec()).kvs;
    await raw.delete().key(key!.toString());
    // No waiting for the watch: whichever notices first, the write must not land.
    await assert.rejects(leadA.write([{ type: 'putEpoch', epoch: 5n }]), FailedPreconditionError);
    assert.equal(await raw.get(`/tributary/${cluster}/epoch`).string(), null);
    await eventually(() => leadA.lost.aborted, { message: 'lost aborted' });
    assert.match(String((leadA.lost.reason as Error).message), /no longer the leader/);
  });

  it('a leader cut off from etcd stops acting before its lease can expire, so before a successor is elected', async () => {
    fresh();
    const target = new URL(endpoints[0]!);
    const proxy = new BlackholeProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.start();
    try {
      const a = await backend({ endpoints: [`http://127.0.0.1:${proxy.port}`], requestTimeoutMs: 1000 });
      const b = await backend();
      const leadA = (await campaign(a, worker('a')).elected)!;
      let lostAt = 0;
      leadA.lost.addEventListener('abort', () => (lostAt = Date.now()));
      const cb = campaign(b, worker('b'));
      await eventually(async () => (await keysUnder('leader/')).length === 2, { message: 'both candidates registered' });
      const cutAt = Date.now();
      proxy.cut();
      const leadB = (await cb.elected)!;
      const electedAt = Date.now();
      assert.ok(lostAt > 0, 'a gave up leadership before b was elected');
      assert.ok(lostAt < electedAt, `a lost at +${lostAt - cutAt} ms, b elected at +${electedAt - cutAt} ms`);
      assert.ok(lostAt - cutAt <= 2000 + 200, `a noticed within a TTL (+${lostAt - cutAt} ms)`);
      assert.ok(leadB.term > leadA.term);
      await assert.rejects(leadA.write([{ type: 'putEpoch', epoch: 1n }]), FailedPreconditionError);
    } finally {
      await Promise.all(backends.splice(0).map((b) => b.stop())); // before the proxy goes
      await proxy.stop();
    }
  });

  it('resign and stop hand leadership over at once; stop is idempotent', async () => {
    fresh();
    const [a, b, c] = [await backend(), await backend(), await backend()];
    const leadA = (await campaign(a, worker('a')).elected)!;
    const cb = campaign(b, worker('b'));
    await eventually(async () => (await keysUnder('leader/')).length === 2, { message: 'b registered as candidate' });
    const started = Date.now();
    await leadA.resign();
    assert.equal(leadA.lost.aborted, true);
    const leadB = (await cb.elected)!;
    assert.ok(Date.now() - started < 1500, 'b leads without waiting for a TTL');
    const cc = campaign(c, worker('c'));
    await eventually(async () => (await keysUnder('leader/')).length === 2, { message: 'c registered as candidate' });
    await Promise.all([b.stop(), b.stop()]);
    await b.stop();
    assert.equal(leadB.lost.aborted, true, 'stop resigns a held leadership');
    const leadC = (await cc.elected)!;
    assert.ok(leadC.term > leadB.term && leadB.term > leadA.term);
    await assert.rejects(b.leader(), FailedPreconditionError, 'a stopped backend refuses calls');
  });

  it('members appear on register and disappear at once when a backend stops', async () => {
    fresh();
    const [a, b, watcher] = [await backend(), await backend(), await backend()];
    const lists: string[][] = [];
    watcher.watchMembers((m) => lists.push(m.map((w) => w.id)));
    await a.register(worker('a'));
    await b.register(worker('b'));
    assert.deepEqual(await watcher.members(), [worker('a'), worker('b')]);
    await eventually(() => lists.at(-1)?.join() === 'a,b', { message: 'watch shows a and b' });
    const stoppedAt = Date.now();
    await a.stop();
    await eventually(() => lists.at(-1)?.join() === 'b', { timeoutMs: 1000, message: 'watch drops a at once' });
    assert.ok(Date.now() - stoppedAt < 1000);
    assert.deepEqual(await watcher.members(), [worker('b')]);
  });

  it('a killed worker disappears from the members within about two lease TTLs', async () => {
    fresh();
    const watcher = await backend();
    const entry = fileURLToPath(new URL('../../src/coordinator/etcd/index.ts', import.meta.url));
    const script = `
      const { createEtcdBackend } = await import(${JSON.stringify(entry)});
      const b = createEtcdBackend({ endpoints: ${JSON.stringify(endpoints)}, cluster: ${JSON.stringify(cluster)} });
      await b.start();
      await b.register(${JSON.stringify(worker('doomed'))});
      process.stdout.write('registered\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('registered') && resolve());
        child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
      });
      assert.deepEqual((await watcher.members()).map((m) => m.id), ['doomed']);
      const killedAt = Date.now();
      child.kill('SIGKILL'); // no revoke: the lease must expire
      await eventually(async () => (await watcher.members()).length === 0, { timeoutMs: 6000, intervalMs: 100, message: 'dead member expires' });
      const gone = Date.now() - killedAt;
      assert.ok(gone <= 2 * 2000 + 500, `gone after ${gone} ms`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('registers again with a new lease when its membership lease is lost while the process lives', async () => {
    fresh();
    const [a, watcher] = [await backend(), await backend()];
    await a.register(worker('a'));
    const key = `/tributary/${cluster}/workers/a`;
    const { lease } = (await raw.get(key).exec()).kvs[0]!;
    await raw.leaseClient.leaseRevoke({ ID: lease });
    await eventually(async () => {
      const kv = (await raw.get(key).exec()).kvs[0];
      return kv !== undefined && kv.lease !== lease;
    }, { message: 'a registered again under a new lease' });
    assert.deepEqual(await watcher.members(), [worker('a')]);
  });

  it('works again as soon as etcd is back after a short outage (no 5 s circuit breaker)', async () => {
    fresh();
    const target = new URL(endpoints[0]!);
    const proxy = new BlackholeProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.start();
    try {
      const a = await backend({ endpoints: [`http://127.0.0.1:${proxy.port}`], requestTimeoutMs: 500 });
      await a.register(worker('a'));
      proxy.refuse();
      await assert.rejects(a.members(), UnavailableError);
      await assert.rejects(a.members(), UnavailableError);
      proxy.restore();
      const back = Date.now();
      await eventually(async () => (await a.members()).length === 1, { timeoutMs: 1500, message: 'calls succeed again' });
      assert.ok(Date.now() - back < 1500);
      // The outage was shorter than the lease TTL: the membership survived it.
      const other = await backend();
      assert.deepEqual(await other.members(), [worker('a')]);
    } finally {
      await Promise.all(backends.splice(0).map((b) => b.stop()));
      await proxy.stop();
    }
  });

  it('reports an unreachable etcd as a retriable UnavailableError within the request deadline', async () => {
    fresh();
    const target = new URL(endpoints[0]!);
    const silent = new BlackholeProxy({ host: target.hostname, port: Number(target.port) });
    await silent.start();
    silent.cut(); // accepts connections, never answers: only the deadline ends the call
    try {
      for (const dead of ['http://127.0.0.1:1' /* refused */, `http://127.0.0.1:${silent.port}`]) {
        const b = createEtcdBackend({ endpoints: [dead], cluster, requestTimeoutMs: 500 });
        backends.push(b);
        const started = Date.now();
        await assert.rejects(b.start(), (err: unknown) => {
          assert.ok(err instanceof UnavailableError, `got ${String(err)}`);
          assert.ok(isRetriable(err));
          assert.match(err.message, new RegExp(`etcd at ${dead.replace(/[.]/g, '\\.')} is unreachable.*ETCD_ENDPOINTS`));
          return true;
        });
        const took = Date.now() - started;
        assert.ok(took < 3 * 500 + 1000, `${dead} failed after ${took} ms (at most 3 attempts of 500 ms)`);
      }
    } finally {
      await Promise.all(backends.splice(0).map((b) => b.stop()));
      await silent.stop();
    }
  });
});
