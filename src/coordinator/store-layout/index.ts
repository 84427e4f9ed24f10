/**
 * How cluster state is stored, shared by both coordinator backends: the key layout (keys.ts),
 * the JSON codec of each record (codec.ts), and the mapping between a batch of state writes or
 * a snapshot and key/value operations (state.ts). The etcd backend applies those operations in
 * etcd transactions; the memory backend applies the same ones to a map, so a batch means the
 * same thing in both.
 */
export { ClusterKeys } from './keys.js';
export { decodeWorker, encodeWorker } from './codec.js';
export { expandPrefixDeletes, planWrites, snapshotFromKvs, type KeyOp } from './state.js';
