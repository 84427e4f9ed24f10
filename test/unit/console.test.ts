/**
 * The console's server side without services: the hub turns WatchStatus changes and sampled
 * cluster info into state and events (a test double of the admin calls it makes, the same
 * HubAdmin interface the worker gives it), the `/ui` routes refuse what they must, the worker
 * setting `console.actions` is checked, and the hub's token is the least privileged one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { InvalidArgumentError } from '../../src/errors.js';
import type { ClusterInfo, ConnectorInfo, ConnectorStatus, StatusEvent, WorkerRecordCounters } from '../../src/admin/index.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { iterateUntil } from '../../src/util/iterate.js';
import { CallerAdmins, ConsoleHub, consoleRoutes, consoleToken, type HubAdmin, type HubUpdate, type WorkerAdmin } from '../../src/console/index.js';
import { RecordRates } from '../../src/console/rates.js';
import { compileWorkerSettings } from '../../src/cli/worker-options.js';
import { eventually } from '../support/eventually.js';

const logger = pino({ level: 'silent' });

function status(partitions: Array<[string, string, string, number, string?]>): ConnectorStatus {
  return {
    name: 'orders',
    state: 'RUNNING',
    kind: 'source',
    partitions: partitions.map(([partition, state, workerId, epoch, error]) => ({ partition, state: state as 'RUNNING', workerId, epoch, ...(error ? { error, trace: `Error: ${error}\n    at somewhere` } : {}) })),
  };
}

/** The admin calls of a hub, answered from fields the test sets. */
class FakeAdmin {
  cluster: ClusterInfo = { cluster: 'c', leaderId: 'w1', leaderAddress: 'a1', term: 1, epoch: 1, version: 'v', members: [{ id: 'w1', address: 'a1', version: 'v', leader: true, connected: true, partitions: [] }, { id: 'w2', address: 'a2', version: 'v', leader: false, connected: true, partitions: [] }] };
  infos: ConnectorInfo[] = [{ name: 'orders', config: { 'connector.class': 'verifiable-source', password: '********' }, targetState: 'RUNNING', kind: 'source', plugin: 'verifiable-source' }];
  readonly events = new AsyncQueue<StatusEvent>();
  /** Each member's record counters by address; a missing address fails as an unreachable worker would. */
  counters = new Map<string, WorkerRecordCounters>();
  readonly opened: string[] = [];
  readonly closed: string[] = [];

  workerAdmin(address: string): WorkerAdmin {
    this.opened.push(address);
    return {
      recordCounters: {
        get: async () => {
          const c = this.counters.get(address);
          if (!c) throw new Error(`${address} unreachable`);
          return structuredClone(c);
        },
      },
      close: () => void this.closed.push(address),
    } as WorkerAdmin;
  }

  admin(): HubAdmin {
    const events = this.events;
    return {
      cluster: { info: async () => this.cluster },
      connectors: { infos: async () => this.infos, topics: async () => ['orders-topic'] } as unknown as HubAdmin['connectors'],
      offsets: { get: async () => [{ partition: 'p0', offset: new Uint8Array(), text: '41' }] } as unknown as HubAdmin['offsets'],
      async *watchStatus(_name = '', options: { signal?: AbortSignal } = {}) {
        for await (const e of iterateUntil(events, options.signal ?? new AbortController().signal)) yield e;
      },
    } as HubAdmin;
  }
}

