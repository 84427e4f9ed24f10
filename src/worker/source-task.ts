/**
 * The source pipeline of one stream partition: plugin Read stream → record processor → Kafka.
 *
 * Invariants kept here:
 * - An offset is committed only after Kafka acknowledged its record and every earlier record of
 *   the same stream partition (at-least-once); at-most-once commits before producing.
 * - The plugin never has more records outstanding than the credits granted, and every credit
 *   comes from the worker's CreditPool, so memory is bounded whatever Kafka's speed.
 * - A planned stop drains: the plugin names its last record, the task waits until Kafka
 *   acknowledged it and commits it, and only then reports STOPPED with the final offset. The
 *   next owner resumes right after it: no duplicate, no gap.
 */
import type { Logger } from 'pino';
import type { ReadResponse, Record as PluginRecord, StreamPartition } from '../gen/tributary/connector/v1/connector_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ReadRequestSchema } from '../gen/tributary/connector/v1/connector_pb.js';
import type { OffsetStore } from '../coordinator/index.js';
import type { ProducerRecord, RecordProducer } from '../kafka/index.js';
import type { ConnectorPlugin } from '../plugins/index.js';
import { CancelledError, describeError, TributaryError, DeadlineExceededError } from '../errors.js';
import { AsyncQueue } from '../util/async-queue.js';
import { pluginFailure } from './plugin-failure.js';
import { Notifier } from '../util/notifier.js';
import { iterateUntil } from '../util/iterate.js';
import type { CreditPool } from './credits.js';
import type { ConnectorSettings } from './connector-settings.js';
import type { RecordProcessor } from './processing.js';
import { PartitionTask } from './partition-task.js';
import { TaskState } from './task-state.js';

type ReadRequestInit = MessageInitShape<typeof ReadRequestSchema>;

export interface SourceTaskOptions {
  connector: { name: string; config: Record<string, string> };
  partition: StreamPartition;
  settings: ConnectorSettings;
  /** Epoch of the assignment this task runs under; stamped on its commits. */
  epoch: bigint;
  plugin: ConnectorPlugin;
  producer: RecordProducer;
  offsets: OffsetStore;
  credits: CreditPool;
  processor: RecordProcessor;
  logger: Logger;
  /** Most records per produce call (plugin batches are merged up to this). */
  maxSendRecords?: number;
  /** Produce calls in flight per partition (ordering is kept by the idempotent producer). */
  maxSendsInFlight?: number;
  /** How long the plugin may take to answer a drain. */
  drainTimeoutMs?: number;
  /** How long Kafka may take to acknowledge what is in flight when stopping. */
  flushTimeoutMs?: number;
}

interface SendUnit {
  records: PluginRecord[];
  lastOffset: Uint8Array;
  done: boolean;
}

/** One run of the Read stream; a retry or a resume starts a new one. */
interface Session {
  requests: AsyncQueue<ReadRequestInit>;
  abort: AbortController;
  granted: number;
  received: number;
  acked: number;
  /** Plugin records received, not yet handed to the producer. */
  pending: PluginRecord[];
  inFlight: SendUnit[];
  drained: { lastOffset: Uint8Array | undefined } | undefined;
  failure: unknown;
  /** Wakes the session's loops (acks, failures, drains). */
  changed: Notifier;
}

export class SourceTask extends PartitionTask {
  private committed: Uint8Array | undefined;
  private session: Session | undefined;
  private readonly maxSendRecords: number;
  private readonly maxSendsInFlight: number;

  constructor(private readonly options: SourceTaskOptions) {
    super('source', options);
    this.maxSendRecords = options.maxSendRecords ?? 2_000;
    this.maxSendsInFlight = options.maxSendsInFlight ?? 4;
  }

  protected committedOffset(): Uint8Array | undefined {
    return this.committed;
  }

  protected inFlight(): number {
    const s = this.session;
    return s ? s.received - s.acked : 0;
  }

  protected interrupt(kill: boolean): void {
    if (kill) this.session?.abort.abort();
    this.session?.changed.notify();
  }

  /** When a stop must be complete: the plugin's drain, then Kafka's acknowledgements. */
  private stopDeadline(): number {
    return (this.stopRequest?.requestedAt ?? Date.now()) + (this.options.drainTimeoutMs ?? 10_000) + (this.options.flushTimeoutMs ?? 30_000);
  }

  protected async runSession(): Promise<void> {
    const { offsets, plugin, connector, partition, epoch } = this.options;
    const committed = await offsets.read(connector.name, partition.id);
    this.committed = committed?.offset;
    const session: Session = {
      requests: new AsyncQueue<ReadRequestInit>(),
      abort: new AbortController(),
      granted: 0,
      received: 0,
      acked: 0,
      pending: [],
      inFlight: [],
      drained: undefined,
      failure: undefined,
      changed: new Notifier(),
    };
    this.session = session;
    session.requests.push({ kind: { case: 'open', value: { connector, partition, offset: committed?.offset } } });
    const responses = plugin.read(session.requests, { signal: session.abort.signal });
    this.state.to(TaskState.RUNNING);
    this.log.info({ from: committed ? Buffer.from(committed.offset).toString() : 'beginning', epoch: String(epoch) }, 'source task reading');

    const reader = this.readResponses(session, responses);
    const granter = this.grantCredits(session);
    try {
      await this.drive(session);
    } finally {
      session.abort.abort();
      session.changed.notify();
      session.requests.end();
      this.options.credits.release(session.granted - session.acked);
      session.granted = session.acked;
      await Promise.allSettled([reader, granter]);
      await offsets.flush().catch((err: unknown) => this.log.warn({ err: describeError(err).message }, 'offset flush failed'));
    }
  }

