/**
 * The source pipeline of one stream partition: plugin Read stream → record processor → Kafka.
 *
 * Invariants kept here:
 * - An offset is committed only after Kafka acknowledged its record and every earlier record of
 *   the same stream partition (at-least-once); at-most-once commits before producing.
 * - The plugin never has more records outstanding than the credits granted, and every credit
 *   comes from the worker's CreditPool, so memory is bounded whatever Kafka's speed.
 * - Bytes too: a grant is sized so that, at the largest record seen on this partition, the
 *   records outstanding fit `max.inflight.bytes`, and those bytes are taken from the worker's
 *   byte pool before the grant. The first grant is one record (to learn its size) with an
 *   allowance of FIRST_RECORD_ALLOWANCE bytes; a record larger than its allowance, or than any
 *   before it, is charged when it arrives (an overdraft the pool counts), and no more credit
 *   is granted until its bytes are back under the bound.
 * - A planned stop drains: the plugin names its last record, the task waits until Kafka
 *   acknowledged it and commits it, and only then reports STOPPED with the final offset. The
 *   next owner resumes right after it: no duplicate, no gap.
 * - Exactly-once (docs/exactly-once.md): each session opens the partition's transactional
 *   producer (fencing the previous owner) and resumes from the offsets topic; records go into a
 *   Kafka transaction that ends at the configured boundary (poll: what the plugin sent up to the transaction's start; interval;
 *   connector: a batch with commit_transaction; a drain always ends it) with the partition's
 *   offset record in the same transaction. Acks reach the plugin, and the offset the
 *   coordinator, only after the commit; any failure aborts the transaction.
 */
import type { Logger } from 'pino';
import type { ReadResponse, Record as PluginRecord, StreamPartition } from '../gen/tributary/connector/v1/connector_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ReadRequestSchema } from '../gen/tributary/connector/v1/connector_pb.js';
import type { OffsetStore } from '../coordinator/index.js';
import type { ProducerRecord, RecordProducer } from '../kafka/index.js';
import type { ConnectorPlugin } from '../plugins/index.js';
import { CancelledError, describeError, isRetriable, TributaryError, StopStageTimeoutError } from '../errors.js';
import { ProducerFencedError } from '../kafka/index.js';
import { AsyncQueue } from '../util/async-queue.js';
import { pluginFailure } from './plugin-failure.js';
import { Notifier } from '../util/notifier.js';
import { iterateUntil } from '../util/iterate.js';
import type { CreditPool } from './credits.js';
import type { ConnectorSettings, ExactlyOnceSettings } from './connector-settings.js';
import type { PartitionTransactions } from './exactly-once/index.js';
import type { RecordProcessor } from './processing.js';
import { PartitionTask } from './partition-task.js';
import type { RestartPolicy } from './restart-policy.js';
import { TaskState } from './task-state.js';
import type { WorkerMetrics } from '../observability/index.js';

type ReadRequestInit = MessageInitShape<typeof ReadRequestSchema>;

/** Bytes taken for a partition's very first record, before its size is known. */
const FIRST_RECORD_ALLOWANCE = 256 * 1024;

export interface SourceTaskOptions {
  connector: { name: string; config: Record<string, string> };
  partition: StreamPartition;
  settings: ConnectorSettings;
  /** Epoch of the assignment this task runs under; stamped on its commits. */
  epoch: bigint;
  plugin: ConnectorPlugin;
  /** The shared producer (at-least-once, at-most-once); unused with `exactlyOnce`. */
  producer?: RecordProducer;
  /** Exactly-once: the boundary settings and a fresh transaction coordinator per session. */
  exactlyOnce?: { settings: ExactlyOnceSettings; transactions: () => PartitionTransactions };
  offsets: OffsetStore;
  credits: CreditPool;
  /** The worker's byte pool; without one, only records are bounded. */
  byteCredits?: CreditPool;
  processor: RecordProcessor;
  logger: Logger;
  /** Automatic restarts after a non-retriable failure (default: none). */
  restart?: RestartPolicy;
  /** Most records per produce call (plugin batches are merged up to this). */
  maxSendRecords?: number;
  /** Produce calls in flight per partition (ordering is kept by the idempotent producer). */
  maxSendsInFlight?: number;
  /** How long the plugin may take to answer a drain. */
  drainTimeoutMs?: number;
  /** How long Kafka may take to acknowledge what is in flight when stopping. */
  flushTimeoutMs?: number;
  metrics?: WorkerMetrics;
}

