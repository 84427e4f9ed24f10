/**
 * JSON (de)serialisation of the coordinator's records as stored in etcd: bigints (epochs) as
 * decimal strings so they survive JSON exactly, offset bytes as base64. Decoding validates the
 * shape, so a hand-edited or foreign value fails with the key that holds it instead of surfacing
 * later as an `undefined` deep in the leader.
 */
import type { AssignmentRecord, ConnectorRecord, PartitionRecord, StatusRecord, TargetState, WorkerInfo } from '../backend.js';
import type { CommittedOffset } from '../offset-store.js';
import { InternalError } from '../../errors.js';

type Json = Record<string, unknown>;

class ShapeError extends Error {}

function obj(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ShapeError(`${what} is not an object`);
  return value as Json;
}

function str(o: Json, field: string): string {
  const v = o[field];
  if (typeof v !== 'string') throw new ShapeError(`"${field}" is not a string`);
  return v;
}

function optStr(o: Json, field: string): string | undefined {
  return o[field] === undefined || o[field] === null ? undefined : str(o, field);
}

function num(o: Json, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ShapeError(`"${field}" is not a number`);
  return v;
}

function big(o: Json, field: string): bigint {
  return parseDecimal(str(o, field), `"${field}"`);
}

function parseDecimal(text: string, what: string): bigint {
  if (!/^\d+$/.test(text)) throw new ShapeError(`${what} is not a non-negative decimal integer`);
  return BigInt(text);
}

function strMap(o: Json, field: string): Record<string, string> {
  const m = obj(o[field] ?? {}, `"${field}"`);
  for (const [k, v] of Object.entries(m)) if (typeof v !== 'string') throw new ShapeError(`"${field}.${k}" is not a string`);
  return m as Record<string, string>;
}

function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(`${what} is not an array`);
  return value;
}

/** Parses `text` and applies `read`, naming `key` and `what` on failure. */
function decode<T>(key: string, what: string, text: string, read: (value: unknown) => T): T {
  try {
    return read(JSON.parse(text));
  } catch (err) {
    const detail = err instanceof SyntaxError ? `not JSON (${err.message})` : (err as Error).message;
    throw new InternalError(`etcd key ${key} holds an invalid ${what}: ${detail}; fix or delete it (etcdctl) and retry`, { cause: err });
  }
}

const TARGET_STATES: readonly TargetState[] = ['RUNNING', 'PAUSED', 'STOPPED'];

export function encodeWorker(w: WorkerInfo): string {
  return JSON.stringify({ id: w.id, address: w.address, capacity: w.capacity, version: w.version });
}

function readWorker(value: unknown): WorkerInfo {
  const o = obj(value, 'value');
  return { id: str(o, 'id'), address: str(o, 'address'), capacity: num(o, 'capacity'), version: str(o, 'version') };
}

export function decodeWorker(key: string, text: string): WorkerInfo {
  return decode(key, 'worker record', text, readWorker);
}

export function encodeConnector(c: ConnectorRecord): string {
  return JSON.stringify({ name: c.name, config: c.config, targetState: c.targetState });
}

export function decodeConnector(key: string, text: string): ConnectorRecord {
  return decode(key, 'connector record', text, (value) => {
    const o = obj(value, 'value');
    const targetState = str(o, 'targetState') as TargetState;
    if (!TARGET_STATES.includes(targetState)) throw new ShapeError(`"targetState" is not one of ${TARGET_STATES.join(', ')}`);
    return { name: str(o, 'name'), config: strMap(o, 'config'), targetState };
  });
}

function partitionJson(p: PartitionRecord): Json {
  const out: Json = { id: p.id, attributes: p.attributes };
  if (p.topic !== undefined) out.topic = p.topic;
  if (p.kafkaPartition !== undefined) out.kafkaPartition = p.kafkaPartition;
  return out;
}