  /** The session's main loop: sends, commits, and decides when the session ends. */
  private async drive(session: Session): Promise<void> {
    let drainSentAt: number | undefined;
    for (;;) {
      if (this.killed) throw new CancelledError(this.killed);
      if (session.failure !== undefined) throw session.failure;
      if (this.stopRequest && drainSentAt === undefined) {
        session.requests.push({ kind: { case: 'drain', value: {} } });
        drainSentAt = Date.now();
      }
      this.sendPending(session);
      if (session.drained && session.pending.length === 0 && session.inFlight.length === 0) {
        // Everything the plugin sent is acknowledged and committed: the clean end of a stop.
        await this.options.offsets.flush();
        return;
      }
      if (drainSentAt !== undefined && !session.drained && Date.now() - drainSentAt > (this.options.drainTimeoutMs ?? 10_000)) {
        throw new DeadlineExceededError(
          `plugin did not answer the drain request within ${this.options.drainTimeoutMs ?? 10_000} ms (stage: drain); the partition was cut off and is marked FAILED`,
          { retriable: false },
        );
      }
      if (this.stopRequest && Date.now() > this.stopDeadline()) {
        throw new DeadlineExceededError('Kafka did not acknowledge the records in flight before the stop deadline (stage: flush)', { retriable: false });
      }
      await session.changed.wait(drainSentAt === undefined ? undefined : 100);
    }
  }

  private async readResponses(session: Session, responses: AsyncIterable<ReadResponse>): Promise<void> {
    try {
      for await (const res of iterateUntil(responses, session.abort.signal)) {
        if (res.kind.case === 'batch') {
          const records = res.kind.value.records;
          if (session.drained) throw this.protocolError(`plugin sent ${records.length} records after answering drain`);
          if (session.received + records.length > session.granted) {
            throw this.protocolError(`plugin sent ${records.length} records with only ${session.granted - session.received} credits left (granted ${session.granted} in all)`);
          }
          session.received += records.length;
          for (const r of records) session.pending.push(r);
        } else if (res.kind.case === 'drained') {
          session.drained = { lastOffset: res.kind.value.lastOffset };
        }
        session.changed.notify();
      }
      if (!session.drained && !session.abort.signal.aborted) {
        throw new TributaryError('INTERNAL', `plugin ended the Read stream of partition "${this.partition}" without being asked to`);
      }
    } catch (err) {
      if (!session.abort.signal.aborted && session.failure === undefined) session.failure = pluginFailure(err, this.connector, this.partition);
      session.changed.notify();
    }
  }

  private protocolError(message: string): TributaryError {
    return new TributaryError('INVALID_ARGUMENT', `connector "${this.connector}" partition "${this.partition}": protocol violation: ${message}`, { retriable: false });
  }

  private async grantCredits(session: Session): Promise<void> {
    const window = this.options.settings.maxInFlightRecords;
    const minGrant = Math.max(1, Math.floor(window / 4));
    while (!session.abort.signal.aborted && !this.stopRequest) {
      const outstanding = session.granted - session.acked;
      const want = window - outstanding;
      if (want < minGrant && outstanding > 0) {
        await session.changed.wait();
        continue;
      }
      const got = await this.options.credits.acquire(want, session.abort.signal);
      if (got === 0) continue;
      if (session.abort.signal.aborted || this.stopRequest) {
        this.options.credits.release(got);
        return;
      }
      session.granted += got;
      session.requests.push({ kind: { case: 'credit', value: { records: got } } });
    }
  }

  /** Hands pending records to the producer, merged into calls of up to maxSendRecords. */
  private sendPending(session: Session): void {
    while (session.pending.length > 0 && session.inFlight.length < this.maxSendsInFlight) {
      const records = session.pending.length <= this.maxSendRecords ? session.pending.splice(0) : session.pending.splice(0, this.maxSendRecords);
      const unit: SendUnit = { records, lastOffset: records[records.length - 1]!.offset, done: false };
      session.inFlight.push(unit);
      void this.send(session, unit);
    }
  }

  private async send(session: Session, unit: SendUnit): Promise<void> {
    const { settings, processor, offsets, producer, connector, partition, epoch } = this.options;
    try {
      const kafkaRecords: ProducerRecord[] = processor.toKafka(unit.records, { connector: connector.name, partition: partition.id, defaultTopic: settings.topic });
      if (settings.guarantee === 'at-most-once') {
        offsets.commit(connector.name, partition.id, unit.lastOffset, epoch);
        await offsets.flush();
      }
      if (kafkaRecords.length > 0) await producer.send(kafkaRecords);
      unit.done = true;
      this.commitAcknowledged(session);
    } catch (err) {
      if (session.failure === undefined) session.failure = err;
    } finally {
      session.changed.notify();
    }
  }

  /** Advances the committed offset over the acknowledged prefix of in-flight sends. */
  private commitAcknowledged(session: Session): void {
    let count = 0;
    let last: Uint8Array | undefined;
    while (session.inFlight.length > 0 && session.inFlight[0]!.done) {
      const unit = session.inFlight.shift()!;
      count += unit.records.length;
      last = unit.lastOffset;
    }
    if (count === 0 || last === undefined) return;
    const { offsets, connector, partition, epoch, settings, credits } = this.options;
    if (settings.guarantee === 'at-least-once') offsets.commit(connector.name, partition.id, last, epoch);
    this.committed = last;
    session.acked += count;
    this.recordsTotal += count;
    credits.release(count);
    session.requests.push({ kind: { case: 'ack', value: { offset: last, records: BigInt(session.acked) } } });
  }
}
