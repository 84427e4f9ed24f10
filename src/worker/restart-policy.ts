/**
 * When a FAILED partition is tried again on its own (the owning worker does it; the leader sees
 * each state change through the status reports). Settings per connector:
 * - `task.restart.max.attempts`: automatic restarts after a failure before the partition stays
 *   FAILED (0 = never, Kafka Connect's behaviour);
 * - `task.restart.backoff.initial.ms`, `task.restart.backoff.max.ms`: restart n waits
 *   `min(max, initial × 2^(n−1))`, jittered into its upper half so siblings that failed together
 *   do not come back in lockstep.
 * The attempt count resets once a restarted partition commits a record again, and an operator
 * restart starts a fresh count. Failures of the plugin's shared process are not counted here
 * (see plugin-failure.ts): they are retried until the process is back.
 */
export interface RestartPolicy {
  maxAttempts: number;
  initialMs: number;
  maxMs: number;
}

export const defaultRestartPolicy: RestartPolicy = { maxAttempts: 10, initialMs: 1_000, maxMs: 60_000 };

/** Never restart on its own: the partition stays FAILED until an operator restarts it. */
export const noRestarts: RestartPolicy = { maxAttempts: 0, initialMs: 1_000, maxMs: 60_000 };

/** The longest wait before automatic restart `attempt` (1-based). */
export function restartCeilingMs(attempt: number, policy: RestartPolicy): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`restart attempt must be a positive integer, got ${attempt}`);
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt - 1, 40));
}

/** The wait before automatic restart `attempt` (1-based): in [ceiling/2, ceiling]. */
export function restartDelayMs(attempt: number, policy: RestartPolicy, random: () => number = Math.random): number {
  const ceiling = restartCeilingMs(attempt, policy);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