function readPartition(value: unknown): PartitionRecord {
  const o = obj(value, 'partition');
  const p: PartitionRecord = { id: str(o, 'id'), attributes: strMap(o, 'attributes') };
  const topic = optStr(o, 'topic');
  if (topic !== undefined) p.topic = topic;
  if (o.kafkaPartition !== undefined && o.kafkaPartition !== null) p.kafkaPartition = num(o, 'kafkaPartition');
  return p;
}

export function encodePartitions(partitions: PartitionRecord[]): string {
  return JSON.stringify(partitions.map(partitionJson));
}

export function decodePartitions(key: string, text: string): PartitionRecord[] {
  return decode(key, 'partition list', text, (value) => arr(value, 'value').map(readPartition));
}

function assignmentJson(a: AssignmentRecord): Json {
  return { connector: a.connector, partition: partitionJson(a.partition), workerId: a.workerId, epoch: a.epoch.toString() };
}

function readAssignment(item: unknown): AssignmentRecord {
  const o = obj(item, 'assignment');
  return { connector: str(o, 'connector'), partition: readPartition(o.partition), workerId: str(o, 'workerId'), epoch: big(o, 'epoch') };
}

/** The old layout's list of one worker's assignments (kept so tests can write that layout). */
export function encodeAssignments(assignments: AssignmentRecord[]): string {
  return JSON.stringify(assignments.map(assignmentJson));
}

export function decodeAssignments(key: string, text: string): AssignmentRecord[] {
  return decode(key, 'assignment list', text, (value) => arr(value, 'value').map(readAssignment));
}

/** One partition's assignment (owners/<connector>/<partition>). */
export function encodeAssignment(a: AssignmentRecord): string {
  return JSON.stringify(assignmentJson(a));
}

export function decodeAssignment(key: string, text: string): AssignmentRecord {
  return decode(key, 'assignment', text, readAssignment);
}

export function encodeOffset(offset: CommittedOffset): string {
  return JSON.stringify({ offset: Buffer.from(offset.offset.buffer, offset.offset.byteOffset, offset.offset.byteLength).toString('base64'), epoch: offset.epoch.toString() });
}

export function decodeOffset(key: string, text: string): CommittedOffset {
  return decode(key, 'committed offset', text, (value) => {
    const o = obj(value, 'value');
    const b64 = str(o, 'offset');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new ShapeError('"offset" is not base64');
    return { offset: new Uint8Array(Buffer.from(b64, 'base64')), epoch: big(o, 'epoch') };
  });
}

export function encodeStatus(s: StatusRecord): string {
  const out: Json = { connector: s.connector, partition: s.partition, workerId: s.workerId, state: s.state, epoch: s.epoch.toString(), updatedAt: s.updatedAt };
  if (s.error !== undefined) out.error = s.error;
  if (s.trace !== undefined) out.trace = s.trace;
  return JSON.stringify(out);
}

export function decodeStatus(key: string, text: string): StatusRecord {
  return decode(key, 'status record', text, (value) => {
    const o = obj(value, 'value');
    const s: StatusRecord = {
      connector: str(o, 'connector'),
      partition: str(o, 'partition'),
      workerId: str(o, 'workerId'),
      state: str(o, 'state'),
      epoch: big(o, 'epoch'),
      updatedAt: num(o, 'updatedAt'),
    };
    const error = optStr(o, 'error');
    const trace = optStr(o, 'trace');
    if (error !== undefined) s.error = error;
    if (trace !== undefined) s.trace = trace;
    return s;
  });
}

/** The epoch is stored as bare decimal text (readable with etcdctl). */
export function encodeEpoch(epoch: bigint): string {
  if (epoch < 0n) throw new InternalError(`assignment epoch must not be negative (got ${epoch})`);
  return epoch.toString();
}

export function decodeEpoch(key: string, text: string): bigint {
  try {
    return parseDecimal(text.trim(), 'value');
  } catch (err) {
    throw new InternalError(`etcd key ${key} holds an invalid epoch: ${(err as Error).message}; fix or delete it (etcdctl) and retry`, { cause: err });
  }
}
