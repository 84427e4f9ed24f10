/**
 * Throughput of Tributary's Kafka adapters against a real broker: each producer adapter
 * (idempotent, acks=all, 200-byte values, 1,000 records per send, several sends in flight,
 * 6 partitions) and the PartitionReader over one partition. Records are built before the clock
 * starts, so the figures are the adapters' and the broker's, not the benchmark's.
 *
 *   npx tsx test/bench/kafka-clients.ts          (BENCH_RECORDS=300000 by default)
 */
import { pathToFileURL } from 'node:url';
import {
  createPartitionReader,
  createProducer,
  createTopicAdmin,
  type ProducerClient,
  type ProducerRecord,
  type TopicAdmin,
} from '../../src/kafka/index.js';
import { kafkaBootstrap, kafkaConn, uniqueName } from '../support/kafka.js';

export interface BenchResult {
  name: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  /** Value payload only (keys and headers are not counted), in 10^6 bytes per second. */
  mbPerSec: number;
}

export interface ProducerBenchOptions {
  records?: number;
  recordsPerSend?: number;
  inFlight?: number;
  valueBytes?: number;
  partitions?: number;
  clients?: ProducerClient[];
}

export interface ReaderBenchOptions {
  records?: number;
  valueBytes?: number;
}

function result(name: string, records: number, valueBytes: number, startedAt: bigint): BenchResult {
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  return { name, records, seconds, recordsPerSec: records / seconds, mbPerSec: (records * valueBytes) / 1e6 / seconds };
}

function batches(topic: string, total: number, perSend: number, valueBytes: number): ProducerRecord[][] {
  const value = Buffer.alloc(valueBytes, 'x');
  const out: ProducerRecord[][] = [];
  for (let start = 0; start < total; start += perSend) {
    const n = Math.min(perSend, total - start);
    out.push(Array.from({ length: n }, (_, i) => ({ topic, key: Buffer.from(`key-${(start + i) % 1000}`), value })));
  }
  return out;
}

async function withTopic<T>(admin: TopicAdmin, name: string, partitions: number, fn: (topic: string) => Promise<T>): Promise<T> {
  const topic = uniqueName(name);
  await admin.createTopics([{ name: topic, partitions }]);
  try {
    return await fn(topic);
  } finally {
    await admin.deleteTopics([topic]);
  }
}

/** One result per producer adapter. */
export async function benchProducers(bootstrap: string, opts: ProducerBenchOptions = {}): Promise<BenchResult[]> {
  const records = opts.records ?? 300_000;
  const perSend = opts.recordsPerSend ?? 1_000;
  const inFlight = opts.inFlight ?? 4;
  const valueBytes = opts.valueBytes ?? 200;
  const admin = createTopicAdmin(kafkaConn(bootstrap, 'bench-admin'));
  await admin.start();
  const results: BenchResult[] = [];
  try {
    for (const client of opts.clients ?? (['kafkajs', 'platformatic'] as const)) {
      results.push(
        await withTopic(admin, `bench-${client}`, opts.partitions ?? 6, async (topic) => {
          const producer = createProducer(kafkaConn(bootstrap, `bench-${client}`), { client, idempotent: true, acks: -1 });
          await producer.start();
          try {
            await producer.send(batches(topic, perSend, perSend, valueBytes)[0]!); // connections, metadata, producer id
            const work = batches(topic, records, perSend, valueBytes);
            const startedAt = process.hrtime.bigint();
            let next = 0;
            // `inFlight` workers, each with one send outstanding.
            await Promise.all(
              Array.from({ length: inFlight }, async () => {
                while (next < work.length) await producer.send(work[next++]!);
              }),
            );
            const measured = result(`producer ${client} (${inFlight} × ${perSend}/send)`, records, valueBytes, startedAt);
            // A fast producer that lost records would be no result: count what the broker holds.
            const written = (await admin.partitionOffsets(topic)).reduce((n, p) => n + Number(p.latest - p.earliest), 0);
            if (written !== records + perSend) throw new Error(`${client}: the topic holds ${written} records, expected ${records + perSend}`);
            return measured;
          } finally {
            await producer.stop();
          }
        }),
      );
    }
  } finally {
    await admin.stop();
  }
  return results;
}

/** Reads `records` from one partition, from offset 0, with the PartitionReader. */
export async function benchReader(bootstrap: string, opts: ReaderBenchOptions = {}): Promise<BenchResult> {
  const records = opts.records ?? 300_000;
  const valueBytes = opts.valueBytes ?? 200;
  const admin = createTopicAdmin(kafkaConn(bootstrap, 'bench-admin'));
  await admin.start();
  try {
    return await withTopic(admin, 'bench-reader', 1, async (topic) => {
      const producer = createProducer(kafkaConn(bootstrap, 'bench-fill'), { client: 'platformatic' });
      await producer.start();
      for (const b of batches(topic, records, 5_000, valueBytes)) await producer.send(b);
      await producer.stop();

      const reader = createPartitionReader(kafkaConn(bootstrap, 'bench-reader'));
      await reader.start();
      try {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 300_000);
        let count = 0;
        const startedAt = process.hrtime.bigint();
        // Counts instead of keeping the records: the reader is measured, not an array.
        for await (const batch of reader.read({ topic, partition: 0 }, 0n, controller.signal)) {
          count += batch.records.length;
          if (count >= records) break;
        }
        clearTimeout(timer);
        if (count < records) throw new Error(`read only ${count} of ${records} records within 300 s`);
        return result('partition reader (1 partition)', records, valueBytes, startedAt);
      } finally {
        await reader.stop();
      }
    });
  } finally {
    await admin.stop();
  }
}

function printTable(rows: BenchResult[]): void {
  const header = ['name', 'records', 'seconds', 'records/s', 'MB/s'];
  const lines = rows.map((r) => [r.name, String(r.records), r.seconds.toFixed(2), Math.round(r.recordsPerSec).toLocaleString('en-US'), r.mbPerSec.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
  const records = Number(process.env.BENCH_RECORDS ?? 300_000);
  const bootstrap = await kafkaBootstrap();
  const rows = [...(await benchProducers(bootstrap, { records })), await benchReader(bootstrap, { records })];
  printTable(rows);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
