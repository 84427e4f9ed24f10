/**
 * ConsoleHub: one per worker, whatever the number of browsers. It follows the cluster through
 * the Admin API of this worker (which forwards to the leader, so it keeps working across a leader
 * failover): a WatchStatus stream for connector and partition state, and a sampler (every
 * `sampleIntervalMs`) for membership, leader and term, configs, topics, committed offsets, every
 * connector's records/s from the workers' Prometheus record counters (each member's Admin API,
 * GetRecordCounters, summed in RecordRates), and — from Kafka — each sink's lag in its
 * `connect-<name>` group. Rates are computed here once per sample and pushed to every
 * subscriber; browsers never poll.
 *
 * Changes become a log of events (partition moved, failed, restarted, leader changed, …) kept
 * in a bounded ring. Subscribers get the whole state (small: one entry per connector and
 * partition) at most every `pushIntervalMs`, plus the events since the last push.
 *
 * Lifecycle: idle → running (start) → stopped (stop: aborts both loops, closes the Kafka
 * clients and the clients to the workers, and ends every subscription). stop() is idempotent.
 */
import type { Logger } from 'pino';
import type { AdminClient, ConnectorStatus, ClusterInfo, ConnectorInfo } from '../admin/index.js';
import { createGroupOffsetStore, createTopicAdmin, type GroupOffsetStore, type KafkaConnectionConfig, type TopicAdmin } from '../kafka/index.js';
import { Backoff } from '../util/backoff.js';
import { sleep } from '../util/iterate.js';
import { RecordRates } from './rates.js';
import type { ConsoleConnector, ConsoleEvent, ConsoleLag, ConsolePartition, ConsoleState, PartitionStateName } from './types.js';

/** The admin calls the hub makes (an AdminClient to this worker). */
export type HubAdmin = Pick<AdminClient, 'connectors' | 'offsets' | 'cluster' | 'watchStatus'>;

/** The admin calls the hub makes to each worker of the cluster (an AdminClient to its address). */
export type WorkerAdmin = Pick<AdminClient, 'recordCounters' | 'close'>;

export interface ConsoleHubOptions {
  workerId: string;
  /** Read when the hub starts (the worker's gRPC port is bound by then). */
  admin: () => HubAdmin;
  /**
   * A client to the worker at `address` (a member's gRPC address), for its record counters: made
   * once per address with the same credentials as `admin`, closed when the member leaves or the
   * hub stops.
   */
  workerAdmin: (address: string) => WorkerAdmin;
  /** Kafka, for sink lag; without it lag is left empty. */
  kafka?: KafkaConnectionConfig;
  logger: Logger;
  /** Default 2000 ms. */
  sampleIntervalMs?: number;
  /** Samples kept for the sparkline (default 30). */
  historyLength?: number;
  /** Pushes are coalesced to at most one per this interval (default 250 ms). */
  pushIntervalMs?: number;
  /** Events kept for a browser that connects later (default 200). */
  eventLimit?: number;
}

/** One push to a subscriber: the state, and the events since the previous push (all kept ones on the first). */
export interface HubUpdate {
  state: ConsoleState;
  events: ConsoleEvent[];
  reset: boolean;
}

/** `data` is `update` as JSON, serialised once for all subscribers. */
export type HubListener = (update: HubUpdate, data: string) => void;

type HubState = 'idle' | 'running' | 'stopped';

export class ConsoleHub {
  private lifecycle: HubState = 'idle';
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly listeners = new Map<HubListener, () => void>();
  private readonly statuses = new Map<string, ConnectorStatus>();
  private readonly known = new Set<string>();
  private readonly infos = new Map<string, ConnectorInfo>();
  private readonly topics = new Map<string, string[]>();
  private readonly offsets = new Map<string, Map<string, string>>();
  private readonly lag = new Map<string, ConsoleLag[]>();
  private readonly workerAdmins = new Map<string, WorkerAdmin>();
  private recordRates: RecordRates | undefined;
  private readonly rates = new Map<string, number | null>();
  private readonly history = new Map<string, number[]>();
  private cluster: ClusterInfo | undefined;
  private problem: string | undefined;
  private updatedAt = 0;
  private readonly events: ConsoleEvent[] = [];
  private pending: ConsoleEvent[] = [];
  private pushTimer: NodeJS.Timeout | undefined;
  private lastPushed = '';
  private topicAdmin: TopicAdmin | undefined;
  private groupOffsets: GroupOffsetStore | undefined;
  private kafkaStarted: Promise<void> | undefined;
  private readonly log: Logger;