test('the hub turns status changes and cluster changes into state and events', async () => {
  const fake = new FakeAdmin();
  const hub = new ConsoleHub({ workerId: 'w2', admin: () => fake.admin(), workerAdmin: (a) => fake.workerAdmin(a), logger, sampleIntervalMs: 20, pushIntervalMs: 5 });
  const updates: HubUpdate[] = [];
  let ended = false;
  hub.subscribe((u, data) => {
    assert.deepEqual(JSON.parse(data), JSON.parse(JSON.stringify(u)));
    updates.push(u);
  }, () => (ended = true));
  hub.start();
  try {
    fake.events.push({ connector: 'orders', deleted: false, status: status([['p0', 'RUNNING', 'w1', 1], ['p1', 'RUNNING', 'w1', 1]]) });
    await eventually(() => updates.at(-1)?.state.connectors[0]?.partitions.length === 2 && updates.at(-1)!.state.updatedAt > 0);
    const c = updates.at(-1)!.state.connectors[0]!;
    assert.equal(c.config.password, '********');
    assert.deepEqual(c.topics, ['orders-topic']);
    assert.equal(c.partitions.find((p) => p.partition === 'p0')?.offset, '41');
    assert.equal(c.counts.running, 2);

    fake.events.push({ connector: 'orders', deleted: false, status: status([['p0', 'RUNNING', 'w2', 2], ['p1', 'FAILED', 'w1', 1, 'boom']]) });
    fake.events.push({ connector: 'orders', deleted: false, status: status([['p0', 'RUNNING', 'w2', 3], ['p1', 'FAILED', 'w1', 1, 'boom']]) });
    fake.cluster = { ...fake.cluster, leaderId: 'w2', term: 2, members: [{ id: 'w2', address: 'a2', version: 'v', leader: true, connected: true, partitions: [] }] };
    const all = () => updates.flatMap((u) => u.events);
    await eventually(() => all().some((e) => e.kind === 'leader-changed') && all().some((e) => e.kind === 'partition-restarted'));
    const messages = all().map((e) => `${e.kind}: ${e.message}`);
    assert.ok(messages.includes('partition-moved: orders/p0 moved from w1 to w2'), messages.join('\n'));
    assert.ok(messages.includes('partition-failed: orders/p1 failed on w1: boom'), messages.join('\n'));
    assert.ok(messages.includes('partition-restarted: orders/p0 restarted on w2 (epoch 3)'), messages.join('\n'));
    assert.ok(messages.includes('leader-changed: leader changed: w1 → w2 (term 2)'), messages.join('\n'));
    assert.ok(messages.includes('worker-left: worker w1 left the cluster'), messages.join('\n'));
    const failed = updates.at(-1)!.state.connectors[0]!.partitions.find((p) => p.partition === 'p1')!;
    assert.match(failed.trace ?? '', /at somewhere/);

    // A late subscriber gets the current state and every kept event at once.
    let first: HubUpdate | undefined;
    const unsubscribe = hub.subscribe((u) => (first ??= u), () => {});
    assert.equal(first?.reset, true);
    assert.deepEqual(first!.events.map((e) => e.kind), all().map((e) => e.kind));
    unsubscribe();

    const second: ConnectorInfo = { name: 'billing', config: {}, targetState: 'RUNNING', kind: 'sink', plugin: 'verifiable-sink' };
    fake.infos = [...fake.infos, second];
    await eventually(() => all().some((e) => e.kind === 'connector-created' && e.connector === 'billing'));
    assert.equal(all().filter((e) => e.kind === 'connector-created').length, 1, 'the connector there at start is the baseline, not news');

    fake.infos = [];
    fake.events.push({ connector: 'orders', deleted: true });
    await eventually(() => updates.at(-1)?.state.connectors.length === 0);
    assert.ok(all().some((e) => e.kind === 'connector-deleted'));
  } finally {
    await hub.stop();
  }
  assert.equal(ended, true, 'stop() ends every subscription');
  assert.equal(hub.subscribers, 0);
});

test('the /ui API refuses actions when read-only, without the console header, and says so', async () => {
  const fake = new FakeAdmin();
  const hub = new ConsoleHub({ workerId: 'w1', admin: () => fake.admin(), workerAdmin: (a) => fake.workerAdmin(a), logger });
  const callers = new CallerAdmins(() => '127.0.0.1:1');
  const app = Fastify();
  await app.register(consoleRoutes({ hub, workerId: 'w1', callers, actionsEnabled: false, assetsDir: join(tmpdir(), 'no-such-console-build') }), { prefix: '/ui' });
  try {
    const session = await app.inject({ method: 'GET', url: '/ui/api/session' });
    assert.deepEqual(session.json(), { workerId: 'w1', authRequired: false, roles: [], actionsEnabled: false, canAct: false });
    const noHeader = await app.inject({ method: 'POST', url: '/ui/api/connectors/orders/actions', payload: { action: 'pause' } });
    assert.equal(noHeader.statusCode, 400);
    assert.match(noHeader.json().message, /x-tributary-console/);
    const readOnly = await app.inject({ method: 'POST', url: '/ui/api/connectors/orders/actions', headers: { 'x-tributary-console': '1' }, payload: { action: 'pause' } });
    assert.equal(readOnly.statusCode, 403);
    assert.match(readOnly.json().message, /console\.actions=true/);
    const notBuilt = await app.inject({ method: 'GET', url: '/ui/' });
    assert.equal(notBuilt.statusCode, 503);
    assert.match(notBuilt.body, /npm run build/);
  } finally {
    await app.close();
    callers.close();
    await hub.stop();
  }
});

