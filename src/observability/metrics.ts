/**
 * Prometheus metrics of one worker process (prom-client), named `tributary_<area>_<what>_<unit>`.
 *
 * The data plane and the control plane see only the narrow `WorkerMetrics` interface: a few
 * counters incremented once per batch (never per record) and histograms observed once per
 * produce call, durable acknowledgement, offset commit or assignment. Gauges (credits, partitions
 * by state, leader term) are not pushed at all: they are read from a `WorkerStateView` when
 * Prometheus scrapes, so the hot path pays nothing for them.
 *
 * Cardinality is bounded by design: labels are `connector` (one per connector with work on this
 * worker), `state` (the seven task states), `plugin` (installed plugins) and nothing per record,
 * topic or stream partition. docs/metrics.md lists every series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the worker reports. Every method is cheap and is called per batch, never per record. */
export interface WorkerMetrics {
  /** A source plugin sent `records` (one Read batch). */
  sourcePolled(connector: string, records: number): void;
  /** Kafka acknowledged one produce call of `records`, `seconds` after it was sent. */
  sourceProduced(connector: string, records: number, seconds: number): void;
  /** A sink task fetched one batch of `records` from Kafka. */
  sinkFetched(connector: string, records: number): void;
  /** A sink plugin reported `records` durable, `seconds` after the oldest of them was sent to it. */
  sinkWritten(connector: string, records: number, seconds: number): void;
  /** Records the processing stage dropped (a filter), per batch. */
  recordsFiltered(connector: string, records: number): void;
  /** Records the processing stage wrote to the dead-letter topic, per batch. */
  recordsDeadLettered(connector: string, records: number): void;
  /** Records whose error was tolerated (errors.tolerance=all) without a dead-letter topic, per batch. */
  recordsSkipped(connector: string, records: number): void;
  /** The leader wrote one batch of offset (and status) reports to the coordinator. */
  offsetCommit(seconds: number, ok: boolean): void;
  /** One batch of assignments from the leader was applied here, taking `seconds`. */
  rebalance(seconds: number): void;
  /** A heartbeat's round trip to the leader. */
  sessionRtt(seconds: number): void;
  /** The leader this worker follows changed (an election, a failover). */
  leaderChanged(): void;
  /** This worker was elected leader for `term`. */
  elected(term: bigint): void;
  /** This worker fenced itself (or was fenced by the leader). */
  fenced(): void;
  /** A plugin process died; the host restarts it. */
  pluginRestarted(plugin: string): void;
  /**
   * The record counters of /metrics per connector, for the web console's records/s (never on the
   * hot path). Absent where the worker keeps no counters (noopMetrics).
   */
  recordTotals?(): Promise<RecordTotals>;
}

/** This worker's record totals since `startedAtMs`, per connector it ran records of. */
export interface RecordTotals {
  /** When the counters started from zero (ms since the epoch). */
  startedAtMs: number;
  connectors: Array<{ connector: string; sourceRecordsProduced: number; sinkRecordsWritten: number }>;
}

/** One running stream partition, as the scrape-time gauges see it. */
export interface PartitionView {
  connector: string;
  state: string;
  /** Records handed on and not yet acknowledged. */
  inFlight: number;
}

/** Read when Prometheus scrapes (never on the hot path). */
export interface WorkerStateView {
  creditsInUse(): number;
  creditsCapacity(): number;
  /** Bytes in flight (taken from the worker's byte pool); optional for views without one. */
  creditBytesInUse?(): number;
  creditBytesCapacity?(): number;
  partitions(): PartitionView[];
  /** Connectors with a runtime on this worker. */
  connectors(): number;
  /** The term of the leader this worker follows (0 when none is known). */
  leaderTerm(): number;
  isLeader(): boolean;
}

/** Metrics that go nowhere, for embedded use and tests that do not look at them. */
export const noopMetrics: WorkerMetrics = {
  sourcePolled() {},
  sourceProduced() {},
  sinkFetched() {},
  sinkWritten() {},
  recordsFiltered() {},
  recordsDeadLettered() {},
  recordsSkipped() {},
  offsetCommit() {},
  rebalance() {},
  sessionRtt() {},
  leaderChanged() {},
  elected() {},
  fenced() {},
  pluginRestarted() {},
};

/** Latency buckets (seconds): 1 ms … 30 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const TASK_STATES = ['UNASSIGNED', 'STARTING', 'RUNNING', 'PAUSED', 'STOPPING', 'STOPPED', 'FAILED'];

export interface PrometheusMetricsOptions {
  /** Node's default process metrics (CPU, heap, event loop lag, GC); default true. */
  processMetrics?: boolean;
  /** Labels on every series, e.g. `{ worker: 'w1', cluster: 'prod' }`. */
  defaultLabels?: Record<string, string>;
}

