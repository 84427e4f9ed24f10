/**
 * Hole 1 of issue 25: the self-fence clock trusts only live answers of a leader and fresh reads
 * of the election. A worker F is cut off from the coordinator (its election reads fail, its
 * leader watch is frozen) and so never learns of the new leader, while it still reaches the old
 * leader's address — a process that now answers "not the leader". F must fence itself on its
 * own clock and produce nothing for a partition after that partition started elsewhere.
 *
 * Three WorkerNodes in this process share one memory coordinator (each through its own view);
 * Kafka is the real broker. F's producer is wrapped to record every record it sends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend, type CoordinatorBackend, type Leadership, type WorkerInfo } from '../../src/coordinator/index.js';
import { registerBuiltinConnectors } from '../../src/connectors/index.js';
import { parseVerifiableValue } from '../../src/connectors/verifiable-source/index.js';
import { UnavailableError } from '../../src/errors.js';
import { createProducer } from '../../src/kafka/index.js';
import { withSend } from '../support/kafka.js';
import { PluginHost } from '../../src/plugins/index.js';
import { WorkerNode } from '../../src/worker/index.js';
import { eventually } from '../support/eventually.js';
import { quietLogger, uniqueName } from '../support/data-plane.js';
import { services } from '../support/services.js';

const SESSION_TIMEOUT = 3_000;
const HEARTBEAT = 500;

interface View {
  backend: CoordinatorBackend;
  leaderships: Leadership[];
  cut: boolean;
}

/** One shared backend through one node's eyes; `cut` makes reads fail and freezes the watch. */
function view(shared: CoordinatorBackend, opts: { campaigns: boolean; rewrite?: (l: WorkerInfo) => WorkerInfo }): View {
  const rewrite = opts.rewrite ?? ((l: WorkerInfo) => l);
  const v: View = {
    leaderships: [],
    cut: false,
    backend: {
      kind: shared.kind,
      start: () => shared.start(),
      stop: async () => {},
      campaign: async (self, signal) => {
        if (!opts.campaigns) return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
        const l = await shared.campaign(self, signal);
        if (l) v.leaderships.push(l);
        return l;
      },
      leader: async () => {
        if (v.cut) throw new UnavailableError('test: cut off from the coordinator');
        const l = await shared.leader();
        return l && rewrite(l);
      },
      watchLeader: (listener) => shared.watchLeader((l) => (v.cut ? undefined : listener(l && rewrite(l)))),
      register: (self) => shared.register(self),
      members: () => shared.members(),
      watchMembers: (listener) => shared.watchMembers(listener),
      snapshot: () => shared.snapshot(),
    },
  };
  return v;
}

let shared: MemoryBackend;
let a: WorkerNode;
let c: WorkerNode;
let f: WorkerNode;
let aView: View;
let fView: View;
/** What F handed to Kafka: stream partition, seq, when. */
const fSent: Array<{ partition: string; seq: number; at: number }> = [];

before(async () => {
  const { kafkaBootstrap } = await services();
  shared = new MemoryBackend({ logger: quietLogger });
  await shared.start();
  const plugins = () => {
    const host = new PluginHost({ logger: quietLogger });
    registerBuiltinConnectors(host);
    return host;
  };
  const brokers = kafkaBootstrap.split(',');
  const common = { sessionTimeoutMs: SESSION_TIMEOUT, heartbeatIntervalMs: HEARTBEAT, offsetFlushIntervalMs: 200, logger: quietLogger, listen: '127.0.0.1:0' };
  aView = view(shared, { campaigns: true });
  a = new WorkerNode({ ...common, id: 'a', kafka: { brokers }, backend: aView.backend, plugins: plugins() });
  await a.start();
  await eventually(() => a.leader !== undefined, { message: 'a leads' });
  c = new WorkerNode({ ...common, id: 'c', kafka: { brokers }, backend: view(shared, { campaigns: true }).backend, plugins: plugins() });
  await c.start();
  // F can never reach c (were it to learn of it): its address is a closed port.
  fView = view(shared, { campaigns: false, rewrite: (l) => (l.id === 'c' ? { ...l, address: '127.0.0.1:1' } : l) });
  f = new WorkerNode({
    ...common,
    id: 'f',
    kafka: {
      brokers,
      createProducer: (conn, options) => {
        const real = createProducer(conn, options);
        return withSend(real, (records, options) => {
          const at = Date.now();
          for (const r of records) {
            const v = r.value && parseVerifiableValue(r.value);
            if (v) fSent.push({ partition: v.partition, seq: v.seq, at });
          }
          return real.send(records, options);
        });
      },
    },
    backend: fView.backend,
    plugins: plugins(),
  });
  await f.start();
});

after(async () => {
  await f.stop(5_000);
  await c.stop(5_000);
  await a.stop(5_000);
  await shared.stop();
});

test('a worker cut off from the coordinator and the new leader, still reaching the old leader\'s address, fences itself: nothing produced after its partitions start elsewhere', async () => {
  const name = 'evidence';
  const topic = uniqueName('evidence');
  await a.leader!.putConnector({ name, config: { 'connector.class': 'verifiable-source', topic, partitions: '6', 'records.per.second': '200', 'topic.creation.default.partitions': '1' }, targetState: 'RUNNING' });
  await eventually(() => f.membership!.partitions().length === 2 && a.membership!.partitions().length === 2 && c.membership!.partitions().length === 2, { timeoutMs: 20_000, message: 'two partitions on each worker' });
  const fHad = new Set(f.membership!.partitions().map((p) => p.partition));
  await eventually(() => [...fHad].every((p) => fSent.some((s) => s.partition === p)), { message: 'F produces its partitions' });

  // F loses the coordinator; then a loses its leadership (c is next) but keeps answering at its address.
  fView.cut = true;
  const cutAt = Date.now();
  await aView.leaderships.at(-1)!.resign();
  await eventually(() => c.leader !== undefined, { message: 'c leads' });

  const movedAt = new Map<string, number>();
  let fencedAt: number | undefined;
  await eventually(() => {
    const now = Date.now();
    if (fencedAt === undefined && f.membership!.partitions().length === 0) fencedAt = now;
    for (const o of c.leader?.ownersOf(name) ?? []) if (fHad.has(o.partition.id) && o.workerId !== 'f' && !movedAt.has(o.partition.id)) movedAt.set(o.partition.id, now);
    return movedAt.size === fHad.size;
  }, { timeoutMs: 20_000, intervalMs: 10, message: 'F\'s partitions assigned to live workers by the new leader' });
  // Give a still-running F every chance to show itself.
  await eventually(() => [...fHad].every((p) => c.leader!.statusOf(name, p)?.state === 'RUNNING'), { timeoutMs: 20_000, message: 'moved partitions running on their new owners' });
  const lastMove = Math.max(...movedAt.values());
  await eventually(() => Date.now() > lastMove + 1_000, { intervalMs: 100 });

  const late = fSent.filter((s) => movedAt.has(s.partition) && s.at >= movedAt.get(s.partition)!);
  console.log(`# cut-off worker: fenced after ${fencedAt === undefined ? 'never' : `${fencedAt - cutAt} ms`}; partitions reassigned after ${lastMove - cutAt} ms; records it sent after the move: ${late.length}`);
  assert.equal(late.length, 0, `F produced ${late.length} records of moved partitions after they started elsewhere (seqs ${late.slice(0, 5).map((s) => `${s.partition}:${s.seq}`).join(', ')})`);
  assert.ok(fencedAt !== undefined && fencedAt < Math.min(...movedAt.values()), 'F stopped its tasks before any of them moved');
});
