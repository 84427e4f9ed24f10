/**
 * The sink pipeline of one stream partition (one Kafka topic-partition): fetch from Kafka
 * without consumer-group membership → record processor → plugin Write stream.
 *
 * Invariants kept here:
 * - Only offsets the plugin acknowledged as durable are committed (at-least-once); at-most-once
 *   commits a fetched position before handing it to the plugin.
 * - Records handed to the plugin and not yet durable never exceed the connector's
 *   `max.inflight.records`; every one is first taken from the worker's CreditPool.
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
import type { PartitionReader, TopicAdmin } from '../kafka/index.js';
import type { ConnectorPlugin } from '../plugins/index.js';
import { CancelledError, DeadlineExceededError, describeError, TributaryError } from '../errors.js';
import { AsyncQueue } from '../util/async-queue.js';
import { pluginFailure } from './plugin-failure.js';
import { Notifier } from '../util/notifier.js';
import { iterateUntil, sleep } from '../util/iterate.js';
import type { ConnectorSettings } from './connector-settings.js';
import type { CreditPool } from './credits.js';
import type { GroupOffsetMirror } from './group-offset-mirror.js';
import type { RecordProcessor } from './processing.js';
import { PartitionTask } from './partition-task.js';
import { TaskState } from './task-state.js';

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
  processor: RecordProcessor;
  logger: Logger;
  /** How often the plugin is asked to flush while records are pending. */
  flushIntervalMs?: number;
  /** How long the plugin may take to answer `open` and the final flush. */
  openTimeoutMs?: number;
  drainTimeoutMs?: number;
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
}

export class SinkTask extends PartitionTask {
  private readonly topic: string;
  private readonly kafkaPartition: number;
  private committed: bigint | undefined;
  private session: Session | undefined;

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
      this.notify();
      await Promise.allSettled([reader, flusher]);
      await offsets.flush().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'offset flush failed'));
      await this.options.groupOffsets.flush().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'group offset mirror failed'));
    }
  }

  private async fetchLoop(session: Session, from: bigint): Promise<void> {
    const { reader, processor, credits, settings, offsets, connector, partition } = this.options;
    const window = settings.maxInFlightRecords;
    for await (const batch of reader.read({ topic: this.topic, partition: this.kafkaPartition }, from, session.fetchAbort.signal)) {
      if (session.failure !== undefined) throw session.failure;
      if (batch.records.length === 0) continue;
      const records = processor.fromKafka(batch, { connector: connector.name, partition: partition.id });
      const lastOffset = batch.records[batch.records.length - 1]!.offset;
      // Wait for room in the window: ask the plugin to flush when it is full.
      let held = 0;
      while (held < batch.records.length) {
        if (this.inFlight() + batch.records.length > window && session.sent.length > 0) {
          this.requestFlush(session);
          await this.waitChange(session, 1000);
          if (session.failure !== undefined) throw session.failure;
          if (session.fetchAbort.signal.aborted) break;
          continue;
        }
        held += await credits.acquire(batch.records.length - held, session.fetchAbort.signal);
        if (session.fetchAbort.signal.aborted) break;
      }
      if (session.fetchAbort.signal.aborted) {
        credits.release(held);
        break;
      }
      if (settings.guarantee === 'at-most-once') {
        this.commit(lastOffset);
        await offsets.flush();
      }
      session.requests.push({ kind: { case: 'batch', value: { records } } });
      session.sent.push({ lastOffset, count: batch.records.length });
      session.lastSent = lastOffset;
    }
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
        throw new DeadlineExceededError(`plugin did not make records durable within ${timeout} ms of the stop (stage: flush); the partition is marked FAILED`, { retriable: false });
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
    while (session.sent.length > 0 && session.sent[0]!.lastOffset <= through) released += session.sent.shift()!.count;
    this.recordsTotal += released;
    this.options.credits.release(released);
    if (this.options.settings.guarantee === 'at-least-once') this.commit(through);
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
