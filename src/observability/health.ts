/**
 * Readiness of one worker, as `grpc.health.v1` and HTTP `/health` report it.
 *
 * A worker is SERVING only when every condition holds: it reached the coordinator (etcd), it
 * reached Kafka, it joined the cluster (a leader welcomed its session), and it is not fenced.
 * Until then, and from a fence until the next welcome, it is NOT_SERVING with the reason of the
 * first condition that does not hold. Liveness is separate: a process that answers at all is
 * alive (`/health/live`), so Kubernetes restarts a hung process, not one waiting for etcd.
 *
 * The worker calls `set()`; readers call `status()` or subscribe with `onChange()`.
 */

export type HealthCondition = 'coordinator' | 'kafka' | 'joined' | 'not-fenced';

const ORDER: HealthCondition[] = ['coordinator', 'kafka', 'joined', 'not-fenced'];

const PENDING: Record<HealthCondition, string> = {
  coordinator: 'the coordinator (etcd) has not been reached yet',
  kafka: 'Kafka has not been reached yet',
  joined: 'the worker has not joined the cluster yet (no session with a leader)',
  'not-fenced': '',
};

export interface HealthStatus {
  serving: boolean;
  /** Why not serving (the first condition that does not hold); empty while serving. */
  reason: string;
  conditions: Record<HealthCondition, { ok: boolean; reason: string }>;
}

/** What the worker calls as it reaches (or loses) what it needs. */
export interface HealthReporter {
  set(condition: HealthCondition, ok: boolean, reason?: string): void;
}

export class WorkerHealth implements HealthReporter {
  private readonly conditions = new Map<HealthCondition, { ok: boolean; reason: string }>(
    ORDER.map((c) => [c, { ok: c === 'not-fenced', reason: PENDING[c] }]),
  );
  private readonly listeners = new Set<(status: HealthStatus) => void>();
  private stopping = false;

  set(condition: HealthCondition, ok: boolean, reason?: string): void {
    const before = this.status();
    this.conditions.set(condition, { ok, reason: ok ? '' : (reason ?? PENDING[condition]) });
    const after = this.status();
    if (before.serving !== after.serving || before.reason !== after.reason) for (const l of this.listeners) l(after);
  }

  /** Marks the worker as shutting down: NOT_SERVING from now on, whatever else holds. */
  shuttingDown(): void {
    this.stopping = true;
    const s = this.status();
    for (const l of this.listeners) l(s);
  }

  status(): HealthStatus {
    const conditions = Object.fromEntries(ORDER.map((c) => [c, { ...this.conditions.get(c)! }])) as HealthStatus['conditions'];
    if (this.stopping) return { serving: false, reason: 'the worker is shutting down', conditions };
    const failing = ORDER.find((c) => !conditions[c].ok);
    return { serving: failing === undefined, reason: failing === undefined ? '' : conditions[failing].reason, conditions };
  }

  /** Called with the new status whenever serving or its reason changes. */
  onChange(listener: (status: HealthStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
