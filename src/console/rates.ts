/**
 * Records/s per connector from the workers' own Prometheus counters
 * (`tributary_source_records_produced_total`, `tributary_sink_records_written_total`), summed
 * over the workers: the console reads each worker's counters through its Admin API
 * (GetRecordCounters) every sample and keeps the previous reading of each worker here.
 *
 * A worker's rate for a connector is the growth of its counter since that worker's previous
 * reading, over the time between the two; the connector's rate is the sum over workers. A source
 * counts what Kafka acknowledged, a sink what its plugin reported durable (a connector has only
 * one of the two, so the sum of both is its count). Counters restart from zero with their
 * process (a new `startedAtMs`): a worker that restarted while the console watched counts from
 * its start; one first seen already running gives a rate from its second reading on. A worker
 * that missed a sample (unreachable for a moment) is measured over the longer interval next time.
 */
import type { WorkerRecordCounters } from '../admin/index.js';

interface Reading {
  startedAtMs: number;
  at: number;
  totals: Map<string, number>;
}

export interface RateRound {
  /** Records/s per connector that any measured worker ran records of. */
  rates: Map<string, number>;
  /** False until at least one worker was read twice (or read after it started): no rate is known yet. */
  measured: boolean;
}

export class RecordRates {
  private readonly last = new Map<string, Reading>();

  /** @param watchingSinceMs when the console started reading: a worker started after it counts from zero. */
  constructor(private readonly watchingSinceMs: number) {}

  /**
   * One round of readings (`at`: when each was taken, ms). `members` are the cluster's workers:
   * the readings of any other worker are forgotten.
   */
  update(readings: Array<{ counters: WorkerRecordCounters; at: number }>, members: ReadonlySet<string>): RateRound {
    for (const id of [...this.last.keys()]) if (!members.has(id)) this.last.delete(id);
    const rates = new Map<string, number>();
    let measured = false;
    for (const { counters, at } of readings) {
      const totals = new Map(counters.connectors.map((c) => [c.connector, c.sourceRecordsProduced + c.sinkRecordsWritten]));
      const prev = this.last.get(counters.workerId);
      this.last.set(counters.workerId, { startedAtMs: counters.startedAtMs, at, totals });
      const base: Reading | undefined =
        prev && prev.startedAtMs === counters.startedAtMs
          ? prev
          : counters.startedAtMs >= this.watchingSinceMs
            ? { startedAtMs: counters.startedAtMs, at: counters.startedAtMs, totals: new Map() }
            : undefined;
      if (!base || at <= base.at) continue;
      measured = true;
      for (const [connector, value] of totals) {
        const grown = value - (base.totals.get(connector) ?? 0);
        // Counters only grow within one process; a lower value would be a bug, not a rate.
        if (grown < 0) continue;
        rates.set(connector, (rates.get(connector) ?? 0) + (grown * 1000) / (at - base.at));
      }
    }
    return { rates, measured };
  }
}
