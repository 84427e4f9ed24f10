/**
 * Kafka throughput of Tributary against the local broker, in one process, in this order:
 * each bare producer adapter and the PartitionReader (test/bench/kafka-clients.ts), then
 * Tributary's SOURCE pipeline (a Worker running the in-process `bench-source`: 6 stream
 * partitions into a 6-partition topic, 200-byte values, at full speed) on the default producer
 * client (platformatic) and on kafkajs, and its SINK pipeline (the in-process `bench-sink`
 * reading a pre-filled 6-partition topic). Prints a table, with the ratio of each row to the
 * fastest bare producer of the same run, and writes every figure as JSON to
 * test/bench/results/kafka-<ISO timestamp>.json. See docs/performance.md.
 *
 *   npm run bench:kafka                    (BENCH_RECORDS=1000000, BENCH_ROUNDS=2: about 1.5 minutes)
 *   BENCH_RECORDS=200000 npm run bench:kafka     (a quick look)
 *
 * Pipelines are measured from the first to the last committed record (the offset store sees
 * every commit), so connector start-up and partition discovery are not counted; the bare
 * producers from the first to the last acknowledged send after a warm-up send. Both are the
 * steady state. Node's and the broker's CPU time over the same window are reported too (µs per
 * record stays comparable when the machine is busy), and the CPU every other process took
 * meanwhile: on a shared 2-core machine that column says whether a row is to be trusted.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { FileOffsetStore, type CommittedOffset, type OffsetStore } from '../../src/coordinator/index.js';
import { createProducer, createTopicAdmin, type ProducerClient, type ProducerRecord, type RecordProducer } from '../../src/kafka/index.js';
import { PluginHost } from '../../src/plugins/index.js';
import { Worker } from '../../src/worker/index.js';
import { sinkPartitions, sourcePartitions } from '../../src/worker/partition-discovery.js';
import { localStateDir } from '../support/services.js';
import { kafkaBootstrap, kafkaConn, uniqueName, withSend } from '../support/kafka.js';
import { BENCH_SINK, BENCH_SOURCE, registerBenchPlugins } from './bench-plugins.js';
import { benchProducers, benchReader, type BenchResult } from './kafka-clients.js';

const PARTITIONS = 6;
const VALUE_BYTES = 200;
const silent = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });

interface CpuWindow {
  /** Node process CPU (user + system) over the measured window, in seconds. */
  nodeSeconds: number;
  /** The broker's CPU over the same window, in seconds; null when its pid is unknown (not the local broker). */
  brokerSeconds: number | null;
  /** CPU of every other process on the machine over the window, in seconds (Linux /proc/stat); null elsewhere. */
  otherSeconds: number | null;
  /** Length of the window, in seconds. */
  wallSeconds: number;
}

interface PipelineResult extends BenchResult {
  cpu: CpuWindow;
  /** What reached the producer (source) or what the reader fetched (sink). */
  detail: Record<string, number | string>;
}

// ---------------------------------------------------------------------------------------------
// CPU accounting

