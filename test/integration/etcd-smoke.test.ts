/**
 * Smoke test of the real etcd that tests run against (deploy/local, or ETCD_ENDPOINTS):
 * KV, watch, leases, and the etcd3 Election that leader election is built on.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Etcd3, type Namespace } from 'etcd3';
import { eventually } from '../support/eventually.js';
import { services } from '../support/services.js';

describe('etcd (real server)', () => {
  const prefix = `tributary-test/etcd-smoke/${randomUUID()}/`;
  let a: Etcd3;
  let b: Etcd3;
  let nsA: Namespace;
  let nsB: Namespace;

  before(async () => {
    const { etcdEndpoints } = await services();
    a = new Etcd3({ hosts: etcdEndpoints });
    b = new Etcd3({ hosts: etcdEndpoints });
    nsA = a.namespace(prefix);
    nsB = b.namespace(prefix);
  });

  after(async () => {
    if (a) await a.delete().prefix(prefix);
    a?.close();
    b?.close();
  });

  it('puts and gets a key', async () => {
    await nsA.put('kv/greeting').value('hello');
    assert.equal(await nsB.get('kv/greeting').string(), 'hello');
    assert.equal(await nsB.get('kv/missing').string(), null);
  });

  it('a watch sees a put', async () => {
    const watcher = await nsB.watch().key('watched').create();
    try {
      const seen = new Promise<string>((resolve) => {
        watcher.on('put', (kv) => resolve(kv.value.toString()));
      });
      await nsA.put('watched').value('v1');
      const value = await Promise.race([
        seen,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('no watch event within 5 s')), 5000).unref(),
        ),
      ]);
      assert.equal(value, 'v1');
    } finally {
      await watcher.cancel();
    }
  });

  it('a key under a 2 s lease disappears once keepalives stop', async () => {
    const lease = nsA.lease(2);
    await lease.put('lease/expiring').value('x');
    assert.equal(await nsB.get('lease/expiring').string(), 'x');
    lease.release(); // stop keepalives; etcd expires the lease after its TTL
    const started = Date.now();
    await eventually(async () => (await nsB.get('lease/expiring').string()) === null, {
      timeoutMs: 6000,
      intervalMs: 100,
      message: 'key under a released 2 s lease to disappear',
    });
    assert.ok(Date.now() - started < 6000);
  });

  it('a key under a revoked lease disappears at once', async () => {
    const lease = nsA.lease(2);
    await lease.put('lease/revoked').value('x');
    assert.equal(await nsB.get('lease/revoked').string(), 'x');
    await lease.revoke();
    await eventually(async () => (await nsB.get('lease/revoked').string()) === null, {
      timeoutMs: 2000,
      message: 'key under a revoked lease to disappear',
    });
  });

  it('election: the second candidate leads after the first resigns', async () => {
    const electionA = nsA.election('leader', 2);
    const electionB = nsB.election('leader', 2);

    const first = electionA.campaign('candidate-1');
    const firstElected = first.wait(); // listen before anything is awaited
    await firstElected;
    assert.equal(await electionB.leader(), 'candidate-1');

    const second = electionB.campaign('candidate-2');
    let secondElected = false;
    const secondWait = second.wait().then(() => {
      secondElected = true;
    });
    await second.getCampaignKey(); // its bid is registered...
    assert.equal(await electionA.leader(), 'candidate-1'); // ...but the first still leads
    assert.equal(secondElected, false);

    await first.resign();
    await eventually(() => secondElected, { timeoutMs: 5000, message: 'second candidate elected' });
    await secondWait;
    assert.equal(await electionA.leader(), 'candidate-2');
    assert.equal(await electionB.leader(), 'candidate-2');

    await second.resign();
    await eventually(async () => (await electionA.leader()) === undefined, {
      timeoutMs: 2000,
      message: 'no leader after both resigned',
    });
  });
});