/** WorkerMetrics backed by a prom-client Registry; `registry.metrics()` is the /metrics body. */
export class PrometheusMetrics implements WorkerMetrics {
  readonly registry = new Registry();
  /** The counters start from zero here (RecordTotals.startedAtMs). */
  private readonly startedAtMs = Date.now();
  private view: WorkerStateView | undefined;

  private readonly polled: Counter<'connector'>;
  private readonly produced: Counter<'connector'>;
  private readonly sourceBatches: Counter<'connector'>;
  private readonly produceSeconds: Histogram<'connector'>;
  private readonly fetched: Counter<'connector'>;
  private readonly written: Counter<'connector'>;
  private readonly sinkBatches: Counter<'connector'>;
  private readonly putSeconds: Histogram<'connector'>;
  private readonly filtered: Counter<'connector'>;
  private readonly deadLettered: Counter<'connector'>;
  private readonly skipped: Counter<'connector'>;
  private readonly commitSeconds: Histogram;
  private readonly commitFailures: Counter;
  private readonly rebalances: Counter;
  private readonly rebalanceSeconds: Histogram;
  private readonly rtt: Histogram;
  private readonly leaderChanges: Counter;
  private readonly elections: Counter;
  private readonly fences: Counter;
  private readonly pluginRestarts: Counter<'plugin'>;