function brokerPid(): number | undefined {
  try {
    const pid = Number(readFileSync(join(localStateDir(), 'kafka.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in seconds (Linux /proc; clock ticks are 100 Hz there). */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Busy CPU time of the whole machine, in seconds (all cores; /proc/stat counts 100 Hz ticks). */
function machineBusySeconds(): number | undefined {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return undefined;
  }
}

/** CPU used by this process, by the broker and by everything else, over a window of wall time. */
class CpuMeter {
  readonly #pid = brokerPid();
  #node = process.cpuUsage();
  #broker = processCpuSeconds(this.#pid);
  #machine = machineBusySeconds();
  #at = process.hrtime.bigint();

  reset(): void {
    this.#node = process.cpuUsage();
    this.#broker = processCpuSeconds(this.#pid);
    this.#machine = machineBusySeconds();
    this.#at = process.hrtime.bigint();
  }

  read(): CpuWindow {
    const wallSeconds = Number(process.hrtime.bigint() - this.#at) / 1e9;
    const node = process.cpuUsage(this.#node);
    const broker = processCpuSeconds(this.#pid);
    const machine = machineBusySeconds();
    const nodeSeconds = (node.user + node.system) / 1e6;
    const brokerSeconds = broker === undefined || this.#broker === undefined ? null : broker - this.#broker;
    const otherSeconds = machine === undefined || this.#machine === undefined ? null : Math.max(0, machine - this.#machine - nodeSeconds - (brokerSeconds ?? 0));
    return { nodeSeconds, brokerSeconds, otherSeconds, wallSeconds };
  }
}

// ---------------------------------------------------------------------------------------------
// An offset store that timestamps commits: the pipelines' clock

/**
 * Wraps the worker's offset store and watches every commit: offsets of both bench connectors
 * are ASCII numbers (source: seq, sink: Kafka offset), so the records committed through an
 * offset are that number + 1. Resolves `done` once `expected` records are committed in all.
 */
class TimedOffsetStore implements OffsetStore {
  readonly #inner: OffsetStore;
  readonly #expected: number;
  readonly #committed = new Map<string, number>();
  readonly #cpu = new CpuMeter();
  #sum = 0;
  #first: { at: bigint; records: number } | undefined;
  #resolve!: (r: { records: number; seconds: number; cpu: CpuWindow }) => void;
  readonly done: Promise<{ records: number; seconds: number; cpu: CpuWindow }>;

  constructor(inner: OffsetStore, expected: number) {
    this.#inner = inner;
    this.#expected = expected;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  commit(connector: string, partition: string, offset: Uint8Array, epoch?: bigint): void {
    this.#inner.commit(connector, partition, offset, epoch);
    const through = Number(Buffer.from(offset.buffer, offset.byteOffset, offset.byteLength).toString()) + 1;
    const before = this.#committed.get(partition) ?? 0;
    if (through <= before) return;
    this.#committed.set(partition, through);
    this.#sum += through - before;
    if (!this.#first) {
      this.#first = { at: process.hrtime.bigint(), records: this.#sum };
      this.#cpu.reset();
    }
    if (this.#sum >= this.#expected) {
      const seconds = Number(process.hrtime.bigint() - this.#first.at) / 1e9;
      this.#resolve({ records: this.#sum - this.#first.records, seconds, cpu: this.#cpu.read() });
    }
  }

  start(): Promise<void> {
    return this.#inner.start();
  }
  read(connector: string, partition: string): Promise<CommittedOffset | undefined> {
    return this.#inner.read(connector, partition);
  }
  readAll(connector: string): Promise<Map<string, CommittedOffset>> {
    return this.#inner.readAll(connector);
  }
  persist(connector: string, partition: string): Promise<void> {
    return this.#inner.persist(connector, partition);
  }
  flush(): Promise<void> {
    return this.#inner.flush();
  }
  stop(): Promise<void> {
    return this.#inner.stop();
  }
}

/** Counts what the source pipeline hands to its producer: calls, records per call, calls in flight. */
class SendStats {
  sends = 0;
  records = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly sizes: number[] = [];

  wrap(real: RecordProducer): RecordProducer {
    return withSend(real, async (records: ProducerRecord[], options) => {
      this.sends++;
      this.records += records.length;
      this.sizes.push(records.length);
      this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
      try {
        await real.send(records, options);
      } finally {
        this.inFlight--;
      }
    });
  }

  summary(): Record<string, number> {
    const sorted = [...this.sizes].sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      producerCalls: this.sends,
      recordsPerCallMean: Math.round(this.records / Math.max(1, this.sends)),
      recordsPerCallP50: at(0.5),
      recordsPerCallMax: at(1),
      maxCallsInFlight: this.maxInFlight,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The pipelines

interface PipelineRun {
  worker: Worker;
  plugins: PluginHost;
  offsets: TimedOffsetStore;
  dir: string;
}

async function startWorker(bootstrap: string, expected: number, extra: { producerClient?: ProducerClient; stats?: SendStats; flushMs?: number }): Promise<PipelineRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-'));
  const plugins = new PluginHost({ logger: silent });
  registerBenchPlugins(plugins);
  const offsets = new TimedOffsetStore(new FileOffsetStore(join(dir, 'offsets.json')), expected);
  const stats = extra.stats;
  const worker = new Worker({
    kafka: { brokers: bootstrap.split(','), producerClient: extra.producerClient ?? 'platformatic' },
    plugins,
    offsets,
    logger: silent,
    ...(extra.flushMs === undefined ? {} : { offsetFlushIntervalMs: extra.flushMs }),
    ...(stats ? { createProducer: (conn, options) => stats.wrap(createProducer(conn, options)) } : {}),
  });
  await worker.start();
  return { worker, plugins, offsets, dir };
}

async function stopWorker(run: PipelineRun): Promise<void> {
  await run.worker.stop();
  await run.plugins.stop();
  rmSync(run.dir, { recursive: true, force: true });
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Tributary's source pipeline: bench-source, 6 stream partitions → a 6-partition topic. */
export async function benchSource(bootstrap: string, records: number, producerClient: ProducerClient = 'platformatic'): Promise<PipelineResult> {
  const perPartition = Math.ceil(records / PARTITIONS);
  const total = perPartition * PARTITIONS;
  const admin = createTopicAdmin(kafkaConn(bootstrap, 'bench-admin'));
  await admin.start();
  const topic = uniqueName('bench-source');
  await admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
  const stats = new SendStats();
  const run = await startWorker(bootstrap, total, { producerClient, stats });
  try {
    const name = uniqueName('bench-src');
    const config = { 'connector.class': BENCH_SOURCE, topic, partitions: String(PARTITIONS), records: String(perPartition), 'value.bytes': String(VALUE_BYTES) };
    const runtime = await run.worker.openConnector(name, config);
    for await (const change of sourcePartitions(runtime.plugin.plugin, { name, config }, AbortSignal.timeout(30_000))) {
      for (const p of change.added) await runtime.startPartition(p, 1n);
      break;
    }
    const measured = await withDeadline(run.offsets.done, 300_000, 'the source pipeline');
    await run.worker.closeConnector(name);
    const written = (await admin.partitionOffsets(topic)).reduce((n, p) => n + Number(p.latest - p.earliest), 0);
    if (written !== total) throw new Error(`source pipeline: the topic holds ${written} records, expected ${total}`);
    return {
      ...result(`Tributary source (${producerClient}, ${PARTITIONS} partitions)`, measured),
      cpu: measured.cpu,
      detail: stats.summary(),
    };
  } finally {
    await stopWorker(run);
    await admin.deleteTopics([topic]);
    await admin.stop();
  }
}

/** Tributary's sink pipeline: bench-sink reading a pre-filled 6-partition topic from the start. */
export async function benchSink(bootstrap: string, records: number): Promise<PipelineResult> {
  const perPartition = Math.ceil(records / PARTITIONS);
  const total = perPartition * PARTITIONS;
  const admin = createTopicAdmin(kafkaConn(bootstrap, 'bench-admin'));
  await admin.start();
  const topic = uniqueName('bench-sink');
  await admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
  try {
    const producer = createProducer(kafkaConn(bootstrap, 'bench-fill'), { client: 'platformatic' });
    await producer.start();
    const value = Buffer.alloc(VALUE_BYTES, 'x');
    for (let start = 0; start < total; start += 6_000) {
      const n = Math.min(6_000, total - start);
      await producer.send(Array.from({ length: n }, (_, i) => ({ topic, partition: (start + i) % PARTITIONS, key: Buffer.from(`key-${(start + i) % 1000}`), value })));
    }
    await producer.stop();

    // Flushes are asked for when a partition's window (max.inflight.records) is full, and every
    // offsetFlushIntervalMs otherwise: 100 ms keeps the tail of the run from waiting a second.
    const run = await startWorker(bootstrap, total, { flushMs: 100 });
    try {
      const name = uniqueName('bench-snk');
      const runtime = await run.worker.openConnector(name, { 'connector.class': BENCH_SINK, topics: topic });
      for await (const change of sinkPartitions(run.worker.admin, runtime.settings, 60_000, AbortSignal.timeout(30_000), silent)) {
        for (const p of change.added) await runtime.startPartition(p, 1n);
        break;
      }
      const measured = await withDeadline(run.offsets.done, 300_000, 'the sink pipeline');
      await run.worker.closeConnector(name);
      return { ...result(`Tributary sink (${PARTITIONS} partitions)`, measured), cpu: measured.cpu, detail: { flushIntervalMs: 100 } };
    } finally {
      await stopWorker(run);
    }
  } finally {
    await admin.deleteTopics([topic]);
    await admin.stop();
  }
}

function result(name: string, measured: { records: number; seconds: number }): BenchResult {
  const { records, seconds } = measured;
  return { name, records, seconds, recordsPerSec: records / seconds, mbPerSec: (records * VALUE_BYTES) / 1e6 / seconds };
}

// ---------------------------------------------------------------------------------------------
// Report

interface Row extends BenchResult {
  kind: 'producer' | 'reader' | 'source' | 'sink';
  cpu?: CpuWindow;
  detail?: Record<string, number | string>;
}

/** CPU of a row: cores busy on average, and µs per record (comparable even when the machine is shared). */
function cpuFigures(r: Row): { nodeCores: number; nodeUsPerRecord: number; brokerCores: number | null; brokerUsPerRecord: number | null; otherCores: number | null } | undefined {
  if (!r.cpu) return undefined;
  const { nodeSeconds, brokerSeconds, otherSeconds, wallSeconds } = r.cpu;
  return {
    nodeCores: nodeSeconds / wallSeconds,
    nodeUsPerRecord: (nodeSeconds * 1e6) / r.records,
    brokerCores: brokerSeconds === null ? null : brokerSeconds / wallSeconds,
    brokerUsPerRecord: brokerSeconds === null ? null : (brokerSeconds * 1e6) / r.records,
    otherCores: otherSeconds === null ? null : otherSeconds / wallSeconds,
  };
}

function printTable(rows: Row[], fastestProducer: number): void {
  const header = ['path', 'records', 'seconds', 'records/s', 'MB/s', 'vs fastest producer', 'node CPU', 'node µs/rec', 'broker CPU', 'broker µs/rec', 'other processes'];
  const num = (n: number | null | undefined, digits: number, unit = ''): string => (n === undefined || n === null ? '-' : `${n.toFixed(digits)}${unit}`);
  const lines = rows.map((r) => {
    const cpu = cpuFigures(r);
    return [
      r.name,
      r.records.toLocaleString('en-US'),
      r.seconds.toFixed(2),
      Math.round(r.recordsPerSec).toLocaleString('en-US'),
      r.mbPerSec.toFixed(1),
      `${(r.recordsPerSec / fastestProducer).toFixed(2)}×`,
      num(cpu?.nodeCores, 2, ' cores'),
      num(cpu?.nodeUsPerRecord, 2),
      num(cpu?.brokerCores, 2, ' cores'),
      num(cpu?.brokerUsPerRecord, 2),
      num(cpu?.otherCores, 2, ' cores'),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(fmt(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
  const records = Number(process.env.BENCH_RECORDS ?? 1_000_000);
  if (!Number.isInteger(records) || records < 6_000) throw new Error(`BENCH_RECORDS must be an integer >= 6000, got ${process.env.BENCH_RECORDS}`);
  const bootstrap = await kafkaBootstrap();
  const startedAt = new Date();
  console.log(`# Kafka benchmark: ${records.toLocaleString('en-US')} records of ${VALUE_BYTES} B per path, broker ${bootstrap}, ${cpus().length} cores, Node ${process.version}`);

  // The two rows of the headline ratio (bare platformatic producer, source pipeline on it) run
  // in alternation, BENCH_ROUNDS times, and the best round of each is kept: on a shared machine
  // a burst of other work then hits both alike instead of one of them.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, got ${process.env.BENCH_ROUNDS}`);
  const all: Row[] = [];
  const step = async (what: string, kind: Row['kind'], fn: () => Promise<BenchResult & { cpu?: CpuWindow; detail?: Row['detail'] }>): Promise<void> => {
    process.stdout.write(`# ${what}… `);
    const t0 = Date.now();
    const row = { ...(await fn()), kind };
    all.push(row);
    console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${Math.round(row.recordsPerSec).toLocaleString('en-US')} records/s`);
  };
  const bareProducer = (client: ProducerClient) => async () => {
    // CPU over the whole call: it includes topic creation, a warm-up send and a count of the
    // topic, all small next to the records sent.
    const cpu = new CpuMeter();
    const [r] = await benchProducers(bootstrap, { records, valueBytes: VALUE_BYTES, partitions: PARTITIONS, clients: [client] });
    return { ...r!, cpu: cpu.read() };
  };
  await step('bare producer kafkajs', 'producer', bareProducer('kafkajs'));
  for (let round = 1; round <= rounds; round++) {
    await step(`bare producer platformatic (round ${round}/${rounds})`, 'producer', bareProducer('platformatic'));
    await step(`Tributary source pipeline on platformatic, the default (round ${round}/${rounds})`, 'source', () => benchSource(bootstrap, records, 'platformatic'));
  }
  // The same pipeline on the other client, for the choice of kafka.producer.client.
  await step('Tributary source pipeline on kafkajs', 'source', () => benchSource(bootstrap, records, 'kafkajs'));
  await step('partition reader', 'reader', () => benchReader(bootstrap, { records, valueBytes: VALUE_BYTES }));
  await step('Tributary sink pipeline', 'sink', () => benchSink(bootstrap, records));

  // One row per path: the best of its rounds.
  const rows: Row[] = [];
  for (const r of all) {
    const i = rows.findIndex((x) => x.name === r.name);
    if (i < 0) rows.push({ ...r });
    else if (r.recordsPerSec > rows[i]!.recordsPerSec) rows[i] = { ...r };
  }
  if (rounds > 1) {
    for (const r of rows) if (all.filter((x) => x.name === r.name).length > 1) r.name = `${r.name}, best of ${rounds}`;
  }

  const fastest = rows.filter((r) => r.kind === 'producer').reduce((a, b) => (b.recordsPerSec > a.recordsPerSec ? b : a));
  const source = rows.find((r) => r.kind === 'source' && r.name.includes('(platformatic'))!;
  const ratio = source.recordsPerSec / fastest.recordsPerSec;
  console.log('');
  printTable(rows, fastest.recordsPerSec);
  console.log('');
  console.log(`Tributary source / fastest bare producer (${fastest.name}): ${ratio.toFixed(2)}×`);
  for (const r of rows.filter((row) => row.kind === 'source')) console.log(`${r.name} → producer calls: ${JSON.stringify(r.detail)}`);

  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = join(resultsDir, `kafka-${stamp}.json`);
  const report = {
    benchmark: 'kafka',
    startedAt: startedAt.toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` },
    broker: { bootstrap, localPid: brokerPid() ?? null },
    settings: { records, rounds, valueBytes: VALUE_BYTES, partitions: PARTITIONS, producer: 'idempotent, acks=all, no compression' },
    results: rows.map((r) => ({ ...r, vsFastestProducer: r.recordsPerSec / fastest.recordsPerSec, cpuFigures: cpuFigures(r) ?? null })),
    rounds: all.map((r) => ({ ...r, cpuFigures: cpuFigures(r) ?? null })),
    fastestProducer: fastest.name,
    sourceToFastestProducer: ratio,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`figures written to ${file}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
