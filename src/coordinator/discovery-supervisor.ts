/**
 * The leader's partition discovery: one loop per connector that is not STOPPED, reading the
 * connector's stream partitions (files, tables, topic-partitions) as they appear and vanish.
 * Each change is persisted before the leader's memory takes it and a rebalance is asked for; a
 * failing discovery is retried with capped backoff and its error kept as the connector's error
 * (shown in its status) until it succeeds again.
 */
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import { Backoff } from '../util/backoff.js';
import { sleep } from '../util/iterate.js';
import type { ConnectorRecord, PartitionRecord } from './backend.js';

/** Finds a connector's stream partitions (the worker supplies it: plugins and Kafka live there). */
export type PartitionDiscoverer = (connector: ConnectorRecord, signal: AbortSignal) => AsyncIterable<{ snapshot: boolean; added: PartitionRecord[]; removed: string[] }>;

/** What the supervisor needs of the leader. */
export interface DiscoveryHost {
  /** The connector's partitions as the leader holds them now. */
  partitionsOf(connector: string): readonly PartitionRecord[];
  /** Persists the connector's new partition list, then applies it to memory and asks for a rebalance. */
  apply(connector: string, partitions: PartitionRecord[], signal: AbortSignal): Promise<void>;
}

export class DiscoverySupervisor {
  private readonly running = new Map<string, AbortController>();
  private readonly errors = new Map<string, string>();

  constructor(
    private readonly discover: PartitionDiscoverer,
    private readonly host: DiscoveryHost,
    private readonly log: Logger,
  ) {}

  /** Starts discovering `connector`'s partitions unless it is STOPPED or already discovered. */
  start(connector: ConnectorRecord): void {
    if (connector.targetState === 'STOPPED' || this.running.has(connector.name)) return;
    const controller = new AbortController();
    this.running.set(connector.name, controller);
    void this.run(connector, controller.signal);
  }

  stop(name: string): void {
    this.running.get(name)?.abort();
    this.running.delete(name);
  }

  /** Stops and discovers again from scratch (a connector restart), forgetting its last error. */
  restart(record: ConnectorRecord): void {
    this.stop(record.name);
    this.errors.delete(record.name);
    this.start(record);
  }

  /** Stops every loop (the leader stopping). */
  stopAll(): void {
    for (const d of this.running.values()) d.abort();
    this.running.clear();
  }

  /** The connector's last discovery failure, while it has not succeeded since. */
  errorOf(name: string): string | undefined {
    return this.errors.get(name);
  }

  forget(name: string): void {
    this.errors.delete(name);
  }

  private async run(connector: ConnectorRecord, signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    while (!signal.aborted) {
      try {
        for await (const change of this.discover(connector, signal)) {
          if (signal.aborted) return;
          this.errors.delete(connector.name);
          const current = change.snapshot ? [] : [...this.host.partitionsOf(connector.name)];
          const removed = new Set(change.removed);
          const next = current.filter((p) => !removed.has(p.id));
          for (const p of change.added) if (!next.some((q) => q.id === p.id)) next.push(p);
          await this.host.apply(connector.name, next, signal);
          if (signal.aborted) return;
          this.log.info({ connector: connector.name, partitions: next.length, added: change.added.length, removed: change.removed.length }, 'stream partitions discovered');
        }
        return;
      } catch (err) {
        if (signal.aborted) return;
        const message = describeError(err).message;
        this.errors.set(connector.name, message);
        this.log.warn({ connector: connector.name, err: message }, 'partition discovery failed; retrying');
        await sleep(backoff.next(), signal);
      }
    }
  }
}
