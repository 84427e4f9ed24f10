/**
 * The TypeScript plugin SDK: `sourcePlugin` and `sinkPlugin` turn a small definition (open a
 * reader or writer, poll, write, flush) into a full `ConnectorPluginImplementation` that keeps
 * the connector protocol's rules (docs/connector-protocol.md), so plugin authors do not have to:
 *
 * - a source never sends more records than the credits it was granted, never polls for 0
 *   records, sends records as soon as a poll returns them, and after `drain` sends the records
 *   of the poll in progress, then `drained`, then nothing;
 * - a sink answers `flush` with `durable` through the Kafka offset of the last record received,
 *   only after the writer's `flush()` resolved.
 *
 * The result can be served in-process (in-process.ts), as a child process (serve.ts) or behind
 * any gRPC server (`addService`).
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { FailedPreconditionError, InternalError, InvalidArgumentError, type ConfigProblem } from '../errors.js';
import {
  ConnectorKind,
  type Connector,
  type ConfigKey,
  type ConfigKeySchema,
  type ReadRequest,
  type ReadResponseSchema,
  type Record as PluginRecord,
  type RecordSchema,
  type StreamPartition,
  type StreamPartitionSchema,
  type WatchPartitionsResponseSchema,
  type WriteRequest,
  type WriteResponseSchema,
} from '../gen/tributary/connector/v1/connector_pb.js';
import type { CallContext } from '../grpc/index.js';
import { applyDefaults, validateConfig } from './config-spec.js';
import type { ConnectorPluginImplementation } from './types.js';

/** A record as a source returns it (plain object; `offset` is required by the protocol). */
export type RecordInit = MessageInitShape<typeof RecordSchema>;
/** A config key as a plugin declares it. */
export type ConfigKeyInit = MessageInitShape<typeof ConfigKeySchema>;
/** One message of WatchPartitions. */
export type WatchPartitionsInit = MessageInitShape<typeof WatchPartitionsResponseSchema>;
/** A stream partition as a plugin declares it. */
export type StreamPartitionInit = MessageInitShape<typeof StreamPartitionSchema>;

/** The connector a call is about, with the spec's defaults applied to its config. */
export interface ConnectorInfo {
  name: string;
  config: Record<string, string>;
}

/** Reads one stream partition of a source. */
export interface SourceReader {
  /**
   * Returns the next records, at most `max` (max ≥ 1), in offset order. Return as soon as there
   * are records (never wait to fill `max`); wait while there are none. When `signal` aborts
   * (drain, or the stream went away) return promptly with the records already taken from
   * upstream (possibly none) — the SDK still sends them on drain; throwing after an abort counts
   * as returning none.
   */
  poll(max: number, signal: AbortSignal): Promise<RecordInit[]>;
  /**
   * Every record up to and including `offset` is stored in Kafka; `records` counts all records
   * acknowledged on this stream so far. Queue-like sources ack upstream here.
   */
  ack?(offset: Uint8Array, records: bigint): void | Promise<void>;
  /** The stream ended; release resources. Called exactly once. */
  close?(): void | Promise<void>;
}

/** Writes one stream partition (a Kafka topic-partition) of a sink. */
export interface SinkWriter {
  /** Set by sinks that store Kafka offsets with their data: the offset of the last record held. */
  resumeAfterOffset?: bigint;
  /** Takes records in Kafka offset order; they need not be durable yet. */
  write(records: PluginRecord[]): void | Promise<void>;
  /** Makes every record written so far durable. */
  flush(): void | Promise<void>;
  /** The stream ended; release resources. Called exactly once. */
  close?(): void | Promise<void>;
}

interface CommonDefinition {
  name: string;
  version: string;
  summary?: string;
  configKeys: ConfigKeyInit[];
  /** Extra checks, run only when the spec checks pass (config has its defaults applied). */
  validate?(config: Record<string, string>): ConfigProblem[] | Promise<ConfigProblem[]>;
  onCreated?(connector: ConnectorInfo): void | Promise<void>;
  onUpdated?(connector: ConnectorInfo, previousConfig: Record<string, string>): void | Promise<void>;
  onDeleted?(connector: ConnectorInfo): void | Promise<void>;
}

export interface SourcePluginDefinition extends CommonDefinition {
  /** The connector's partitions: a snapshot first, then changes; end when `signal` aborts. */
  watchPartitions(connector: ConnectorInfo, signal: AbortSignal): AsyncIterable<WatchPartitionsInit>;
  /** Opens one partition to read the records AFTER `offset` (absent: from the beginning). */
  open(connector: ConnectorInfo, partition: StreamPartition, offset: Uint8Array | undefined, signal: AbortSignal): SourceReader | Promise<SourceReader>;
}

export interface SinkPluginDefinition extends CommonDefinition {
  /** Opens one partition; `committedOffset` is the Kafka offset of the last committed record. */
  open(connector: ConnectorInfo, partition: StreamPartition, committedOffset: bigint | undefined, signal: AbortSignal): SinkWriter | Promise<SinkWriter>;
}