interface SendUnit {
  records: PluginRecord[];
  bytes: number;
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
  /** Bytes of `pending`. */
  pendingBytes: number;
  /** Bytes of records received and not yet acknowledged. */
  bytesUnacked: number;
  /** Bytes taken from the worker's byte pool for this session (≥ what its records hold). */
  bytesHeld: number;
  inFlight: SendUnit[];
  drained: { lastOffset: Uint8Array | undefined } | undefined;
  failure: unknown;
  /** Wakes the session's loops (acks, failures, drains). */
  changed: Notifier;
  /** Exactly-once only. */
  tx: TransactionState | undefined;
}

interface TransactionState {
  coordinator: PartitionTransactions;
  /** A transaction is open at the broker. */
  open: boolean;
  /** begin() or commit() in progress. */
  busy: boolean;
  openedAt: number;
  /** Records handed to transactions so far, counted like `received`. */
  taken: number;
  /** `received` counts after which a transaction must end, ascending (connector: the flagged batches; poll: the open one's). */
  boundaries: number[];
}

export class SourceTask extends PartitionTask {
  private committed: Uint8Array | undefined;
  private session: Session | undefined;
  /** Aborts an exactly-once open (fence + offsets read) when the task is killed meanwhile. */
  private opening: AbortController | undefined;
  private readonly maxSendRecords: number;
  private readonly maxSendsInFlight: number;
  /** Bytes of the largest record seen on this partition: what a credit is assumed to cost. */
  private largestRecord: number | undefined;

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
    if (kill) {
      this.opening?.abort();
      this.session?.abort.abort();
      // Its next owner may be producing already: what is still queued here must not leave.
      const dropped = this.options.producer?.abandon(this.lane, `partition "${this.partition}" was stopped without draining (${this.killed ?? 'killed'})`) ?? 0;
      if (dropped > 0) this.log.warn({ dropped }, 'records dropped unsent at the stop; they stay uncommitted and are read again by the next owner');
    }
    this.session?.changed.notify();
  }

  /** This partition's ordering lane in the connector's producer. */
  private get lane(): string {
    return `${this.options.connector.name}\u0000${this.options.partition.id}`;
  }

  /** When a stop must be complete: the plugin's drain, then Kafka's acknowledgements. */
  private stopDeadline(): number {
    return (this.stopRequest?.requestedAt ?? Date.now()) + (this.options.drainTimeoutMs ?? 10_000) + (this.options.flushTimeoutMs ?? 30_000);
  }

  protected async runSession(): Promise<void> {
    const { offsets, plugin, connector, partition, epoch, exactlyOnce } = this.options;
    let committed = await offsets.read(connector.name, partition.id);
    let tx: TransactionState | undefined;
    if (exactlyOnce) {
      const coordinator = exactlyOnce.transactions();
      tx = { coordinator, open: false, busy: false, openedAt: 0, taken: 0, boundaries: [] };
      this.opening = new AbortController();
      try {
        const start = await coordinator.open(committed, this.opening.signal);
        committed = start.offset === undefined ? undefined : { offset: start.offset, epoch: start.epoch };
      } catch (err) {
        await coordinator.close();
        throw err;
      } finally {
        this.opening = undefined;
      }
      if (this.killed) {
        await coordinator.close();
        throw new CancelledError(this.killed);
      }
    }
    this.committed = committed?.offset;
    const session: Session = {
      requests: new AsyncQueue<ReadRequestInit>(),
      abort: new AbortController(),
      granted: 0,
      received: 0,
      acked: 0,
      pending: [],
      pendingBytes: 0,
      bytesUnacked: 0,
      bytesHeld: 0,
      inFlight: [],
      drained: undefined,
      failure: undefined,
      changed: new Notifier(),
      tx,
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
      this.options.byteCredits?.release(session.bytesHeld);
      session.bytesHeld = 0;
      await Promise.allSettled([reader, granter]);
      // Whatever was not committed is aborted: none of it becomes visible to read_committed.
      await session.tx?.coordinator.close();
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
      if (session.tx) this.pumpTransaction(session, session.tx);
      else this.sendPending(session);
      if (session.drained && session.pending.length === 0 && session.inFlight.length === 0 && !session.tx?.busy) {
        // Everything the plugin sent is acknowledged and committed: the clean end of a stop.
        await this.options.offsets.flush();
        return;
      }
      if (drainSentAt !== undefined && !session.drained && Date.now() - drainSentAt > (this.options.drainTimeoutMs ?? 10_000)) {
        throw new StopStageTimeoutError(
          'drain',
          `plugin did not answer the drain request within ${this.options.drainTimeoutMs ?? 10_000} ms (stage: drain); the partition was cut off and is marked FAILED`,
        );
      }
      if (this.stopRequest && Date.now() > this.stopDeadline()) {
        throw new StopStageTimeoutError('flush', 'Kafka did not acknowledge the records in flight before the stop deadline (stage: flush)');
      }
      await session.changed.wait(drainSentAt === undefined ? this.intervalWakeMs(session) : 100);
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
          this.options.metrics?.sourcePolled(this.connector, records.length);
          let bytes = 0;
          let largest = 0;
          for (const r of records) {
            session.pending.push(r);
            const size = recordBytes(r);
            bytes += size;
            if (size > largest) largest = size;
          }
          session.pendingBytes += bytes;
          this.chargeArrived(session, bytes, largest);
          if (session.tx && records.length > 0 && this.options.exactlyOnce?.settings.boundary === 'connector' && res.kind.value.commitTransaction) {
            session.tx.boundaries.push(session.received);
          }
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
    const { settings, credits, byteCredits } = this.options;
    while (!session.abort.signal.aborted && !this.stopRequest) {
      const outstanding = session.granted - session.acked;
      // Records allowed outstanding: the record window, and as many of the largest record seen
      // as fit the byte window (one record, to learn the size, before anything was seen).
      let window = settings.maxInFlightRecords;
      if (byteCredits) {
        const largest = this.largestRecord;
        window = Math.min(window, largest === undefined ? 1 : Math.max(1, Math.floor(settings.maxInFlightBytes / Math.max(1, largest))));
      }
      const minGrant = Math.max(1, Math.floor(window / 4));
      const want = window - outstanding;
      const bytesRoom = byteCredits ? settings.maxInFlightBytes - session.bytesHeld : Infinity;
      if ((want < minGrant || (bytesRoom <= 0 && outstanding > 0)) && outstanding > 0) {
        await session.changed.wait();
        continue;
      }
      if (want <= 0) {
        await session.changed.wait();
        continue;
      }
      // At least a quarter window at once: taking scraps would split the pool into ever smaller
      // grants, batches and produce calls.
      const got = await credits.acquire(want, session.abort.signal, Math.min(minGrant, want));
      if (got === 0) continue;
      let bytes = 0;
      if (byteCredits) {
        // Before any record was seen, the one record granted is given a first-record allowance.
        // At least a byte a record: records handed in structured form count 0 bytes, and asking
        // the pool for 0 would answer 0 at once and spin this loop without ever yielding.
        const need = this.largestRecord === undefined ? Math.min(FIRST_RECORD_ALLOWANCE, settings.maxInFlightBytes) : got * Math.max(1, this.largestRecord);
        bytes = await byteCredits.acquire(need, session.abort.signal, need);
        if (bytes === 0) {
          credits.release(got);
          continue;
        }
      }
      if (session.abort.signal.aborted || this.stopRequest) {
        credits.release(got);
        byteCredits?.release(bytes);
        return;
      }
      session.bytesHeld += bytes;
      session.granted += got;
      session.requests.push({ kind: { case: 'credit', value: { records: got } } });
    }
  }

  /**
   * Bytes arrived: what the session holds must cover them and, at the (possibly new) largest
   * record size, the credits the plugin has not used yet. Anything missing is taken at once:
   * the records are already here.
   */
  private chargeArrived(session: Session, bytes: number, largest: number): void {
    const pool = this.options.byteCredits;
    if (!pool) return;
    if (this.largestRecord === undefined || largest > this.largestRecord) this.largestRecord = largest;
    session.bytesUnacked += bytes;
    const target = session.bytesUnacked + (session.granted - session.received) * (this.largestRecord ?? 0);
    if (target > session.bytesHeld) {
      pool.take(target - session.bytesHeld);
      session.bytesHeld = target;
    }
  }

  /** Bytes acknowledged: give back what the session holds beyond what it still needs. */
  private releaseAcknowledged(session: Session, bytes: number): void {
    const pool = this.options.byteCredits;
    if (!pool) return;
    session.bytesUnacked -= bytes;
    const target = session.bytesUnacked + (session.granted - session.received) * (this.largestRecord ?? 0);
    if (session.bytesHeld > target) {
      pool.release(session.bytesHeld - target);
      session.bytesHeld = target;
    }
  }

  /** Hands pending records to the producer, merged into calls of up to maxSendRecords. */
  private sendPending(session: Session): void {
    while (session.pending.length > 0 && session.inFlight.length < this.maxSendsInFlight) {
      const all = session.pending.length <= this.maxSendRecords;
      const records = all ? session.pending.splice(0) : session.pending.splice(0, this.maxSendRecords);
      let bytes = session.pendingBytes;
      if (!all) {
        bytes = 0;
        for (const r of records) bytes += recordBytes(r);
      }
      session.pendingBytes -= bytes;
      const unit: SendUnit = { records, bytes, lastOffset: records[records.length - 1]!.offset, done: false };
      session.inFlight.push(unit);
      void this.send(session, unit);
    }
  }

  private async send(session: Session, unit: SendUnit): Promise<void> {
    const { settings, processor, offsets, producer, connector, partition, epoch } = this.options;
    try {
      const converted = processor.toKafka(unit.records, { connector: connector.name, partition: partition.id, defaultTopic: settings.topic });
      const kafkaRecords: ProducerRecord[] = Array.isArray(converted) ? converted : await converted;
      if (settings.guarantee === 'at-most-once') {
        // Durable before a record leaves: a crash after this loses records, never repeats one.
        offsets.commit(connector.name, partition.id, unit.lastOffset, epoch);
        await offsets.persist(connector.name, partition.id);
        if (this.killed) throw new CancelledError(this.killed);
      }
      const sentAt = performance.now();
      if (kafkaRecords.length > 0) {
        // One lane per stream partition: a record Kafka rejects fails this partition's sends only.
        await producer!.send(kafkaRecords, { lane: this.lane }).catch((err: unknown) => {
          throw isRetriable(err) ? err : this.rejectedSend(err, unit);
        });
      }
      this.options.metrics?.sourceProduced(connector.name, kafkaRecords.length, (performance.now() - sentAt) / 1000);
      unit.done = true;
      this.commitAcknowledged(session);
    } catch (err) {
      if (session.failure === undefined) session.failure = err;
    } finally {
      session.changed.notify();
    }
  }

  /** With transaction.boundary=interval, when the drive loop must wake to end the open transaction. */
  private intervalWakeMs(session: Session): number | undefined {
    const tx = session.tx;
    const settings = this.options.exactlyOnce?.settings;
    if (!tx || !tx.open || settings?.boundary !== 'interval') return undefined;
    return Math.max(1, tx.openedAt + settings.intervalMs - Date.now());
  }

  /**
   * Exactly-once: opens a transaction when records wait, sends them into it (up to the next
   * boundary), and commits once the boundary is reached and Kafka acknowledged every send.
   */
  private pumpTransaction(session: Session, tx: TransactionState): void {
    if (tx.busy || session.failure !== undefined) return;
    if (!tx.open) {
      if (session.pending.length === 0) return;
      tx.busy = true;
      tx.coordinator.begin().then(
        () => {
          tx.open = true;
          tx.openedAt = Date.now();
          // poll: the transaction holds every batch received up to now, as Kafka Connect's next
          // poll() returns what the connector gathered while the previous transaction committed.
          if (this.options.exactlyOnce!.settings.boundary === 'poll') tx.boundaries = [session.received];
        },
        (err: unknown) => {
          session.failure ??= err;
        },
      ).finally(() => {
        tx.busy = false;
        session.changed.notify();
      });
      return;
    }
    const settings = this.options.exactlyOnce!.settings;
    const limit = tx.boundaries[0] ?? Number.POSITIVE_INFINITY;
    let sending = session.inFlight.filter((u) => !u.done).length;
    while (session.pending.length > 0 && tx.taken < limit && sending < this.maxSendsInFlight) {
      const n = Math.min(this.maxSendRecords, session.pending.length, limit - tx.taken);
      const records = session.pending.splice(0, n);
      tx.taken += n;
      let bytes = 0;
      for (const r of records) bytes += recordBytes(r);
      session.pendingBytes -= bytes;
      const unit: SendUnit = { records, bytes, lastOffset: records[records.length - 1]!.offset, done: false };
      session.inFlight.push(unit);
      sending++;
      void this.sendInTransaction(session, tx, unit);
    }
    const atBoundary =
      tx.taken >= limit ||
      (settings.boundary === 'interval' && Date.now() >= tx.openedAt + settings.intervalMs && session.inFlight.length > 0) ||
      // A drain ends the transaction: the plugin named its last record.
      (session.drained !== undefined && session.pending.length === 0);
    if (!atBoundary || session.inFlight.some((u) => !u.done)) return;
    tx.busy = true;
    const units = session.inFlight.length;
    const last = session.inFlight[units - 1]?.lastOffset;
    tx.coordinator.commit(last).then(
      () => {
        tx.open = false;
        while (tx.boundaries.length > 0 && tx.boundaries[0]! <= tx.taken) tx.boundaries.shift();
        this.commitAcknowledged(session, units);
      },
      (err: unknown) => {
        session.failure ??= err;
      },
    ).finally(() => {
      tx.busy = false;
      session.changed.notify();
    });
  }

  private async sendInTransaction(session: Session, tx: TransactionState, unit: SendUnit): Promise<void> {
    const { settings, processor, connector, partition } = this.options;
    try {
      const converted = processor.toKafka(unit.records, { connector: connector.name, partition: partition.id, defaultTopic: settings.topic });
      const kafkaRecords: ProducerRecord[] = Array.isArray(converted) ? converted : await converted;
      const sentAt = performance.now();
      if (kafkaRecords.length > 0) {
        await tx.coordinator.send(kafkaRecords).catch((err: unknown) => {
          throw isRetriable(err) || err instanceof ProducerFencedError ? err : this.rejectedSend(err, unit);
        });
      }
      this.options.metrics?.sourceProduced(connector.name, kafkaRecords.length, (performance.now() - sentAt) / 1000);
      unit.done = true;
    } catch (err) {
      if (session.failure === undefined) session.failure = err;
    } finally {
      session.changed.notify();
    }
  }

  /** Kafka refused this unit for good: the error names the partition and the records' source offsets. */
  private rejectedSend(err: unknown, unit: SendUnit): TributaryError {
    const size = (r: PluginRecord): number => (r.key?.length ?? 0) + (r.value?.length ?? 0);
    let largest = unit.records[0]!;
    for (const r of unit.records) if (size(r) > size(largest)) largest = r;
    const where =
      unit.records.length === 1
        ? `the record at source offset ${offsetText(largest.offset)} (${size(largest)} bytes)`
        : `${unit.records.length} records at source offsets ${offsetText(unit.records[0]!.offset)} … ${offsetText(unit.lastOffset)} (largest: the record at source offset ${offsetText(largest.offset)}, ${size(largest)} bytes)`;
    const code = err instanceof TributaryError ? err.code : 'INTERNAL';
    return new TributaryError(code, `connector "${this.connector}" partition "${this.partition}": Kafka rejected ${where}: ${describeError(err).message}`, {
      cause: err,
      retriable: false,
    });
  }

  /**
   * Advances the committed offset over the acknowledged prefix of in-flight sends (exactly-once:
   * over the first `units`, which a transaction just committed).
   */
  private commitAcknowledged(session: Session, units?: number): void {
    let count = 0;
    let bytes = 0;
    let last: Uint8Array | undefined;
    let left = units ?? Number.POSITIVE_INFINITY;
    while (session.inFlight.length > 0 && session.inFlight[0]!.done && left-- > 0) {
      const unit = session.inFlight.shift()!;
      count += unit.records.length;
      bytes += unit.bytes;
      last = unit.lastOffset;
    }
    if (count === 0 || last === undefined) return;
    const { offsets, connector, partition, epoch, settings, credits } = this.options;
    // Exactly-once: the offsets topic has it already; the coordinator mirrors it.
    if (settings.guarantee !== 'at-most-once') offsets.commit(connector.name, partition.id, last, epoch);
    this.committed = last;
    session.acked += count;
    this.recordsTotal += count;
    credits.release(count);
    this.releaseAcknowledged(session, bytes);
    session.requests.push({ kind: { case: 'ack', value: { offset: last, records: BigInt(session.acked) } } });
  }
}

/** A source offset for a message: its text when printable, otherwise hex. */
function offsetText(offset: Uint8Array): string {
  const text = Buffer.from(offset).toString('utf8');
  return /^[\x20-\x7e]{1,200}$/.test(text) ? `"${text}"` : `0x${Buffer.from(offset).toString('hex')}`;
}

/** What a plugin record weighs in the byte pool: its key, value and headers as they arrived. */
export function recordBytes(r: PluginRecord): number {
  let n = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers) n += h.key.length + (h.value?.length ?? 0);
  return n;
}