  constructor(options: PrometheusMetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });
    const histogram = <L extends string>(name: string, help: string, labelNames: L[]) => new Histogram<L>({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers });

    this.polled = counter('tributary_source_records_polled_total', 'Records source plugins sent to the worker.', ['connector']);
    this.produced = counter('tributary_source_records_produced_total', 'Source records Kafka acknowledged.', ['connector']);
    this.sourceBatches = counter('tributary_source_batches_total', 'Produce calls Kafka acknowledged (each a batch of records).', ['connector']);
    this.produceSeconds = histogram('tributary_source_produce_seconds', 'Time from handing a batch to the producer to Kafka acknowledging it.', ['connector']);
    this.fetched = counter('tributary_sink_records_fetched_total', 'Records sink tasks fetched from Kafka.', ['connector']);
    this.written = counter('tributary_sink_records_written_total', 'Sink records the plugin reported durable.', ['connector']);
    this.sinkBatches = counter('tributary_sink_batches_total', 'Batches sink tasks sent to their plugin.', ['connector']);
    this.putSeconds = histogram('tributary_sink_put_seconds', 'Time from sending a batch to the sink plugin to the plugin reporting it durable.', ['connector']);
    this.filtered = counter('tributary_processing_records_filtered_total', 'Records dropped by the processing stage (filters).', ['connector']);
    this.deadLettered = counter('tributary_processing_records_dead_lettered_total', 'Records written to the dead-letter topic.', ['connector']);
    this.skipped = counter('tributary_processing_records_skipped_total', 'Records whose error was tolerated (errors.tolerance=all) without a dead-letter topic.', ['connector']);
    this.commitSeconds = histogram('tributary_offset_commit_seconds', 'Time the leader took to write one batch of offset reports to the coordinator (leader only).', []);
    this.commitFailures = counter('tributary_offset_commit_failures_total', 'Offset report batches the leader could not write (retried with the next flush).', []);
    this.rebalances = counter('tributary_cluster_rebalances_total', 'Assignment batches from the leader applied on this worker.', []);
    this.rebalanceSeconds = histogram('tributary_cluster_rebalance_seconds', 'Time to apply one assignment batch (open connectors, start partitions).', []);
    this.rtt = histogram('tributary_cluster_session_rtt_seconds', 'Heartbeat round trip to the leader over the session stream.', []);
    this.leaderChanges = counter('tributary_cluster_leader_changes_total', 'Times the leader this worker follows changed (elections and failovers).', []);
    this.elections = counter('tributary_cluster_elections_won_total', 'Times this worker was elected leader.', []);
    this.fences = counter('tributary_cluster_fences_total', 'Times this worker stopped its tasks because it was cut off from (or fenced by) the leader.', []);
    this.pluginRestarts = counter('tributary_plugin_process_restarts_total', 'Plugin child processes that died and were restarted.', ['plugin']);

    const view = () => this.view;
    new Gauge({ name: 'tributary_worker_credits_in_use_records', help: 'Records in flight on this worker (credits taken from the worker pool).', registers, collect() { const v = view(); if (v) this.set(v.creditsInUse()); } });
    new Gauge({ name: 'tributary_worker_credits_capacity_records', help: 'Size of the worker credit pool (max.inflight records over the worker).', registers, collect() { const v = view(); if (v) this.set(v.creditsCapacity()); } });
    new Gauge({ name: 'tributary_worker_credits_in_use_bytes', help: 'Bytes in flight on this worker (taken from the worker byte pool).', registers, collect() { const v = view(); if (v?.creditBytesInUse) this.set(v.creditBytesInUse()); } });
    new Gauge({ name: 'tributary_worker_credits_capacity_bytes', help: 'Size of the worker byte pool (worker.max.inflight.bytes).', registers, collect() { const v = view(); if (v?.creditBytesCapacity) this.set(v.creditBytesCapacity()); } });
    new Gauge({ name: 'tributary_worker_connectors', help: 'Connectors with a runtime on this worker.', registers, collect() { const v = view(); if (v) this.set(v.connectors()); } });
    new Gauge({
      name: 'tributary_worker_partitions',
      help: 'Stream partitions (tasks) on this worker, by connector and state.',
      labelNames: ['connector', 'state'],
      registers,
      collect() {
        const v = view();
        if (!v) return;
        this.reset();
        const counts = new Map<string, Map<string, number>>();
        for (const p of v.partitions()) {
          let byState = counts.get(p.connector);
          if (!byState) counts.set(p.connector, (byState = new Map(TASK_STATES.map((s) => [s, 0]))));
          byState.set(p.state, (byState.get(p.state) ?? 0) + 1);
        }
        for (const [connector, byState] of counts) for (const [state, n] of byState) this.set({ connector, state }, n);
      },
    });
    new Gauge({
      name: 'tributary_worker_in_flight_records',
      help: 'Records handed to Kafka or to the sink plugin and not yet acknowledged, by connector.',
      labelNames: ['connector'],
      registers,
      collect() {
        const v = view();
        if (!v) return;
        this.reset();
        const sums = new Map<string, number>();
        for (const p of v.partitions()) sums.set(p.connector, (sums.get(p.connector) ?? 0) + p.inFlight);
        for (const [connector, n] of sums) this.set({ connector }, n);
      },
    });
    new Gauge({ name: 'tributary_cluster_leader_term', help: 'Term of the leader this worker follows (grows with every election; 0 when none is known).', registers, collect() { const v = view(); if (v) this.set(v.leaderTerm()); } });
    new Gauge({ name: 'tributary_cluster_is_leader', help: '1 while this worker is the leader.', registers, collect() { const v = view(); if (v) this.set(v.isLeader() ? 1 : 0); } });
  }

  /** Where the scrape-time gauges read from (the worker node binds itself once started). */
  bind(view: WorkerStateView): void {
    this.view = view;
  }

  sourcePolled(connector: string, records: number): void {
    this.polled.inc({ connector }, records);
  }

  sourceProduced(connector: string, records: number, seconds: number): void {
    this.produced.inc({ connector }, records);
    this.sourceBatches.inc({ connector });
    this.produceSeconds.observe({ connector }, seconds);
  }

  sinkFetched(connector: string, records: number): void {
    this.fetched.inc({ connector }, records);
    this.sinkBatches.inc({ connector });
  }

  sinkWritten(connector: string, records: number, seconds: number): void {
    this.written.inc({ connector }, records);
    this.putSeconds.observe({ connector }, seconds);
  }

  recordsFiltered(connector: string, records: number): void {
    this.filtered.inc({ connector }, records);
  }

  recordsDeadLettered(connector: string, records: number): void {
    this.deadLettered.inc({ connector }, records);
  }

  recordsSkipped(connector: string, records: number): void {
    this.skipped.inc({ connector }, records);
  }

  offsetCommit(seconds: number, ok: boolean): void {
    if (ok) this.commitSeconds.observe(seconds);
    else this.commitFailures.inc();
  }

  rebalance(seconds: number): void {
    this.rebalances.inc();
    this.rebalanceSeconds.observe(seconds);
  }

  sessionRtt(seconds: number): void {
    this.rtt.observe(seconds);
  }

  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  elected(_term: bigint): void {
    this.elections.inc();
  }

  fenced(): void {
    this.fences.inc();
  }

  pluginRestarted(plugin: string): void {
    this.pluginRestarts.inc({ plugin });
  }

  async recordTotals(): Promise<RecordTotals> {
    const byConnector = new Map<string, { connector: string; sourceRecordsProduced: number; sinkRecordsWritten: number }>();
    const entry = (connector: string) => {
      let e = byConnector.get(connector);
      if (!e) byConnector.set(connector, (e = { connector, sourceRecordsProduced: 0, sinkRecordsWritten: 0 }));
      return e;
    };
    for (const v of (await this.produced.get()).values) entry(String(v.labels.connector)).sourceRecordsProduced = v.value;
    for (const v of (await this.written.get()).values) entry(String(v.labels.connector)).sinkRecordsWritten = v.value;
    return { startedAtMs: this.startedAtMs, connectors: [...byConnector.values()] };
  }

  /** The Prometheus text exposition of every series. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
