/**
 * The sink pipeline of one stream partition (one Kafka topic-partition): fetch from Kafka
 * without consumer-group membership → record processor → plugin Write stream.
 *
 * Invariants kept here:
 * - Only offsets the plugin acknowledged as durable are committed (at-least-once); at-most-once
 *   commits a fetched position before handing it to the plugin.
 * - Records handed to the plugin and not yet durable never exceed the connector's
 *   `max.inflight.records`; every one is first taken from the worker's CreditPool.
 * - Their bytes never exceed `max.inflight.bytes`: before each fetch the task takes the fetch's
 *   size from the worker's byte pool, and gives back what the fetch did not fill; the rest
 *   returns when the plugin reports the records durable. (Kafka returns one whole record batch
 *   even when it is larger than the fetch size; that excess is charged as an overdraft.)
 * - A planned stop asks the plugin to flush, waits for it to make everything durable, commits,
 *   and only then reports STOPPED: the next owner starts right after the last durable record.
 *
 * Committed offsets are also mirrored to Kafka as standalone commits of the group
 * `connect-<connector>` (see GroupOffsetMirror), so standard lag tooling works.
 */
import type { Logger } from 'pino';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { StreamPartition, WriteRequestSchema, WriteResponse } from '../gen/tributary/connector/v1/connector_pb.js';
import type { OffsetStore } from '../coordinator/index.js';
import type { FetchedRecord, PartitionReader, TopicAdmin } from '../kafka/index.js';
import type { ConnectorPlugin } from '../plugins/index.js';
import { CancelledError, DeadlineExceededError, describeError, StopStageTimeoutError, TributaryError } from '../errors.js';
import { AsyncQueue } from '../util/async-queue.js';
import { pluginFailure } from './plugin-failure.js';
import { Notifier } from '../util/notifier.js';
import { iterateUntil, sleep } from '../util/iterate.js';
import type { ConnectorSettings } from './connector-settings.js';
import type { CreditPool } from './credits.js';
import type { GroupOffsetMirror } from './group-offset-mirror.js';
import type { RecordProcessor } from './processing.js';
import { PartitionTask } from './partition-task.js';
import type { RestartPolicy } from './restart-policy.js';
import { TaskState } from './task-state.js';
import type { WorkerMetrics } from '../observability/index.js';

type WriteRequestInit = MessageInitShape<typeof WriteRequestSchema>;

export interface SinkTaskOptions {
  connector: { name: string; config: Record<string, string> };
  /** A sink stream partition: `topic` and `kafkaPartition` are set. */
  partition: StreamPartition;
  settings: ConnectorSettings;
  epoch: bigint;
  plugin: ConnectorPlugin;
  reader: PartitionReader;
  admin: TopicAdmin;
  groupOffsets: GroupOffsetMirror;
  offsets: OffsetStore;
  credits: CreditPool;
  /** The worker's byte pool; without one, only records are bounded. */
  byteCredits?: CreditPool;
  processor: RecordProcessor;
  logger: Logger;
  /** Automatic restarts after a non-retriable failure (default: none). */
  restart?: RestartPolicy;
  /** How often the plugin is asked to flush while records are pending. */
  flushIntervalMs?: number;
  /** How long the plugin may take to answer `open` and the final flush. */
  openTimeoutMs?: number;
  drainTimeoutMs?: number;
  metrics?: WorkerMetrics;
}

/** Encodes a sink's committed position the way all offsets are stored: the last record's offset. */
export function encodeKafkaOffset(offset: bigint): Uint8Array {
  return Buffer.from(offset.toString());
}

export function decodeKafkaOffset(bytes: Uint8Array): bigint {
  const text = Buffer.from(bytes).toString();
  if (!/^-?\d+$/.test(text)) throw new TributaryError('INVALID_ARGUMENT', `stored sink offset "${text}" is not a Kafka offset`);
  return BigInt(text);
}

interface Sent {
  lastOffset: bigint;
  count: number;
  bytes: number;
  /** performance.now() when sent to the plugin. */
  at: number;
}

interface Session {
  requests: AsyncQueue<WriteRequestInit>;
  abort: AbortController;
  fetchAbort: AbortController;
  sent: Sent[];
  lastSent: bigint | undefined;
  durable: bigint | undefined;
  opened: { resumeAfterOffset: bigint | undefined } | undefined;
  flushRequested: boolean;
  failure: unknown;
  changed: Notifier;
  /** Bytes taken from the byte pool for the next fetch. */
  fetchBudget: number;
  /** Bytes taken from the byte pool for records sent and not yet durable. */
  bytesHeld: number;
}