  private hubAdmin: HubAdmin | undefined;

  constructor(private readonly options: ConsoleHubOptions) {
    this.log = options.logger.child({ component: 'console' });
  }

  private admin(): HubAdmin {
    return (this.hubAdmin ??= this.options.admin());
  }

  /** Starts following the cluster; returns at once (the first data arrives with the first push). */
  start(): void {
    if (this.lifecycle !== 'idle') throw new Error(`console hub cannot start from state ${this.lifecycle}`);
    this.lifecycle = 'running';
    this.recordRates = new RecordRates(Date.now());
    if (this.options.kafka) {
      this.topicAdmin = createTopicAdmin(this.options.kafka, this.log);
      this.groupOffsets = createGroupOffsetStore(this.options.kafka, this.log);
    }
    this.loops = [this.watchLoop(), this.sampleLoop()];
  }

  async stop(): Promise<void> {
    if (this.lifecycle === 'stopped') return;
    const wasRunning = this.lifecycle === 'running';
    this.lifecycle = 'stopped';
    this.abort.abort();
    clearTimeout(this.pushTimer);
    for (const end of this.listeners.values()) end();
    this.listeners.clear();
    if (!wasRunning) return;
    await Promise.allSettled(this.loops);
    for (const w of this.workerAdmins.values()) w.close();
    this.workerAdmins.clear();
    if (this.kafkaStarted) await Promise.allSettled([this.kafkaStarted, this.topicAdmin?.stop(), this.groupOffsets?.stop()]);
  }

