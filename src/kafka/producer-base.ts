/**
 * What both producer adapters share: lifecycle, call order, fencing and transactions. An adapter
 * only translates records and errors for its library (see `ProducerDriver`).
 *
 * Invariants kept here:
 * - One produce request in flight per producer, in call order (SendQueue).
 * - A request that fails with a retriable error (the broker restarting, a leader moving) is sent
 *   again, as the same records on the same client, until the delivery timeout: the libraries
 *   advance sequence numbers only on success, so the retry carries the same producer id and
 *   sequence numbers, and a first attempt that was written before its response got lost is
 *   deduplicated by the broker. No loss, no duplicate.
 * - After a request finally failed, an idempotent producer takes a fresh producer id before it
 *   sends again. The failed request may have been written; reusing its sequence numbers for
 *   other records would let the broker take them for a retry and drop them.
 * - Once fenced (another producer took the same transactionalId), every call fails: a zombie
 *   must not re-initialise and fence the legitimate producer in turn.
 */
import type { Logger } from 'pino';
import { CancelledError, FailedPreconditionError, TributaryError, isRetriable } from '../errors.js';
import { backoffDelay } from '../util/backoff.js';
import { sleep } from '../util/iterate.js';
import { ProducerFencedError } from './errors.js';
import type { CompiledProducerOptions } from './config.js';
import { SendQueue } from './send-queue.js';
import type { ProducerRecord, ProducerTransaction, RecordProducer, SendOptions } from './types.js';

