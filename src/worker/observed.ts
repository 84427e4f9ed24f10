/**
 * The worker's side of observability, kept out of node.ts: waiting (with backoff) for etcd and
 * Kafka while reporting NOT_SERVING, grpc.health.v1 backed by WorkerHealth, and the view the
 * scrape-time gauges read.
 */
import type { Logger } from 'pino';
import { CancelledError, describeError } from '../errors.js';
import type { HealthCondition, WorkerHealth, WorkerStateView } from '../observability/index.js';
import { Backoff } from '../util/backoff.js';
import { sleep } from '../util/iterate.js';
import type { WorkerNode } from './node.js';

/**
 * Runs `attempt` until it succeeds, retrying with capped backoff; `condition` is NOT_SERVING
 * (naming the last error) until then. Throws CancelledError if `signal` aborts first.
 */
export async function untilReached(health: WorkerHealth, condition: HealthCondition, attempt: () => Promise<unknown>, signal: AbortSignal, log: Logger): Promise<void> {
  const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
  for (;;) {
    if (signal.aborted) throw new CancelledError(`stopped while waiting for ${condition}`);
    try {
      await attempt();
      health.set(condition, true);
      return;
    } catch (err) {
      const message = describeError(err).message;
      health.set(condition, false, `cannot reach ${condition === 'coordinator' ? 'the coordinator (etcd)' : condition}: ${message}`);
      const delay = backoff.next();
      log.warn({ err: message, retryInMs: delay }, `cannot reach ${condition} yet; retrying`);
      await sleep(delay, signal);
    }
  }
}

type ServingStatus = { SERVING: number; NOT_SERVING: number };

/** grpc.health.v1 Check and Watch (the empty service name: the whole worker). */
export function healthWatch<S extends ServingStatus>(health: WorkerHealth, statuses: S) {
  const current = () => (health.status().serving ? statuses.SERVING : statuses.NOT_SERVING);
  return {
    check: async () => ({ status: current() }),
    async *watch(_request: unknown, context: { signal: AbortSignal }) {
      let last = current();
      yield { status: last };
      while (!context.signal.aborted) {
        await new Promise<void>((resolve) => {
          const off = health.onChange(() => {
            off();
            resolve();
          });
          context.signal.addEventListener('abort', () => {
            off();
            resolve();
          }, { once: true });
        });
        const now = current();
        if (now !== last && !context.signal.aborted) yield { status: (last = now) };
      }
    },
  };
}

/** What the scrape-time gauges read from a running node. */
export function metricsView(node: WorkerNode): WorkerStateView {
  return {
    creditsInUse: () => node.worker.credits.inUse,
    creditsCapacity: () => node.worker.credits.capacity,
    creditBytesInUse: () => node.worker.byteCredits.inUse,
    creditBytesCapacity: () => node.worker.byteCredits.capacity,
    partitions: () =>
      node.worker.connectors().flatMap((runtime) => runtime.statuses().map((s) => ({ connector: runtime.name, state: s.state, inFlight: s.inFlight }))),
    connectors: () => node.worker.connectors().length,
    leaderTerm: () => Number(node.leader?.term ?? node.membership?.leaderTerm ?? 0n),
    isLeader: () => node.leader !== undefined,
  };
}
