/**
 * The transaction coordinator of one exactly-once stream partition (KIP-618's
 * ExactlyOnceWorkerSourceTask, per stream partition rather than per task). It owns that
 * partition's transactional producer for one session of the task:
 *
 *   open()   start the producer and initTransactions — the broker bumps the epoch of the
 *            partition's transactional.id, so the previous owner (a zombie cut off from etcd and
 *            the leader but not from Kafka) is fenced from now on, and its open transaction is
 *            aborted — then read the committed offset from the offsets topic (read_committed)
 *            and choose where to resume (recovery.ts);
 *   begin()  one Kafka transaction;
 *   send()   records, inside it;
 *   commit() the partition's offset record into the same transaction, then EndTxn(commit):
 *            records and offset become visible together, or neither does;
 *   abort()  on any failure: nothing of the transaction becomes visible.
 *
 * States: new → open → (in-transaction ⇄ open) → closed. A ProducerFencedError (another owner took
 * the id) moves it to fenced for good: the session must end, never re-initialise (that would
 * fence the legitimate owner in turn).
 */
import type { Logger } from 'pino';
import type { CommittedOffset } from '../../coordinator/index.js';
import { FailedPreconditionError, TributaryError } from '../../errors.js';
import { ProducerFencedError, type ProducerRecord, type ProducerTransaction, type RecordProducer } from '../../kafka/index.js';
import type { OffsetsTopic } from './offsets-topic.js';
import { chooseStartingOffset, type StartingOffset } from './recovery.js';

export interface PartitionTransactionsOptions {
  connector: string;
  partition: string;
  /** The assignment's epoch, stamped on every offset record. */
  epoch: bigint;
  transactionalId: string;
  /** A producer created with `transactionalId`, not started. */
  producer: RecordProducer;
  offsetsTopic: OffsetsTopic;
  logger: Logger;
}

type State = 'new' | 'open' | 'in-transaction' | 'fenced' | 'closed';

export class PartitionTransactions {
  private state: State = 'new';
  private tx: ProducerTransaction | undefined;
  private readonly log: Logger;

  constructor(private readonly options: PartitionTransactionsOptions) {
    this.log = options.logger.child({ transactionalId: options.transactionalId });
  }

  get transactionalId(): string {
    return this.options.transactionalId;
  }

  /** Fences the previous owner, then reads where to resume. */
  async open(coordinator: CommittedOffset | undefined, signal: AbortSignal): Promise<StartingOffset> {
    this.expect('new');
    const { producer, offsetsTopic, connector, partition } = this.options;
    await this.guard(async () => {
      await producer.start();
      await producer.initTransactions();
    });
    this.state = 'open';
    const fromTopic = await offsetsTopic.read(connector, partition, signal);
    const start = chooseStartingOffset(fromTopic, coordinator);
    this.log.info(
      { origin: start.origin, topicEpoch: fromTopic ? String(fromTopic.epoch) : undefined, coordinatorEpoch: coordinator ? String(coordinator.epoch) : undefined },
      'exactly-once partition fenced its previous owner and recovered its offset',
    );
    return start;
  }

  async begin(): Promise<void> {
    this.expect('open');
    this.tx = await this.guard(() => this.options.producer.beginTransaction());
    this.state = 'in-transaction';
  }

  /** Records into the open transaction (resolves when Kafka acknowledged them; not yet visible). */
  send(records: ProducerRecord[]): Promise<void> {
    try {
      this.expect('in-transaction');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.guard(() => this.tx!.send(records));
  }

  /** Writes `offset` (when the transaction carried records) into the transaction and commits it. */
  async commit(offset: Uint8Array | undefined): Promise<void> {
    this.expect('in-transaction');
    const { offsetsTopic, connector, partition, epoch } = this.options;
    await this.guard(async () => {
      if (offset !== undefined) await this.tx!.send([offsetsTopic.record(connector, partition, offset, epoch)]);
      await this.tx!.commit();
    });
    this.tx = undefined;
    this.state = 'open';
  }

  /** Aborts the open transaction, if any (best effort: a replacement producer aborts it anyway). */
  async abort(): Promise<void> {
    if (this.state !== 'in-transaction') return;
    const tx = this.tx;
    this.tx = undefined;
    this.state = 'open';
    await tx?.abort().catch((err: unknown) => this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'abort failed; the next owner or producer aborts it'));
  }

  /** Aborts what is open and closes the producer. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    await this.abort();
    this.state = 'closed';
    await this.options.producer.stop().catch(() => undefined);
  }

  get fenced(): boolean {
    return this.state === 'fenced';
  }

  private expect(state: State): void {
    if (this.state === state) return;
    if (this.state === 'fenced') throw new ProducerFencedError(`stream partition "${this.options.partition}" of connector "${this.options.connector}" was fenced by a newer owner (transactional.id "${this.options.transactionalId}")`);
    throw new FailedPreconditionError(`exactly-once partition "${this.options.partition}" is ${this.state}, not ${state}`);
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ProducerFencedError) {
        this.state = 'fenced';
        this.tx = undefined;
      }
      throw err instanceof TributaryError ? err : new FailedPreconditionError(String(err), { cause: err });
    }
  }
}