/** The library side of a transaction; every method throws Tributary errors. */
export interface DriverTransaction {
  send(records: ProducerRecord[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** One library's producer. Every method throws Tributary errors (converted by the driver). */
export interface ProducerDriver {
  /** Creates and connects the library client; called again after `close` to replace it. */
  open(): Promise<void>;
  close(): Promise<void>;
  send(records: ProducerRecord[]): Promise<void>;
  beginTransaction(): Promise<DriverTransaction>;
  /** Rejects records the library would mishandle (before anything is queued). */
  validate(records: ProducerRecord[]): void;
}

type State = 'new' | 'running' | 'stopped';

export class QueuedProducer implements RecordProducer {
  readonly #driver: ProducerDriver;
  readonly #opts: CompiledProducerOptions;
  readonly #queue: SendQueue;
  readonly #logger: Logger | undefined;
  readonly #drainTimeoutMs: number;
  #state: State = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #fenced: TributaryError | undefined;
  /** Why abort() was called: nothing may be sent after it. */
  #aborted: string | undefined;
  /** Set after a failed request: replace the client (fresh producer id) before the next one. */
  #stale = false;
  #tx: QueuedTransaction | undefined;
  #beginning = false;
  #initialised = false;

  constructor(driver: ProducerDriver, opts: CompiledProducerOptions, drainTimeoutMs: number, logger?: Logger) {
    this.#driver = driver;
    this.#opts = opts;
    this.#queue = new SendQueue(opts.maxRequestBytes);
    this.#drainTimeoutMs = drainTimeoutMs;
    this.#logger = logger;
  }

  /** Connects (and, for an idempotent producer, obtains a producer id). Rejects when Kafka is unreachable. */
  start(): Promise<void> {
    if (this.#state === 'stopped') return Promise.reject(new FailedPreconditionError('producer was stopped; create a new one'));
    this.#starting ??= this.#driver.open().then(
      () => {
        if (this.#state === 'new') this.#state = 'running';
      },
      (err: unknown) => {
        this.#starting = undefined;
        throw err;
      },
    );
    return this.#starting;
  }

  send(records: ProducerRecord[], options?: SendOptions): Promise<void> {
    try {
      this.#checkUsable();
      if (this.#opts.transactionalId !== undefined) {
        throw new FailedPreconditionError(
          `producer with transactionalId "${this.#opts.transactionalId}" writes only in transactions; use beginTransaction()`,
        );
      }
      this.#driver.validate(records);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queue.enqueue(records, this.#dispatch, options?.lane);
  }

  readonly #dispatch = async (records: ProducerRecord[]): Promise<void> => {
    await this.#beforeRequest();
    const deadline = Date.now() + this.#opts.deliveryTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#driver.send(records);
        return;
      } catch (err) {
        if (this.#aborted !== undefined) throw new CancelledError(`not sent again: ${this.#aborted}`, { cause: err });
        const delay = backoffDelay(attempt, { initialMs: 100, maxMs: 2_000 });
        if (this.#retrySameRequest(err) && Date.now() + delay < deadline) {
          this.#logger?.debug({ attempt, err: (err as Error).message }, 'produce request failed; sending the same request again');
          // A ref'd timer: a send being retried is pending work that must keep the process alive.
          await new Promise((resolve) => setTimeout(resolve, delay));
          // Aborted meanwhile (fenced): this request must not leave again.
          if (this.#aborted !== undefined) throw new CancelledError(`not sent again: ${this.#aborted}`, { cause: err });
          continue;
        }
        this.#afterFailure(err);
        throw err;
      }
    }
  };

  /** Whether a failed request may be sent again unchanged (see the invariants above). */
  #retrySameRequest(err: unknown): boolean {
    return this.#opts.idempotent && this.#state === 'running' && isRetriable(err) && !(err instanceof ProducerFencedError);
  }

  async beginTransaction(): Promise<ProducerTransaction> {
    this.#checkUsable();
    if (this.#opts.transactionalId === undefined) {
      throw new FailedPreconditionError('beginTransaction needs a producer created with a transactionalId');
    }
    if (this.#tx || this.#beginning) {
      throw new FailedPreconditionError('a transaction is already open on this producer; commit or abort it first');
    }
    this.#beginning = true;
    let backend: DriverTransaction;
    try {
      await this.#beforeRequest();
      backend = await this.#driver.beginTransaction();
    } catch (err) {
      this.#afterFailure(err);
      throw err;
    } finally {
      this.#beginning = false;
    }
    const tx = new QueuedTransaction(this.#queue, backend, {
      checkUsable: () => this.#checkUsable(),
      validate: (records) => this.#driver.validate(records),
      onFailure: (err) => this.#afterFailure(err),
      onEnd: () => {
        if (this.#tx === tx) this.#tx = undefined;
      },
    });
    this.#tx = tx;
    return tx;
  }

  abandon(lane: string, reason: string): number {
    return this.#queue.failQueuedLane(lane, new CancelledError(`not sent: ${reason}`));
  }

  async abort(reason: string): Promise<number> {
    if (this.#aborted !== undefined) return 0;
    this.#aborted = reason;
    const wasStarted = this.#starting !== undefined;
    this.#state = 'stopped';
    const dropped = this.#queue.failQueued(new CancelledError(`not sent: ${reason}`));
    // No drain and no transaction abort: the client goes now. A transaction left open is
    // aborted by the broker (timeout) or by the next owner's initTransactions.
    this.#stopping ??= wasStarted
      ? this.#driver.close().catch((err: unknown) => this.#logger?.debug({ err }, 'closing the Kafka producer failed'))
      : Promise.resolve();
    await this.#stopping;
    return dropped;
  }

  async initTransactions(): Promise<void> {
    if (this.#opts.transactionalId === undefined) {
      throw new FailedPreconditionError('initTransactions needs a producer created with a transactionalId');
    }
    if (this.#initialised) return;
    // Both libraries send InitProducerId on the first transaction of a client instance; an empty
    // transaction ends locally (nothing reaches the coordinator but the InitProducerId).
    const tx = await this.beginTransaction();
    await tx.abort();
    this.#initialised = true;
  }

  /** Waits (up to the request timeout) for queued sends, then closes. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasStarted = this.#starting !== undefined;
    this.#state = 'stopped';
    if (!wasStarted) return;
    await this.#starting?.catch(() => undefined);
    const drained = await Promise.race([this.#queue.drain().then(() => true), sleep(this.#drainTimeoutMs).then(() => false)]);
    if (!drained) {
      this.#logger?.warn({ drainTimeoutMs: this.#drainTimeoutMs }, 'producer stopped before its queued sends finished');
      this.#queue.failQueued(new FailedPreconditionError('producer stopped before this send was dispatched; nothing was written'));
    }
    // An open transaction would hold back read_committed readers until it times out.
    const tx = this.#tx;
    if (tx && drained && !this.#fenced) {
      await Promise.race([tx.abortOnStop().catch(() => undefined), sleep(this.#drainTimeoutMs)]);
    }
    await this.#driver.close().catch((err: unknown) => this.#logger?.debug({ err }, 'closing the Kafka producer failed'));
  }

  #checkUsable(): void {
    if (this.#fenced) throw this.#fenced;
    if (this.#state === 'new') throw new FailedPreconditionError('producer not started; call start() first');
    if (this.#state === 'stopped') throw new FailedPreconditionError('producer was stopped; create a new one');
  }

  async #beforeRequest(): Promise<void> {
    this.#checkUsable();
    if (!this.#stale) return;
    // A new client instance is the one way both libraries reliably take a fresh producer id and
    // restart sequence numbers (for a transactional id it also bumps the epoch).
    this.#logger?.debug('replacing the Kafka producer after a failed request (fresh producer id)');
    await this.#driver.close().catch(() => undefined);
    await this.#driver.open();
    this.#stale = false;
    this.#initialised = false;
  }

  #afterFailure(err: unknown): void {
    if (err instanceof ProducerFencedError) {
      this.#fenced = err;
      this.#queue.failQueued(err);
      return;
    }
    if (this.#opts.idempotent) this.#stale = true;
  }
}

interface TransactionHooks {
  checkUsable(): void;
  validate(records: ProducerRecord[]): void;
  onFailure(err: unknown): void;
  onEnd(): void;
}

/** A transaction whose sends go through the producer's queue, so commit sees them all settled. */
class QueuedTransaction implements ProducerTransaction {
  readonly #queue: SendQueue;
  readonly #backend: DriverTransaction;
  readonly #hooks: TransactionHooks;
  #ended = false;
  #failure: unknown;

  constructor(queue: SendQueue, backend: DriverTransaction, hooks: TransactionHooks) {
    this.#queue = queue;
    this.#backend = backend;
    this.#hooks = hooks;
  }

  send(records: ProducerRecord[]): Promise<void> {
    try {
      this.#checkOpen();
      this.#hooks.validate(records);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queue.enqueue(records, this.#dispatch);
  }

  readonly #dispatch = async (records: ProducerRecord[]): Promise<void> => {
    try {
      await this.#backend.send(records);
    } catch (err) {
      this.#failure ??= err;
      this.#hooks.onFailure(err);
      throw err;
    }
  };

  async commit(): Promise<void> {
    this.#checkOpen();
    await this.#queue.drain();
    if (this.#failure !== undefined) {
      const reason = this.#failure instanceof Error ? this.#failure.message : String(this.#failure);
      throw new FailedPreconditionError(`cannot commit: a send in this transaction failed (${reason}); abort the transaction`, {
        cause: this.#failure,
      });
    }
    try {
      await this.#backend.commit();
    } catch (err) {
      // Still open: the caller may retry commit (retriable errors) or abort.
      this.#hooks.onFailure(err);
      throw err;
    }
    this.#end();
  }

  abort(): Promise<void> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.abortOnStop();
  }

  /** Abort without the producer-state check (the producer is stopping). */
  async abortOnStop(): Promise<void> {
    if (this.#ended) return;
    await this.#queue.drain();
    try {
      await this.#backend.abort();
    } catch (err) {
      // The replacement client's InitProducerId aborts the transaction on the broker anyway.
      this.#hooks.onFailure(err);
      this.#end();
      throw err;
    }
    this.#end();
  }

  #checkOpen(): void {
    this.#hooks.checkUsable();
    if (this.#ended) throw new FailedPreconditionError('transaction already committed or aborted; begin a new one');
  }

  #end(): void {
    this.#ended = true;
    this.#hooks.onEnd();
  }
}
