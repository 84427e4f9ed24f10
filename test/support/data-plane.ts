/**
 * A worker's data plane on the real broker, without the coordinator: a Worker with a file offset
 * store and the built-in connectors, plus helpers to run every partition of a connector here and
 * to read a topic back with an independent Kafka client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Kafka, logLevel } from 'kafkajs';
import { FileOffsetStore } from '../../src/coordinator/index.js';
import { registerBuiltinConnectors } from '../../src/connectors/index.js';
import { AllowedPaths } from '../../src/util/allowed-paths.js';
import { PluginHost } from '../../src/plugins/index.js';
import { createPartitionReader, createTopicAdmin, type ProducerClient } from '../../src/kafka/index.js';
import { Worker, type ConnectorRuntime, type WorkerOptions } from '../../src/worker/index.js';
import { sinkPartitions, sourcePartitions } from '../../src/worker/partition-discovery.js';
import { parseVerifiableValue } from '../../src/connectors/verifiable-source/index.js';
import { services } from './services.js';

export const quietLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface DataPlane {
  worker: Worker;
  plugins: PluginHost;
  offsets: FileOffsetStore;
  dir: string;
  brokers: string[];
  close(): Promise<void>;
}

export interface DataPlaneOptions extends Partial<WorkerOptions> {
  /** The worker's `kafka.producerClient` (default: the worker's default) on the test broker. */
  producerClient?: ProducerClient;
}

export async function startDataPlane(options: DataPlaneOptions = {}): Promise<DataPlane> {
  const { kafkaBootstrap } = await services();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-dp-'));
  const { producerClient, ...workerOptions } = options;
  const plugins = workerOptions.plugins ?? new PluginHost({ logger: quietLogger });
  // The test's files live under the OS temp directory: the file connectors may use it.
  const allowedPaths = workerOptions.allowedPaths ?? AllowedPaths.of([tmpdir()]);
  registerBuiltinConnectors(plugins, { allowedPaths });
  const offsets = new FileOffsetStore(join(dir, 'offsets.json'));
  const brokers = kafkaBootstrap.split(',');
  const kafka: WorkerOptions['kafka'] = producerClient === undefined ? { brokers } : { brokers, producerClient };
  const worker = new Worker({ kafka, plugins, offsets, logger: quietLogger, offsetFlushIntervalMs: 200, ...workerOptions, allowedPaths });
  await worker.start();
  return {
    worker,
    plugins,
    offsets,
    dir,
    brokers,
    async close() {
      await worker.stop();
      await plugins.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens a connector and starts every partition of its first discovered snapshot. */
export async function runAllPartitions(dp: DataPlane, name: string, config: Record<string, string>): Promise<ConnectorRuntime> {
  const runtime = await dp.worker.openConnector(name, config);
  const signal = AbortSignal.timeout(30_000);
  const changes = runtime.kind === 'source' ? sourcePartitions(runtime.plugin.plugin, { name, config }, signal) : sinkPartitions(dp.worker.admin, runtime.settings, 60_000, signal, quietLogger);
  for await (const change of changes) {
    for (const p of change.added) await runtime.startPartition(p, 1n);
    break;
  }
  return runtime;
}

export function kafkaClient(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'tributary-test-checker', brokers, logLevel: logLevel.NOTHING });
}

/**
 * Everything in `topic`, read by an independent kafkajs consumer, per Kafka partition in order:
 * at least `expected` records, and every partition up to its high watermark as it was when the
 * read began (so duplicates cannot make it stop short of the tail).
 */
export async function readTopic(brokers: string[], topic: string, expected: number, timeoutMs = 60_000): Promise<Map<number, Array<{ offset: bigint; key: string | null; value: Buffer | null; timestamp: number }>>> {
  const kafka = kafkaClient(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const highs = new Map<number, bigint>();
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) highs.set(p.partition, BigInt(p.high));
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({ groupId: `checker-${topic}-${Date.now()}`, maxBytes: 16 * 1024 * 1024 });
  const out = new Map<number, Array<{ offset: bigint; key: string | null; value: Buffer | null; timestamp: number }>>();
  let count = 0;
  const reachedHighs = () => [...highs].every(([p, high]) => high === 0n || (out.get(p)?.at(-1)?.offset ?? -1n) + 1n >= high);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${count} of ${expected} records of ${topic} within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        if (count >= expected && reachedHighs()) {
          clearTimeout(timer);
          resolve();
        }
      };
      void consumer.run({
        eachBatch: async ({ batch }) => {
          const list = out.get(batch.partition) ?? [];
          for (const m of batch.messages) list.push({ offset: BigInt(m.offset), key: m.key?.toString() ?? null, value: m.value, timestamp: Number(m.timestamp) });
          out.set(batch.partition, list);
          count += batch.messages.length;
          check();
        },
      });
      check();
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Per stream partition: the seqs found, missing ones and duplicates (TESTING.md's count). */
export function countSeqs(records: Iterable<{ value: Buffer | null }>): Map<string, { seen: number[]; missing: number[]; duplicates: number; repeated: number[]; max: number }> {
  const byPartition = new Map<string, number[]>();
  for (const r of records) {
    const v = parseVerifiableValue(r.value ?? undefined);
    if (!v) continue;
    const list = byPartition.get(v.partition) ?? [];
    list.push(v.seq);
    byPartition.set(v.partition, list);
  }
  const out = new Map<string, { seen: number[]; missing: number[]; duplicates: number; repeated: number[]; max: number }>();
  for (const [p, seen] of byPartition) {
    const set = new Set<number>();
    const repeated: number[] = [];
    let max = -1;
    for (const s of seen) {
      if (set.has(s)) repeated.push(s);
      set.add(s);
      if (s > max) max = s;
    }
    const missing: number[] = [];
    for (let i = 0; i <= max; i++) if (!set.has(i)) missing.push(i);
    out.set(p, { seen, missing, duplicates: repeated.length, repeated, max });
  }
  return out;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Everything a read_committed consumer sees in `topic`: each partition read from its log start up
 * to its high watermark as it was when the read began (aborted records and transaction markers
 * are skipped, so record offsets have gaps; the position still reaches the watermark).
 */
export async function readCommittedTopic(brokers: string[], topic: string, timeoutMs = 60_000): Promise<Array<{ offset: bigint; key: Buffer | null; value: Buffer | null }>> {
  const conn = { brokers, clientId: 'tributary-test-committed-reader', requestTimeoutMs: 15_000 };
  const admin = createTopicAdmin(conn);
  const reader = createPartitionReader(conn, { isolationLevel: 'read_committed', maxWaitMs: 200 });
  await Promise.all([admin.start(), reader.start()]);
  const out: Array<{ offset: bigint; key: Buffer | null; value: Buffer | null }> = [];
  try {
    for (const { partition, earliest, latest } of await admin.partitionOffsets(topic)) {
      if (latest <= earliest) continue;
      const signal = AbortSignal.timeout(timeoutMs);
      let position = earliest;
      for await (const batch of reader.read({ topic, partition }, earliest, signal, { yieldEmpty: true })) {
        for (const r of batch.records) out.push({ offset: r.offset, key: r.key, value: r.value });
        position = batch.nextOffset;
        if (position >= latest) break;
      }
      if (position < latest) throw new Error(`read_committed read of ${topic}-${partition} reached ${position} of ${latest} within ${timeoutMs} ms`);
    }
  } finally {
    await Promise.allSettled([admin.stop(), reader.stop()]);
  }
  return out;
}
