/**
 * In-process plugins for the Kafka benchmark (test/bench/kafka.ts), built on the public plugin
 * SDK like any connector, so the benchmark measures Tributary's pipelines rather than a
 * connector's own work:
 *
 * - `bench-source` emits, per stream partition p0 … p<N-1>, `records` records of `value.bytes`
 *   bytes at full speed (as many as its credits allow on every poll). Offsets are the seq in
 *   decimal ASCII, as in the verifiable source; stream partition p<i> writes to Kafka partition i,
 *   so N stream partitions load N Kafka partitions evenly. Values are one shared buffer (the bare
 *   producer benchmark does the same), so no time goes into building them.
 * - `bench-sink` drops what it is given and is durable at once on every flush.
 */
import { ConfigType } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import {
  configInt,
  sinkPlugin,
  sourcePlugin,
  staticPartitions,
  type ConfigKeyInit,
  type ConnectorPluginImplementation,
  type PluginHost,
  type RecordInit,
  type SourceReader,
} from '../../src/plugins/index.js';

export const BENCH_SOURCE = 'bench-source';
export const BENCH_SINK = 'bench-sink';

const sourceKeys: ConfigKeyInit[] = [
  { name: 'topic', type: ConfigType.STRING, required: true, documentation: 'Target topic (needs at least `partitions` partitions).' },
  { name: 'partitions', type: ConfigType.INT, defaultValue: '6', documentation: 'Stream partitions p0 … p<N-1>; p<i> writes to Kafka partition i.' },
  { name: 'records', type: ConfigType.INT, defaultValue: '100000', documentation: 'Records per stream partition; then it waits for drain.' },
  { name: 'value.bytes', type: ConfigType.INT, defaultValue: '200', documentation: 'Size of each value.' },
];

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

class BenchReader implements SourceReader {
  private readonly key: Buffer;
  private readonly value: Buffer;

  constructor(
    private readonly kafkaPartition: number,
    private next: number,
    private readonly records: number,
    valueBytes: number,
  ) {
    this.key = Buffer.from(`key-${kafkaPartition}`);
    this.value = Buffer.alloc(valueBytes, 'x');
  }

  async poll(max: number, signal: AbortSignal): Promise<RecordInit[]> {
    if (this.next >= this.records) {
      await waitForAbort(signal);
      return [];
    }
    const count = Math.min(max, this.records - this.next);
    const out: RecordInit[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const seq = this.next++;
      out[i] = { key: this.key, value: this.value, kafkaPartition: this.kafkaPartition, offset: Buffer.from(String(seq)) };
    }
    return out;
  }
}

export const benchSourcePlugin: ConnectorPluginImplementation = sourcePlugin({
  name: BENCH_SOURCE,
  version: '1.0.0',
  summary: 'Emits fixed-size records at full speed, for measuring the source pipeline',
  configKeys: sourceKeys,
  watchPartitions(connector, signal) {
    const count = configInt(connector.config, 'partitions', 6);
    return staticPartitions(
      Array.from({ length: count }, (_, i) => `p${i}`),
      signal,
    );
  },
  open(connector, partition, offset) {
    const index = Number(/^p(\d+)$/.exec(partition.id)?.[1] ?? NaN);
    if (!Number.isInteger(index)) throw new Error(`bench-source has no stream partition "${partition.id}"`);
    const first = offset === undefined || offset.length === 0 ? 0 : Number(Buffer.from(offset).toString()) + 1;
    return new BenchReader(index, first, configInt(connector.config, 'records', 100_000), configInt(connector.config, 'value.bytes', 200));
  },
});

export const benchSinkPlugin: ConnectorPluginImplementation = sinkPlugin({
  name: BENCH_SINK,
  version: '1.0.0',
  summary: 'Discards records and is durable on every flush, for measuring the sink pipeline',
  configKeys: [],
  open() {
    return { write() {}, flush() {} };
  },
});

/** Registers both plugins in-process on `host`. */
export function registerBenchPlugins(host: PluginHost): void {
  host.register({ name: BENCH_SOURCE, source: { type: 'in-process', create: () => benchSourcePlugin } });
  host.register({ name: BENCH_SINK, source: { type: 'in-process', create: () => benchSinkPlugin } });
}
