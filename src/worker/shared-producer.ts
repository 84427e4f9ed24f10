/**
 * One Kafka producer per worker for every at-least-once source connector without producer
 * overrides (issue 26): N connectors no longer mean N connections each sending frequent tiny
 * produce requests. Each connector gets a handle; the shared producer starts with the first
 * handle and stops when the last one is stopped.
 *
 * Failures stay per partition (invariant 8): every stream partition sends in a lane of its own
 * (`<connector>\0<partition>`, see source-task.ts), and the producer's send queue fails only the
 * lane whose records Kafka rejected (src/kafka/send-queue.ts). A retriable failure (broker
 * unreachable, leader moving) fails the sends queued behind it in every lane, as it already did
 * for the partitions of one connector; each task retries its own records in order.
 *
 * Connectors that need a producer of their own keep one: at-most-once (it commits before it
 * produces, so its sends must not wait behind others'), and any `producer.override.*` (today
 * compression), which is a property of the producer.
 */
import { FailedPreconditionError } from '../errors.js';
import type { ProducerRecord, ProducerTransaction, RecordProducer, SendOptions } from '../kafka/index.js';

interface Shared {
  producer: RecordProducer;
  started: Promise<void> | undefined;
  handles: number;
}

export class SharedProducer {
  #current: Shared | undefined;

  constructor(private readonly create: () => RecordProducer) {}

  /** Producers open now (0 or 1), for tests and metrics. */
  get open(): number {
    return this.#current ? 1 : 0;
  }

  /** A handle for one connector: start() before sending, stop() when the connector closes. */
  acquire(): RecordProducer {
    const shared = (this.#current ??= { producer: this.create(), started: undefined, handles: 0 });
    shared.handles++;
    const inFlight = new Set<Promise<void>>();
    let stopped = false;
    const release = async () => {
      await Promise.allSettled([...inFlight]);
      shared.handles--;
      if (shared.handles > 0) return;
      if (this.#current === shared) this.#current = undefined;
      await shared.producer.stop();
    };
    let stopping: Promise<void> | undefined;
    return {
      start: async () => {
        shared.started ??= shared.producer.start().catch((err: unknown) => {
          shared.started = undefined; // the next handle's start tries again
          throw err;
        });
        await shared.started;
      },
      send: (records: ProducerRecord[], options?: SendOptions) => {
        if (stopped) return Promise.reject(new FailedPreconditionError('this connector\'s producer handle is stopped'));
        const sent = shared.producer.send(records, options);
        const tracked = sent.catch(() => {});
        inFlight.add(tracked);
        void tracked.finally(() => inFlight.delete(tracked));
        return sent;
      },
      // Lanes carry the connector's name, so this drops only this connector's partition's sends.
      abandon: (lane: string, reason: string) => shared.producer.abandon(lane, reason),
      // Fencing stops every task of the worker: the shared producer closes at once for all of
      // them, and a connector opened afterwards gets a fresh one.
      abort: (reason: string) => {
        if (this.#current === shared) this.#current = undefined;
        return shared.producer.abort(reason);
      },
      beginTransaction: (): Promise<ProducerTransaction> =>
        Promise.reject(new FailedPreconditionError('the worker\'s shared producer has no transactions; a transactional connector needs a producer of its own')),
      initTransactions: (): Promise<void> =>
        Promise.reject(new FailedPreconditionError('the worker\'s shared producer has no transactions; a transactional connector needs a producer of its own')),
      stop: () => {
        stopped = true;
        stopping ??= release();
        return stopping;
      },
    };
  }
}