test('the /ui routes serve the built front end and nothing outside it', async () => {
  const assets = mkdtempSync(join(tmpdir(), 'console-assets-'));
  const fake = new FakeAdmin();
  const hub = new ConsoleHub({ workerId: 'w1', admin: () => fake.admin(), workerAdmin: (a) => fake.workerAdmin(a), logger });
  const callers = new CallerAdmins(() => '127.0.0.1:1');
  const app = Fastify();
  try {
    mkdirSync(join(assets, 'assets'));
    writeFileSync(join(assets, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(assets, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(assets, 'assets', '.secret'), 'no');
    await app.register(consoleRoutes({ hub, workerId: 'w1', callers, actionsEnabled: false, assetsDir: assets }), { prefix: '/ui' });
    for (const url of ['/ui', '/ui/']) {
      const page = await app.inject({ method: 'GET', url });
      assert.equal(page.statusCode, 200, url);
      assert.match(page.headers['content-type'] as string, /text\/html/);
      assert.match(page.body, /<title>console/);
    }
    const js = await app.inject({ method: 'GET', url: '/ui/assets/index-abc.js' });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers['cache-control'] as string, /immutable/);
    for (const url of ['/ui/assets/missing.js', '/ui/assets/.secret', '/ui/assets/..%2F..%2Fetc%2Fpasswd', '/ui/assets/../index.html']) {
      assert.notEqual((await app.inject({ method: 'GET', url })).statusCode, 200, url);
    }
  } finally {
    await app.close();
    callers.close();
    await hub.stop();
    rmSync(assets, { recursive: true, force: true });
  }
});

test('console.actions must be true or false, and defaults to read-only', () => {
  assert.equal(compileWorkerSettings({ kafka: 'localhost:9092' }, {}).consoleActions, false);
  assert.equal(compileWorkerSettings({ kafka: 'localhost:9092' }, { TRIBUTARY_CONSOLE_ACTIONS: 'true' }).consoleActions, true);
  assert.throws(
    () => compileWorkerSettings({ kafka: 'localhost:9092', consoleActions: 'yes' }, {}),
    (err: unknown) => err instanceof InvalidArgumentError && err.problems.some((p) => p.key === 'console.actions'),
  );
});

test('the hub reads with the least privileged token of the token file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'console-tokens-'));
  try {
    const file = join(dir, 'tokens.json');
    writeFileSync(file, JSON.stringify({ tokens: [{ token: 'a'.repeat(16), principal: 'ada', roles: ['admin'] }, { token: 'v'.repeat(16), principal: 'vic', roles: ['viewer'] }, { token: 'o'.repeat(16), principal: 'olga', roles: ['operator', 'viewer'] }] }));
    assert.equal(consoleToken(file), 'v'.repeat(16));
    // A principal limited to some connectors would hide the others from every browser: it is passed over.
    writeFileSync(file, JSON.stringify({ tokens: [{ token: 't'.repeat(16), principal: 'team', roles: ['viewer:team-a-*'] }, { token: 'o'.repeat(16), principal: 'olga', roles: ['operator'] }] }));
    assert.equal(consoleToken(file), 'o'.repeat(16));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('records/s sums the growth of every worker\'s counters, counts a restarted worker from its start, and skips a worker it cannot read', () => {
  const since = 1_000_000;
  const rates = new RecordRates(since);
  const members = new Set(['w1', 'w2', 'w3']);
  const reading = (workerId: string, startedAtMs: number, at: number, produced: number, written = 0) => ({
    at,
    counters: { workerId, startedAtMs, connectors: [{ connector: 'orders', sourceRecordsProduced: produced, sinkRecordsWritten: 0 }, { connector: 'billing', sourceRecordsProduced: 0, sinkRecordsWritten: written }] },
  });
  // Workers running since before the console: their first reading is a baseline, no rate yet.
  const first = rates.update([reading('w1', since - 50_000, since + 1_000, 5_000, 100), reading('w2', since - 60_000, since + 1_000, 7_000)], members);
  assert.equal(first.measured, false);
  assert.equal(first.rates.size, 0);
  // 2 s later: w1 +400 orders, +60 billing; w2 +200 orders; w3 started 1 s ago (after the console) with 50.
  const second = rates.update([reading('w1', since - 50_000, since + 3_000, 5_400, 160), reading('w2', since - 60_000, since + 3_000, 7_200), reading('w3', since + 2_000, since + 3_000, 50)], members);
  assert.equal(second.measured, true);
  assert.equal(second.rates.get('orders'), 200 + 100 + 50);
  assert.equal(second.rates.get('billing'), 30);
  // w2 restarted (new startedAtMs) 1 s before this reading with 10 records; w3 is not read this round.
  const third = rates.update([reading('w1', since - 50_000, since + 5_000, 5_400, 160), reading('w2', since + 4_000, since + 5_000, 10)], members);
  assert.equal(third.rates.get('orders'), 10, 'w1 did not grow; w2 counts from its restart; w3 is left out');
  // w3 answers again: measured over the 4 s since its last reading.
  const fourth = rates.update([reading('w3', since + 2_000, since + 7_000, 450)], members);
  assert.equal(fourth.rates.get('orders'), 100);
  // w1 left the cluster and came back with the same start: its old reading was forgotten, so it is a baseline again.
  rates.update([], new Set(['w2', 'w3']));
  const back = rates.update([reading('w1', since - 50_000, since + 9_000, 9_000)], members);
  assert.equal(back.measured, false);
});

test('the hub shows each connector\'s records/s and its sparkline from the workers\' counters', async () => {
  const fake = new FakeAdmin();
  const started = Date.now();
  const counters = (workerId: string, produced: number): WorkerRecordCounters => ({ workerId, startedAtMs: started + 1, connectors: [{ connector: 'orders', sourceRecordsProduced: produced, sinkRecordsWritten: 0 }] });
  fake.counters.set('a1', counters('w1', 0));
  fake.counters.set('a2', counters('w2', 0));
  const hub = new ConsoleHub({ workerId: 'w1', admin: () => fake.admin(), workerAdmin: (a) => fake.workerAdmin(a), logger, sampleIntervalMs: 20, pushIntervalMs: 5 });
  let last: HubUpdate | undefined;
  hub.subscribe((u) => (last = u), () => {});
  hub.start();
  try {
    // Both workers' counters grow on every read: the rate is positive and the sparkline fills.
    let n = 0;
    const grow = setInterval(() => {
      n += 1;
      fake.counters.set('a1', counters('w1', n * 30));
      fake.counters.set('a2', counters('w2', n * 10));
    }, 10);
    try {
      await eventually(() => (last?.state.connectors[0]?.history.length ?? 0) >= 3 && (last!.state.connectors[0]!.recordsPerSecond ?? 0) > 0, { timeoutMs: 10_000, message: 'a rate and a sparkline' });
    } finally {
      clearInterval(grow);
    }
    // Counters stop growing: the rate falls to zero (not to "unknown").
    await eventually(() => last?.state.connectors[0]?.recordsPerSecond === 0, { timeoutMs: 10_000, message: 'rate 0 once nothing moves' });
    assert.deepEqual([...new Set(fake.opened)].sort(), ['a1', 'a2'], 'one client per member address');
    assert.equal(fake.opened.length, 2, 'clients are kept between samples');
    // w2 leaves: its client is closed.
    fake.cluster = { ...fake.cluster, members: fake.cluster.members.filter((m) => m.id !== 'w2') };
    await eventually(() => fake.closed.includes('a2'), { timeoutMs: 10_000, message: 'the client of a member that left is closed' });
  } finally {
    await hub.stop();
  }
  assert.ok(fake.closed.includes('a1'), 'stop() closes the clients to the workers');
});
