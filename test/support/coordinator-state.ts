/**
 * Shared fixtures of the coordinator backend tests (etcd and memory): one batch with every kind
 * of StateWrite and the snapshot it must read back as, and an order-insensitive view for
 * comparing snapshots.
 */
import type { ClusterSnapshot, StateWrite, WorkerInfo } from '../../src/coordinator/backend.js';

export const worker = (id: string): WorkerInfo => ({ id, address: `127.0.0.1:${7000 + id.length}`, capacity: 1, version: '0.1.0' });

/** One batch with every kind of StateWrite, and the snapshot it must produce. */
export function everyKindOfWrite(): { writes: StateWrite[]; expected: ClusterSnapshot } {
  const p0 = { id: 'p0', attributes: { file: '/data/a.csv' } };
  const p1 = { id: 'topic/1', attributes: {}, topic: 'orders', kafkaPartition: 1 };
  const bigEpoch = 2n ** 63n + 12345n; // beyond Number precision and int64
  const offset = new Uint8Array([0, 1, 2, 250, 255, 0]);
  const status = { connector: 'orders', partition: 'p0', workerId: 'w1', state: 'RUNNING', epoch: bigEpoch, updatedAt: 1_700_000_000_123 };
  const failed = { connector: 'orders', partition: 'topic/1', workerId: 'w2', state: 'FAILED', error: 'boom', trace: 'Error: boom\n  at x', epoch: 3n, updatedAt: 5 };
  const writes: StateWrite[] = [
    { type: 'putConnector', record: { name: 'orders', config: { 'connector.class': 'file', 'file.path': '/data' }, targetState: 'PAUSED' } },
    { type: 'putPartitions', connector: 'orders', partitions: [p0, p1] },
    { type: 'putAssignment', assignment: { connector: 'orders', partition: p0, workerId: 'w1', epoch: bigEpoch } },
    { type: 'putAssignment', assignment: { connector: 'orders', partition: p1, workerId: 'w2', epoch: 3n } },
    { type: 'putAssignment', assignment: { connector: 'orders', partition: { id: 'gone', attributes: {} }, workerId: 'w3', epoch: 4n } },
    { type: 'deleteAssignment', connector: 'orders', partition: 'gone' },
    { type: 'deleteLegacyAssignments', workerId: 'w3' },
    { type: 'commitOffset', connector: 'orders', partition: 'p0', offset: { offset, epoch: bigEpoch } },
    { type: 'commitOffset', connector: 'orders', partition: 'topic/1', offset: { offset: new Uint8Array([9]), epoch: 3n } },
    { type: 'commitOffset', connector: 'orders', partition: 'gone', offset: { offset: new Uint8Array([1]), epoch: 1n } },
    { type: 'deleteOffset', connector: 'orders', partition: 'gone' },
    { type: 'putStatus', status },
    { type: 'putStatus', status: failed },
    { type: 'putStatus', status: { ...status, partition: 'gone' } },
    { type: 'deleteStatus', connector: 'orders', partition: 'gone' },
    { type: 'putEpoch', epoch: bigEpoch },
  ];
  const expected: ClusterSnapshot = {
    connectors: [{ name: 'orders', config: { 'connector.class': 'file', 'file.path': '/data' }, targetState: 'PAUSED' }],
    partitions: new Map([['orders', [p0, p1]]]),
    assignments: [
      { connector: 'orders', partition: p0, workerId: 'w1', epoch: bigEpoch },
      { connector: 'orders', partition: p1, workerId: 'w2', epoch: 3n },
    ],
    offsets: new Map([['orders', new Map([['p0', { offset, epoch: bigEpoch }], ['topic/1', { offset: new Uint8Array([9]), epoch: 3n }]])]]),
    statuses: [status, failed],
    epoch: bigEpoch,
  };
  return { writes, expected };
}

/** Order-insensitive view of a snapshot for deepEqual. */
export function normalise(s: ClusterSnapshot) {
  const byKey = <T>(items: T[], key: (t: T) => string) => [...items].sort((a, b) => key(a).localeCompare(key(b)));
  return {
    connectors: byKey(s.connectors, (c) => c.name),
    partitions: [...s.partitions].sort(([a], [b]) => a.localeCompare(b)),
    assignments: byKey(s.assignments, (a) => `${a.workerId}/${a.connector}/${a.partition.id}`),
    offsets: [...s.offsets]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([c, m]) => [c, [...m].sort(([a], [b]) => a.localeCompare(b)).map(([p, o]) => [p, Buffer.from(o.offset).toString('hex'), o.epoch])]),
    statuses: byKey(s.statuses, (x) => `${x.connector}/${x.partition}`),
    epoch: s.epoch,
  };
}