  /**
   * Calls `listener` with the current state and the kept events now, then with every push until
   * the returned function is called or the hub stops (then `onEnd` runs).
   */
  subscribe(listener: HubListener, onEnd: () => void): () => void {
    if (this.lifecycle === 'stopped') {
      onEnd();
      return () => {};
    }
    this.listeners.set(listener, onEnd);
    const first: HubUpdate = { state: this.snapshot(), events: [...this.events], reset: true };
    listener(first, JSON.stringify(first));
    return () => void this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  snapshot(): ConsoleState {
    const c = this.cluster;
    const connectors: ConsoleConnector[] = [];
    const names = [...new Set([...this.statuses.keys(), ...this.infos.keys()])].sort();
    for (const name of names) {
      const status = this.statuses.get(name);
      const info = this.infos.get(name);
      const offsets = this.offsets.get(name);
      const partitions: ConsolePartition[] = (status?.partitions ?? []).map((p) => {
        const out: ConsolePartition = { partition: p.partition, state: p.state as PartitionStateName, workerId: p.workerId, epoch: p.epoch, stale: p.stale ?? false };
        if (p.error) out.error = p.error;
        if (p.trace) out.trace = p.trace;
        const offset = offsets?.get(p.partition);
        if (offset !== undefined) out.offset = offset;
        return out;
      });
      const counts = { total: partitions.length, running: 0, paused: 0, failed: 0, unassigned: 0, other: 0 };
      for (const p of partitions) {
        if (p.state === 'RUNNING') counts.running++;
        else if (p.state === 'PAUSED') counts.paused++;
        else if (p.state === 'FAILED') counts.failed++;
        else if (p.state === 'UNASSIGNED') counts.unassigned++;
        else counts.other++;
      }
      const entry: ConsoleConnector = {
        name,
        kind: status?.kind ?? info?.kind ?? 'unknown',
        plugin: info?.plugin ?? '',
        state: status?.state ?? 'UNKNOWN',
        targetState: info?.targetState ?? 'RUNNING',
        partitions,
        counts,
        config: info?.config ?? {},
        topics: this.topics.get(name) ?? [],
        recordsPerSecond: this.rates.get(name) ?? null,
        history: this.history.get(name) ?? [],
        lag: this.lag.get(name) ?? [],
      };
      if (status?.error) entry.error = status.error;
      connectors.push(entry);
    }
    const state: ConsoleState = {
      servedBy: this.options.workerId,
      cluster: c?.cluster ?? '',
      leaderId: c?.leaderId ?? '',
      term: c?.term ?? 0,
      epoch: c?.epoch ?? 0,
      workers: (c?.members ?? []).map((m) => ({ id: m.id, address: m.address, leader: m.leader, connected: m.connected, partitions: [...m.partitions] })),
      connectors,
      updatedAt: this.updatedAt,
    };
    if (this.problem) state.problem = this.problem;
    return state;
  }

  private record(event: Omit<ConsoleEvent, 'at'>): void {
    const e: ConsoleEvent = { at: Date.now(), ...event };
    this.events.push(e);
    if (this.events.length > (this.options.eventLimit ?? 200)) this.events.shift();
    this.pending.push(e);
  }

  private schedulePush(): void {
    if (this.pushTimer || this.lifecycle !== 'running') return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      const state = this.snapshot();
      // Unchanged (the sampler runs whether or not anything moved): nothing to push.
      const fingerprint = JSON.stringify({ ...state, updatedAt: 0 });
      if (fingerprint === this.lastPushed && this.pending.length === 0) return;
      this.lastPushed = fingerprint;
      const update: HubUpdate = { state, events: this.pending, reset: false };
      this.pending = [];
      // Serialised once for every subscriber.
      const data = JSON.stringify(update);
      for (const listener of this.listeners.keys()) {
        try {
          listener(update, data);
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'console subscriber failed; dropping it');
          this.listeners.get(listener)?.();
          this.listeners.delete(listener);
        }
      }
    }, this.options.pushIntervalMs ?? 250);
    this.pushTimer.unref();
  }

  /** WatchStatus through this worker, re-opened with backoff when it ends (a leader failover ends it). */
  private async watchLoop(): Promise<void> {
    const signal = this.abort.signal;
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
    while (!signal.aborted) {
      try {
        for await (const event of this.admin().watchStatus('', { signal })) {
          backoff.reset();
          if (event.deleted) {
            if (this.statuses.delete(event.connector) || this.infos.delete(event.connector)) this.forget(event.connector);
          } else if (event.status) {
            this.applyStatus(event.status);
          }
          this.schedulePush();
        }
      } catch (err) {
        if (signal.aborted) return;
        this.problem = `status stream: ${(err as Error).message}`;
        this.schedulePush();
        this.log.debug({ err: (err as Error).message }, 'WatchStatus ended; reopening');
      }
      await sleep(backoff.next(), signal);
    }
  }

  /** A connector seen for the first time after the first sample is news; before it, the baseline. */
  private noteConnector(name: string): void {
    if (this.known.has(name)) return;
    this.known.add(name);
    if (this.updatedAt > 0) this.record({ kind: 'connector-created', connector: name, message: `connector ${name} created` });
  }

  private forget(name: string): void {
    this.known.delete(name);
    this.statuses.delete(name);
    this.infos.delete(name);
    this.topics.delete(name);
    this.offsets.delete(name);
    this.lag.delete(name);
    this.rates.delete(name);
    this.history.delete(name);
    this.record({ kind: 'connector-deleted', connector: name, message: `connector ${name} deleted` });
  }

  private applyStatus(next: ConnectorStatus): void {
    const name = next.name;
    const prev = this.statuses.get(name);
    this.statuses.set(name, next);
    this.noteConnector(name);
    if (!prev) return;
    if (prev.state !== next.state) this.record({ kind: 'connector-state', connector: name, message: `connector ${name}: ${prev.state} → ${next.state}` });
    const before = new Map(prev.partitions.map((p) => [p.partition, p]));
    for (const q of next.partitions) {
      const p = before.get(q.partition);
      const id = `${name}/${q.partition}`;
      if (!p) {
        this.record({ kind: 'partition-state', connector: name, partition: q.partition, message: `${id} appeared (${q.state}${q.workerId ? ` on ${q.workerId}` : ''})` });
        continue;
      }
      if (q.state === 'FAILED' && p.state !== 'FAILED') {
        this.record({ kind: 'partition-failed', connector: name, partition: q.partition, message: `${id} failed on ${q.workerId || 'no worker'}: ${q.error ?? 'no error reported'}` });
      } else if (q.workerId && p.workerId && q.workerId !== p.workerId) {
        this.record({ kind: 'partition-moved', connector: name, partition: q.partition, message: `${id} moved from ${p.workerId} to ${q.workerId}` });
      } else if (q.workerId && !p.workerId) {
        this.record({ kind: 'partition-moved', connector: name, partition: q.partition, message: `${id} assigned to ${q.workerId}` });
      } else if (q.epoch > p.epoch && q.workerId === p.workerId) {
        this.record({ kind: 'partition-restarted', connector: name, partition: q.partition, message: `${id} restarted on ${q.workerId} (epoch ${q.epoch})` });
      } else if (q.state !== p.state) {
        this.record({ kind: 'partition-state', connector: name, partition: q.partition, message: `${id}: ${p.state} → ${q.state}${q.workerId ? ` on ${q.workerId}` : ''}` });
      }
    }
  }

  private async sampleLoop(): Promise<void> {
    const signal = this.abort.signal;
    const interval = this.options.sampleIntervalMs ?? 2_000;
    while (!signal.aborted) {
      try {
        await this.sample();
        this.problem = undefined;
        this.updatedAt = Date.now();
      } catch (err) {
        if (signal.aborted) return;
        this.problem = (err as Error).message;
        this.log.debug({ err: this.problem }, 'console sample failed');
      }
      this.schedulePush();
      await sleep(interval, signal);
    }
  }

  private async sample(): Promise<void> {
    const admin = this.admin();
    const [cluster, infos] = await Promise.all([admin.cluster.info(), admin.connectors.infos()]);
    this.noteCluster(cluster);
    const names = new Set(infos.map((i) => i.name));
    // Connectors with a status go away with WatchStatus's `deleted`; the sampler forgets only those it alone knew.
    for (const gone of [...this.infos.keys()].filter((n) => !names.has(n) && !this.statuses.has(n))) this.forget(gone);
    for (const info of infos) {
      this.infos.set(info.name, info);
      this.noteConnector(info.name);
    }
    await this.sampleRates(cluster);
    await Promise.all(
      infos.map(async (info) => {
        const [topics, offsets] = await Promise.all([admin.connectors.topics(info.name), admin.offsets.get(info.name)]);
        this.topics.set(info.name, topics);
        this.offsets.set(info.name, new Map(offsets.filter((o) => o.text !== undefined).map((o) => [o.partition, o.text!])));
      }),
    );
    if (this.topicAdmin && this.groupOffsets) {
      // Connected on first use and again after a failed start, so a broker down at start only delays lag and rates.
      this.kafkaStarted ??= Promise.all([this.topicAdmin.start(), this.groupOffsets.start()]).then(() => undefined);
      try {
        await this.kafkaStarted;
      } catch (err) {
        this.kafkaStarted = undefined;
        throw new Error(`Kafka (for sink lag): ${(err as Error).message}`);
      }
      await this.sampleKafka(infos);
    }
  }

  private noteCluster(next: ClusterInfo): void {
    const prev = this.cluster;
    this.cluster = next;
    if (!prev) return;
    if (prev.leaderId !== next.leaderId || prev.term !== next.term) {
      this.record({ kind: 'leader-changed', message: `leader changed: ${prev.leaderId || 'none'} → ${next.leaderId || 'none'} (term ${next.term})` });
    }
    const before = new Map(prev.members.map((m) => [m.id, m]));
    const after = new Map(next.members.map((m) => [m.id, m]));
    for (const [id, m] of after) {
      const was = before.get(id);
      if ((!was || !was.connected) && m.connected) this.record({ kind: 'worker-joined', message: `worker ${id} joined (${m.address})` });
    }
    for (const [id, was] of before) {
      const now = after.get(id);
      if (was.connected && (!now || !now.connected)) this.record({ kind: 'worker-left', message: `worker ${id} left the cluster` });
    }
  }

  /**
   * Records/s: every member's record counters (its /metrics counters, through its Admin API),
   * read at once and summed per connector. A worker that does not answer is left out of this
   * round and measured over the longer interval at its next answer.
   */
  private async sampleRates(cluster: ClusterInfo): Promise<void> {
    const members = cluster.members.filter((m) => m.connected || m.leader);
    const addresses = new Set(members.map((m) => m.address));
    for (const [address, client] of this.workerAdmins) {
      if (addresses.has(address)) continue;
      client.close();
      this.workerAdmins.delete(address);
    }
    const answers = await Promise.allSettled(
      members.map(async (m) => {
        let client = this.workerAdmins.get(m.address);
        if (!client) this.workerAdmins.set(m.address, (client = this.options.workerAdmin(m.address)));
        const counters = await client.recordCounters.get();
        return { counters, at: Date.now() };
      }),
    );
    const readings = [];
    for (const [i, a] of answers.entries()) {
      if (a.status === 'fulfilled') readings.push(a.value);
      else this.log.debug({ worker: members[i]!.id, err: (a.reason as Error).message }, 'record counters of a worker not read this round');
    }
    const round = this.recordRates!.update(readings, new Set(members.map((m) => m.id)));
    for (const name of this.infos.keys()) {
      if (!round.measured) {
        this.rates.set(name, null);
        continue;
      }
      const rate = Math.round((round.rates.get(name) ?? 0) * 10) / 10;
      this.rates.set(name, rate);
      const h = this.history.get(name) ?? [];
      h.push(rate);
      if (h.length > (this.options.historyLength ?? 30)) h.shift();
      this.history.set(name, h);
    }
  }

  /** Sink lag from the `connect-<name>` group: high watermark − committed offset per topic-partition. */
  private async sampleKafka(infos: ConnectorInfo[]): Promise<void> {
    const topicAdmin = this.topicAdmin!;
    const groupOffsets = this.groupOffsets!;
    const sinks = infos.filter((i) => i.kind === 'sink');
    const allTopics = [...new Set(sinks.flatMap((i) => this.topics.get(i.name) ?? []))];
    const existing = new Set(allTopics.length ? (await topicAdmin.describeTopics(allTopics)).map((t) => t.name) : []);
    const ends = new Map<string, Array<{ partition: number; latest: bigint }>>();
    await Promise.all([...existing].map(async (t) => ends.set(t, await topicAdmin.partitionOffsets(t))));
    await Promise.all(
      sinks.map(async (info) => {
        const topics = (this.topics.get(info.name) ?? []).filter((t) => existing.has(t));
        const committed = topics.length ? await groupOffsets.fetch(`connect-${info.name}`, topics) : [];
        const byTp = new Map(committed.map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]));
        const lag: ConsoleLag[] = [];
        for (const t of topics) {
          for (const e of ends.get(t) ?? []) {
            const c = byTp.get(`${t}\u0000${e.partition}`);
            const end = Number(e.latest);
            const entry: ConsoleLag = { topic: t, partition: e.partition, end, lag: c === undefined ? end : Math.max(0, end - Number(c)) };
            if (c !== undefined) entry.committed = Number(c);
            lag.push(entry);
          }
        }
        this.lag.set(info.name, lag);
      }),
    );
  }
}
