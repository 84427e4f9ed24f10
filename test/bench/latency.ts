/**
 * End-to-end latency of the source pipeline: from the moment a record is created by the plugin
 * to the moment Kafka acknowledged it (the task commits an offset right after the producer's
 * acknowledgement, so the offset store's commit is that moment). A paced in-process source
 * emits `rate` records/s over 6 stream partitions (one per Kafka partition) and notes when it
 * created each; every commit closes the latency of the records it covers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { FileOffsetStore, type CommittedOffset, type OffsetStore } from '../../src/coordinator/index.js';
import { ConfigType } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { createTopicAdmin } from '../../src/kafka/index.js';
import { configInt, PluginHost, sourcePlugin, staticPartitions, type RecordInit, type SourceReader } from '../../src/plugins/index.js';
import { Worker } from '../../src/worker/index.js';
import { sourcePartitions } from '../../src/worker/partition-discovery.js';
import { kafkaConn, uniqueName } from '../support/kafka.js';

const PARTITIONS = 6;
const PACED_SOURCE = 'bench-paced-source';

export interface LatencyResult {
  targetRate: number;
  achievedRate: number;
  records: number;
  valueBytes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Creation times (performance.now()) per stream partition, indexed by seq. */
type Created = Map<string, Float64Array>;

class PacedReader implements SourceReader {
  readonly #value: Buffer;
  #next = 0;
  readonly #startedAt = performance.now();

  constructor(
    private readonly partition: number,
    private readonly perSecond: number,
    private readonly records: number,
    valueBytes: number,
    private readonly created: Float64Array,
  ) {
    this.#value = Buffer.alloc(valueBytes, 'x');
  }

  async poll(max: number, signal: AbortSignal): Promise<RecordInit[]> {
    for (;;) {
      if (signal.aborted) return [];
      const due = Math.min(this.records, Math.floor(((performance.now() - this.#startedAt) / 1000) * this.perSecond));
      const count = Math.min(max, due - this.#next);
      if (count > 0) {
        const now = performance.now();
        const out: RecordInit[] = new Array(count);
        for (let i = 0; i < count; i++) {
          const seq = this.#next++;
          this.created[seq] = now;
          out[i] = { value: this.#value, kafkaPartition: this.partition, offset: Buffer.from(String(seq)) };
        }
        return out;
      }
      // Wake when the next record is due (at least 1 ms).
      await sleep(Math.max(1, 1000 / this.perSecond), undefined, { signal }).catch(() => undefined);
    }
  }
}

function pacedPlugin(created: Created) {
  return sourcePlugin({
    name: PACED_SOURCE,
    version: '1.0.0',
    summary: 'Emits records at a fixed rate and notes when each was created',
    configKeys: [
      { name: 'topic', type: ConfigType.STRING, required: true, documentation: 'Target topic.' },
      { name: 'records.per.second', type: ConfigType.INT, required: true, documentation: 'Per stream partition.' },
      { name: 'records', type: ConfigType.INT, required: true, documentation: 'Per stream partition.' },
      { name: 'value.bytes', type: ConfigType.INT, defaultValue: '200', documentation: 'Size of each value.' },
    ],
    watchPartitions: (_connector, signal) => staticPartitions(Array.from({ length: PARTITIONS }, (_, i) => `p${i}`), signal),
    open(connector, partition) {
      const records = configInt(connector.config, 'records', 0);
      const times = new Float64Array(records);
      created.set(partition.id, times);
      return new PacedReader(Number(partition.id.slice(1)), configInt(connector.config, 'records.per.second', 1), records, configInt(connector.config, 'value.bytes', 200), times);
    },
  });
}

/** Closes the latency of every record a commit covers. */
class LatencyStore implements OffsetStore {
  readonly #committed = new Map<string, number>();
  readonly latencies: number[] = [];
  #resolve!: () => void;
  readonly done = new Promise<void>((resolve) => (this.#resolve = resolve));

  constructor(
    private readonly inner: OffsetStore,
    private readonly created: Created,
    private readonly expected: number,
  ) {}

  commit(connector: string, partition: string, offset: Uint8Array, epoch?: bigint): void {
    this.inner.commit(connector, partition, offset, epoch);
    const now = performance.now();
    const through = Number(Buffer.from(offset).toString());
    const times = this.created.get(partition);
    const before = this.#committed.get(partition) ?? -1;
    if (!times || through <= before) return;
    for (let seq = before + 1; seq <= through; seq++) this.latencies.push(now - times[seq]!);
    this.#committed.set(partition, through);
    if (this.latencies.length >= this.expected) this.#resolve();
  }
  start(): Promise<void> {
    return this.inner.start();
  }
  read(connector: string, partition: string): Promise<CommittedOffset | undefined> {
    return this.inner.read(connector, partition);
  }
  readAll(connector: string): Promise<Map<string, CommittedOffset>> {
    return this.inner.readAll(connector);
  }
  persist(connector: string, partition: string): Promise<void> {
    return this.inner.persist(connector, partition);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
}

export async function benchLatency(bootstrap: string, opts: { rate: number; seconds: number; valueBytes: number }): Promise<LatencyResult> {
  const perPartition = Math.max(1, Math.round(opts.rate / PARTITIONS));
  const records = perPartition * opts.seconds;
  const silent = pino({ level: 'silent' });
  const admin = createTopicAdmin(kafkaConn(bootstrap, 'bench-admin'));
  await admin.start();
  const topic = uniqueName('bench-latency');
  await admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
  const dir = mkdtempSync(join(tmpdir(), 'bench-latency-'));
  const created: Created = new Map();
  const plugins = new PluginHost({ logger: silent });
  plugins.register({ name: PACED_SOURCE, source: { type: 'in-process', create: () => pacedPlugin(created) } });
  const offsets = new LatencyStore(new FileOffsetStore(join(dir, 'offsets.json')), created, records * PARTITIONS);
  const worker = new Worker({ kafka: { brokers: bootstrap.split(','), producerClient: 'platformatic' }, plugins, offsets, logger: silent });
  await worker.start();
  const name = uniqueName('latency');
  try {
    const config = { 'connector.class': PACED_SOURCE, topic, 'records.per.second': String(perPartition), records: String(records), 'value.bytes': String(opts.valueBytes) };
    const runtime = await worker.openConnector(name, config);
    const startedAt = performance.now();
    for await (const change of sourcePartitions(runtime.plugin.plugin, { name, config }, AbortSignal.timeout(30_000))) {
      for (const p of change.added) await runtime.startPartition(p, 1n);
      break;
    }
    await Promise.race([offsets.done, sleep(opts.seconds * 1000 + 60_000).then(() => Promise.reject(new Error('latency run did not finish')))]);
    const seconds = (performance.now() - startedAt) / 1000;
    await worker.closeConnector(name);
    const sorted = Float64Array.from(offsets.latencies).sort();
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return { targetRate: perPartition * PARTITIONS, achievedRate: sorted.length / seconds, records: sorted.length, valueBytes: opts.valueBytes, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1]! };
  } finally {
    await worker.stop();
    await plugins.stop();
    rmSync(dir, { recursive: true, force: true });
    await admin.deleteTopics([topic]).catch(() => undefined);
    await admin.stop();
  }
}