/** Smallest fetch worth making while other records are still in flight. */
const MIN_FETCH_BYTES = 64 * 1024;
/** The most one fetch asks for (the reader's default maxBytes). */
const MAX_FETCH_BYTES = 8 * 1024 * 1024;

/** What a fetched record weighs in the byte pool: key, value and headers as Kafka sent them. */
export function fetchedRecordBytes(r: FetchedRecord): number {
  let n = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers) n += Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  return n;
}

export class SinkTask extends PartitionTask {
  private readonly topic: string;
  private readonly kafkaPartition: number;
  private committed: bigint | undefined;
  private session: Session | undefined;
  /** Bytes of the largest fetch answer so far: a fetch budget smaller than that may overdraw. */
  private largestFetch = 0;

  constructor(private readonly options: SinkTaskOptions) {
    super('sink', options);
    if (options.partition.topic === undefined || options.partition.kafkaPartition === undefined) {
      throw new Error(`sink partition "${options.partition.id}" lacks its topic and Kafka partition`);
    }
    this.topic = options.partition.topic;
    this.kafkaPartition = options.partition.kafkaPartition;
  }

  protected committedOffset(): Uint8Array | undefined {
    return this.committed === undefined ? undefined : encodeKafkaOffset(this.committed);
  }

  /** Records handed to the plugin and not yet durable. */
  protected inFlight(): number {
    return this.session?.sent.reduce((n, s) => n + s.count, 0) ?? 0;
  }

  protected interrupt(kill: boolean): void {
    if (kill) this.session?.abort.abort();
    this.session?.fetchAbort.abort();
    this.notify();
  }

  private notify(): void {
    this.session?.changed.notify();
  }

  private waitChange(session: Session, timeoutMs: number): Promise<void> {
    return session.changed.wait(timeoutMs);
  }

  /** Where this partition's stored position says to start: the offset after the last committed record. */
  private async startingOffset(resumeAfter: bigint | undefined): Promise<bigint> {
    if (resumeAfter !== undefined) return resumeAfter + 1n;
    if (this.committed !== undefined) return this.committed + 1n;
    // No offsets of our own: a connector moved over from Kafka Connect resumes from its group.
    const fromGroup = await this.options.groupOffsets.committed(this.topic, this.kafkaPartition);
    if (fromGroup !== undefined) {
      this.log.info({ group: this.options.groupOffsets.groupId, offset: String(fromGroup) }, 'starting from the committed offset of the Kafka consumer group');
      return fromGroup;
    }
    const range = (await this.options.admin.partitionOffsets(this.topic)).find((p) => p.partition === this.kafkaPartition);
    if (!range) throw new TributaryError('UNAVAILABLE', `topic "${this.topic}" has no partition ${this.kafkaPartition} (yet)`, { retriable: true });
    return this.options.settings.autoOffsetReset === 'latest' ? range.latest : range.earliest;
  }