/** WatchPartitions for a fixed set: one snapshot, then nothing until the call ends. */
export async function* staticPartitions(partitions: Iterable<string | StreamPartitionInit>, signal?: AbortSignal): AsyncGenerator<WatchPartitionsInit> {
  const added = [...partitions].map((p) => (typeof p === 'string' ? { id: p } : p));
  yield { snapshot: true, added };
  await abortion(signal);
}

function abortion(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise<void>(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function specOf(keys: readonly ConfigKeyInit[]) {
  return keys.map((k) => ({ ...k, name: k.name ?? '' }));
}

function connectorInfo(keys: readonly ConfigKeyInit[], connector: Connector | undefined): ConnectorInfo {
  return { name: connector?.name ?? '', config: applyDefaults(specOf(keys), connector?.config ?? {}) };
}

function commonHandlers(def: CommonDefinition, kind: ConnectorKind) {
  const spec = specOf(def.configKeys);
  return {
    async describe() {
      return { name: def.name, version: def.version, kind, configKeys: def.configKeys, summary: def.summary ?? '' };
    },
    async validate(request: { connector?: Connector }) {
      const config = request.connector?.config ?? {};
      const problems = validateConfig(spec, config);
      if (problems.length === 0 && def.validate) problems.push(...(await def.validate(applyDefaults(spec, config))));
      return { errors: problems };
    },
    async connectorCreated(request: { connector?: Connector }) {
      await def.onCreated?.(connectorInfo(def.configKeys, request.connector));
      return {};
    },
    async connectorUpdated(request: { connector?: Connector; previousConfig: Record<string, string> }) {
      await def.onUpdated?.(connectorInfo(def.configKeys, request.connector), { ...request.previousConfig });
      return {};
    },
    async connectorDeleted(request: { connector?: Connector }) {
      await def.onDeleted?.(connectorInfo(def.configKeys, request.connector));
      return {};
    },
  };
}

/** Awaits `promise` unless `signal` aborts first; a value that arrives late is handed to `late`. */
async function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal, late: (value: T) => void): Promise<T | undefined> {
  if (signal.aborted) {
    promise.then(late, () => {});
    return undefined;
  }
  let onAbort = () => {};
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const result = await Promise.race([promise.then((value) => ({ value })), aborted]);
    if (result === undefined) {
      promise.then(late, () => {});
      return undefined;
    }
    return result.value;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function closeQuietly(close: (() => void | Promise<void>) | undefined, failing: boolean): Promise<void> {
  if (!close) return;
  try {
    await close();
  } catch (err) {
    // Do not hide the error that ended the stream behind a failure to clean up.
    if (!failing) throw err;
  }
}

type ReadResponseInit = MessageInitShape<typeof ReadResponseSchema>;
type WriteResponseInit = MessageInitShape<typeof WriteResponseSchema>;

/** The Read side of the protocol for one stream partition (see docs/connector-protocol.md). */
async function* readStream(def: SourcePluginDefinition, requests: AsyncIterable<ReadRequest>, context: CallContext): AsyncGenerator<ReadResponseInit> {
  const iterator = requests[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  if (first.value.kind.case !== 'open') {
    throw new InvalidArgumentError(`Read: the first message must be "open", got "${first.value.kind.case ?? 'empty'}"`);
  }
  const open = first.value.kind.value;
  if (!open.partition?.id) throw new InvalidArgumentError('Read: "open" names no stream partition', [{ key: 'partition', message: 'is required' }]);
  const connector = connectorInfo(def.configKeys, open.connector);
  const reader = await unlessAborted(Promise.resolve(def.open(connector, open.partition, open.offset, context.signal)), context.signal, (r) => void closeQuietly(r.close?.bind(r), true));
  if (!reader) return;

  let credits = 0;
  let draining = false;
  let ended = false;
  let failure: { error: unknown } | undefined;
  // Read through a function: the request loop sets it, which control-flow narrowing cannot see.
  const failed = (): { error: unknown } | undefined => failure;
  let poll: AbortController | undefined;
  let notify = () => {};
  const wake = () => {
    const n = notify;
    notify = () => {};
    n();
  };
  const waitForChange = () => new Promise<void>((resolve) => (notify = resolve));
  const end = () => {
    ended = true;
    poll?.abort();
    wake();
  };
  context.signal.addEventListener('abort', end, { once: true });

  // Requests are handled as they come, while a poll may be in progress.
  void (async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || ended) break;
        const kind = next.value.kind;
        switch (kind.case) {
          case 'credit':
            credits += kind.value.records;
            wake();
            break;
          case 'ack':
            await reader.ack?.(kind.value.offset, kind.value.records);
            break;
          case 'drain':
            if (!draining) {
              draining = true;
              poll?.abort();
              wake();
            }
            break;
          case 'open':
            throw new InvalidArgumentError('Read: "open" sent twice on one stream');
          default:
            // Unknown kinds come from a newer worker; ignore them.
            break;
        }
      }
    } catch (error) {
      failure = { error };
    } finally {
      end();
    }
  })();

  let sent = 0n;
  let lastOffset: Uint8Array | undefined;
  let failing = false;
  try {
    while (!draining && !ended) {
      if (credits === 0) {
        await waitForChange();
        continue;
      }
      const max = credits;
      poll = new AbortController();
      let records: RecordInit[];
      try {
        records = await reader.poll(max, poll.signal);
      } catch (err) {
        if (!poll.signal.aborted) throw err;
        records = [];
      } finally {
        poll = undefined;
      }
      if (records.length > max) {
        throw new InternalError(`plugin "${def.name}": poll(max=${max}) returned ${records.length} records; a SourceReader must return at most max records`);
      }
      if (ended && !draining) break;
      if (records.length > 0) {
        credits -= records.length;
        sent += BigInt(records.length);
        lastOffset = records[records.length - 1]!.offset ?? new Uint8Array();
        yield { kind: { case: 'batch', value: { records } } };
      } else if (!draining && !ended) {
        // A poll that returns nothing without an abort: let other work run before polling again.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const early = failed();
    if (early) throw early.error;
    if (draining) {
      yield { kind: { case: 'drained', value: { lastOffset, records: sent } } };
      // Nothing more is sent; final acks still arrive until the worker ends the stream.
      while (!ended) await waitForChange();
      const late = failed();
      if (late) throw late.error;
    }
  } catch (err) {
    failing = true;
    throw err;
  } finally {
    context.signal.removeEventListener('abort', end);
    end();
    void iterator.return?.()?.catch(() => {});
    await closeQuietly(reader.close?.bind(reader), failing);
  }
}

/** The Write side of the protocol for one stream partition. */
async function* writeStream(def: SinkPluginDefinition, requests: AsyncIterable<WriteRequest>, context: CallContext): AsyncGenerator<WriteResponseInit> {
  const iterator = requests[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  if (first.value.kind.case !== 'open') {
    throw new InvalidArgumentError(`Write: the first message must be "open", got "${first.value.kind.case ?? 'empty'}"`);
  }
  const open = first.value.kind.value;
  if (!open.partition?.id) throw new InvalidArgumentError('Write: "open" names no stream partition', [{ key: 'partition', message: 'is required' }]);
  const connector = connectorInfo(def.configKeys, open.connector);
  const writer = await unlessAborted(Promise.resolve(def.open(connector, open.partition, open.committedOffset, context.signal)), context.signal, (w) => void closeQuietly(w.close?.bind(w), true));
  if (!writer) return;
  let failing = false;
  try {
    yield { kind: { case: 'opened', value: { resumeAfterOffset: writer.resumeAfterOffset } } };
    let lastReceived: bigint | undefined;
    for (;;) {
      const next = await iterator.next();
      if (next.done || context.signal.aborted) break;
      const kind = next.value.kind;
      switch (kind.case) {
        case 'batch': {
          const records = kind.value.records;
          if (records.length === 0) break;
          const missing = records.findIndex((r) => r.kafkaOffset === undefined);
          if (missing >= 0) throw new InvalidArgumentError(`Write: record ${missing} of the batch has no kafka_offset`);
          await writer.write(records);
          lastReceived = records[records.length - 1]!.kafkaOffset;
          break;
        }
        case 'flush': {
          const through = lastReceived;
          await writer.flush();
          // Nothing received since open: only a plugin that holds offsets has something to say.
          const durable = through ?? writer.resumeAfterOffset;
          if (durable !== undefined) yield { kind: { case: 'durable', value: { throughOffset: durable } } };
          break;
        }
        case 'open':
          throw new InvalidArgumentError('Write: "open" sent twice on one stream');
        default:
          break;
      }
    }
  } catch (err) {
    failing = true;
    throw err;
  } finally {
    await closeQuietly(writer.close?.bind(writer), failing);
  }
}

/** A source plugin implementation from a definition. */
export function sourcePlugin(def: SourcePluginDefinition): ConnectorPluginImplementation {
  return {
    ...commonHandlers(def, ConnectorKind.SOURCE),
    watchPartitions(request, context) {
      return def.watchPartitions(connectorInfo(def.configKeys, request.connector), context.signal);
    },
    read(requests, context) {
      return readStream(def, requests, context);
    },
    // eslint-disable-next-line require-yield
    async *write() {
      throw new FailedPreconditionError(`plugin "${def.name}" is a source: it does not implement Write`);
    },
  };
}

/** A sink plugin implementation from a definition. */
export function sinkPlugin(def: SinkPluginDefinition): ConnectorPluginImplementation {
  return {
    ...commonHandlers(def, ConnectorKind.SINK),
    // eslint-disable-next-line require-yield
    async *watchPartitions() {
      throw new FailedPreconditionError(`plugin "${def.name}" is a sink: its partitions are the Kafka topic-partitions it reads`);
    },
    // eslint-disable-next-line require-yield
    async *read() {
      throw new FailedPreconditionError(`plugin "${def.name}" is a sink: it does not implement Read`);
    },
    write(requests, context) {
      return writeStream(def, requests, context);
    },
  };
}

export type { ConfigKey, PluginRecord };