  protected async runSession(): Promise<void> {
    const { offsets, plugin, connector, partition } = this.options;
    const stored = await offsets.read(connector.name, partition.id);
    this.committed = stored ? decodeKafkaOffset(stored.offset) : undefined;
    const session: Session = {
      requests: new AsyncQueue<WriteRequestInit>(),
      abort: new AbortController(),
      fetchAbort: new AbortController(),
      sent: [],
      lastSent: undefined,
      durable: undefined,
      opened: undefined,
      flushRequested: false,
      failure: undefined,
      changed: new Notifier(),
      fetchBudget: 0,
      bytesHeld: 0,
    };
    this.session = session;
    session.requests.push({ kind: { case: 'open', value: { connector, partition, committedOffset: this.committed } } });
    const responses = plugin.write(session.requests, { signal: session.abort.signal });
    const reader = this.readResponses(session, responses);
    const flusher = this.flushPeriodically(session);
    try {
      const openDeadline = Date.now() + (this.options.openTimeoutMs ?? 30_000);
      while (!session.opened) {
        if (session.failure !== undefined) throw session.failure;
        if (Date.now() > openDeadline) throw new DeadlineExceededError(`plugin did not answer open within ${this.options.openTimeoutMs ?? 30_000} ms (stage: open)`, { retriable: false });
        await this.waitChange(session, 100);
      }
      const from = await this.startingOffset(session.opened.resumeAfterOffset);
      this.state.to(TaskState.RUNNING);
      this.log.info({ topic: this.topic, kafkaPartition: this.kafkaPartition, from: String(from) }, 'sink task reading');
      if (!this.stopRequest) await this.fetchLoop(session, from);
      if (session.failure !== undefined) throw session.failure;
      await this.drain(session);
    } finally {
      session.abort.abort();
      session.fetchAbort.abort();
      session.requests.end();
      this.options.credits.release(this.inFlight());
      session.sent.length = 0;
      this.options.byteCredits?.release(session.bytesHeld + session.fetchBudget);
      session.bytesHeld = 0;
      session.fetchBudget = 0;
      this.notify();
      await Promise.allSettled([reader, flusher]);
      await offsets.flush().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'offset flush failed'));
      await this.options.groupOffsets.flush().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'group offset mirror failed'));
    }
  }

  private async fetchLoop(session: Session, from: bigint): Promise<void> {
    const { reader, processor, credits, settings, offsets, connector, partition } = this.options;
    const window = settings.maxInFlightRecords;
    const pool = this.options.byteCredits;
    const batches = reader.read({ topic: this.topic, partition: this.kafkaPartition }, from, session.fetchAbort.signal, pool ? { fetchMaxBytes: () => session.fetchBudget } : {})[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (pool && !(await this.reserveFetch(session, pool))) break;
        const next = await batches.next();
        if (next.done) break;
        const batch = next.value;
        const fetched = pool ? this.chargeFetched(session, pool, batch.records) : 0;
        if (session.failure !== undefined) throw session.failure;
        if (batch.records.length === 0) continue;
        this.options.metrics?.sinkFetched(connector.name, batch.records.length);
        const converted = processor.fromKafka(batch, { connector: connector.name, partition: partition.id });
        const records = Array.isArray(converted) ? converted : await converted;
        if (records.length === 0) {
          // Every record was filtered or dead-lettered (the DLQ write is acknowledged): handled.
          // Commit right away when nothing earlier is pending; otherwise a later durable report covers it.
          if (session.sent.length === 0) this.commit(batch.records[batch.records.length - 1]!.offset);
          this.releaseBytes(session, fetched);
          continue;
        }
        const lastOffset = records[records.length - 1]!.kafkaOffset ?? batch.records[batch.records.length - 1]!.offset;
        const count = records.length;
        // Wait for room in the window: ask the plugin to flush when it is full.
        let held = 0;
        while (held < count) {
          if (this.inFlight() + count > window && session.sent.length > 0) {
            this.requestFlush(session);
            await this.waitChange(session, 1000);
            if (session.failure !== undefined) throw session.failure;
            if (session.fetchAbort.signal.aborted) break;
            continue;
          }
          held += await credits.acquire(count - held, session.fetchAbort.signal);
          if (session.fetchAbort.signal.aborted) break;
        }
        if (session.fetchAbort.signal.aborted) {
          credits.release(held);
          this.releaseBytes(session, fetched);
          break;
        }
        if (settings.guarantee === 'at-most-once') {
          // Durable before the plugin sees the records: a crash after this loses them, never repeats them.
          this.commit(lastOffset);
          await offsets.persist(this.connector, this.partition);
        }
        session.requests.push({ kind: { case: 'batch', value: { records } } });
        session.sent.push({ lastOffset, count, bytes: fetched, at: performance.now() });
        session.lastSent = lastOffset;
      }
    } finally {
      // Ends the reader's fetch loop (and its connection) however this loop ended.
      await batches.return?.();
    }
  }

  /**
   * Takes the next fetch's bytes from the pool: as much as the partition's byte window has room
   * for (up to one full fetch), and at least a worthwhile fetch; while the window is too full,
   * asks the plugin to flush and waits. False when the fetch was aborted meanwhile.
   */
  private async reserveFetch(session: Session, pool: CreditPool): Promise<boolean> {
    const limit = this.options.settings.maxInFlightBytes;
    const signal = session.fetchAbort.signal;
    for (;;) {
      if (signal.aborted) return false;
      if (session.failure !== undefined) throw session.failure;
      const room = Math.min(MAX_FETCH_BYTES, limit - session.bytesHeld);
      const least = Math.min(Math.max(MIN_FETCH_BYTES, this.largestFetch), limit);
      if (room >= least || session.sent.length === 0) {
        const want = Math.max(room, least);
        const got = await pool.acquire(want, signal, least);
        if (got === 0) return false;
        session.fetchBudget = got;
        return true;
      }
      this.requestFlush(session);
      await this.waitChange(session, 1000);
    }
  }

  /** A fetch came back: its records' bytes are held, the rest of its budget goes back. */
  private chargeFetched(session: Session, pool: CreditPool, records: FetchedRecord[]): number {
    let bytes = 0;
    for (const r of records) bytes += fetchedRecordBytes(r);
    if (bytes > this.largestFetch) this.largestFetch = bytes;
    if (bytes > session.fetchBudget) pool.take(bytes - session.fetchBudget);
    else pool.release(session.fetchBudget - bytes);
    session.fetchBudget = 0;
    session.bytesHeld += bytes;
    return bytes;
  }

  private releaseBytes(session: Session, bytes: number): void {
    if (bytes <= 0 || !this.options.byteCredits) return;
    session.bytesHeld -= bytes;
    this.options.byteCredits.release(bytes);
  }

  private requestFlush(session: Session): void {
    if (session.flushRequested || session.lastSent === undefined) return;
    if (session.durable !== undefined && session.durable >= session.lastSent) return;
    session.flushRequested = true;
    session.requests.push({ kind: { case: 'flush', value: {} } });
  }

  private async flushPeriodically(session: Session): Promise<void> {
    const interval = this.options.flushIntervalMs ?? 1000;
    while (!session.abort.signal.aborted) {
      await sleep(interval, session.abort.signal);
      if (!session.abort.signal.aborted) this.requestFlush(session);
    }
  }

  /** Final flush of a stop: everything sent becomes durable and committed, or the task fails. */
  private async drain(session: Session): Promise<void> {
    const timeout = this.options.drainTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeout;
    if (this.killed) throw new CancelledError(this.killed);
    while (session.lastSent !== undefined && (session.durable === undefined || session.durable < session.lastSent)) {
      if (this.killed) throw new CancelledError(this.killed);
      if (session.failure !== undefined) throw session.failure;
      if (Date.now() > deadline) {
        throw new StopStageTimeoutError('flush', `plugin did not make records durable within ${timeout} ms of the stop (stage: flush); the partition is marked FAILED`);
      }
      this.requestFlush(session);
      await this.waitChange(session, 100);
    }
  }

  private commit(lastOffset: bigint): void {
    const { offsets, connector, partition, epoch, groupOffsets } = this.options;
    if (this.committed !== undefined && lastOffset <= this.committed) return;
    offsets.commit(connector.name, partition.id, encodeKafkaOffset(lastOffset), epoch);
    groupOffsets.set(this.topic, this.kafkaPartition, lastOffset + 1n);
    this.committed = lastOffset;
  }

  private onDurable(session: Session, through: bigint): void {
    if (session.durable !== undefined && through <= session.durable) return;
    if (session.lastSent !== undefined && through > session.lastSent) {
      throw new TributaryError('INVALID_ARGUMENT', `connector "${this.connector}" partition "${this.partition}": protocol violation: plugin reported offset ${through} durable, but the last record sent was ${session.lastSent}`, { retriable: false });
    }
    session.durable = through;
    session.flushRequested = false;
    let released = 0;
    let bytes = 0;
    const oldest = session.sent[0]?.at;
    while (session.sent.length > 0 && session.sent[0]!.lastOffset <= through) {
      const sent = session.sent.shift()!;
      released += sent.count;
      bytes += sent.bytes;
    }
    this.releaseBytes(session, bytes);
    if (released > 0 && oldest !== undefined) this.options.metrics?.sinkWritten(this.connector, released, (performance.now() - oldest) / 1000);
    this.recordsTotal += released;
    this.options.credits.release(released);
    // exactly-once sinks commit as at-least-once does; the plugin's offsets-with-data (resume_after_offset) make replays harmless.
    if (this.options.settings.guarantee !== 'at-most-once') this.commit(through);
  }

  private async readResponses(session: Session, responses: AsyncIterable<WriteResponse>): Promise<void> {
    try {
      for await (const res of iterateUntil(responses, session.abort.signal)) {
        if (res.kind.case === 'opened') session.opened = { resumeAfterOffset: res.kind.value.resumeAfterOffset };
        else if (res.kind.case === 'durable') this.onDurable(session, res.kind.value.throughOffset);
        this.notify();
      }
      if (!session.abort.signal.aborted) {
        throw new TributaryError('INTERNAL', `plugin ended the Write stream of partition "${this.partition}" without being asked to`);
      }
    } catch (err) {
      if (!session.abort.signal.aborted && session.failure === undefined) {
        session.failure = pluginFailure(err, this.connector, this.partition);
        session.fetchAbort.abort();
      }
      this.notify();
    }
  }
}
