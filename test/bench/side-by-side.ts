/**
 * Tributary side by side with Apache Kafka Connect on Kafka Connect's own job, in one run,
 * against the local real broker (`npm run bench`, `npm run bench -- --quick`):
 *
 * 1. File → Kafka: one generated file of LINES lines (200 B and 1 KiB) read by Kafka Connect
 *    4.1.1's FileStreamSource (`ConnectStandalone`, 1 task, batch.size=2000, string converters,
 *    plugin.discovery=only_scan) and by Tributary's `file-source` (`tributary standalone`,
 *    defaults), each into a fresh topic of 1 and of 6 partitions; the clock runs from the first
 *    record in the topic to the last (high watermarks polled every POLL_MS), so JVM and Node
 *    start-up are not counted. The two alternate, best of ROUNDS each.
 * 2. Kafka → file: the same lines pre-loaded into a topic, read by FileStreamSink and by
 *    `file-sink`; the clock runs from the first byte in the output file to the last.
 * 3. The bare producers of both adapters (the ceiling) and the pipeline's ratio to them.
 * 4. End-to-end latency (record created → acknowledged by Kafka) at 50% of the measured rate.
 * 5. Failover figures from a 3-worker cluster (test/bench/failover.ts).
 * Per process: CPU seconds per million records and peak RSS; the broker's CPU and everything
 * else's over the same window, so a noisy run shows. Prints one table; writes the same figures
 * as JSON to test/bench/results/side-by-side-<ISO timestamp>.json. It reports, it does not judge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProducer, createTopicAdmin, type TopicAdmin } from '../../src/kafka/index.js';
import { freePort } from '../support/cluster.js';
import { kafkaBootstrap, kafkaConn, uniqueName } from '../support/kafka.js';
import { benchProducers } from './kafka-clients.js';
import { brokerPid, CpuWindow, peakRssMiB, type CpuSplit } from './proc-stats.js';
import { benchLatency, type LatencyResult } from './latency.js';
import { benchFailover, type FailoverResult } from './failover.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const POLL_MS = 20;
const quick = process.argv.includes('--quick');
const LINES = Number(process.env.BENCH_LINES ?? (quick ? 200_000 : 1_000_000));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const CASES: Array<{ bytes: number; partitions: number }> = quick
  ? [
      { bytes: 200, partitions: 1 },
      { bytes: 200, partitions: 6 },
      { bytes: 1024, partitions: 6 },
    ]
  : [
      { bytes: 200, partitions: 1 },
      { bytes: 200, partitions: 6 },
      { bytes: 1024, partitions: 1 },
      { bytes: 1024, partitions: 6 },
    ];
const SINK_CASES: Array<{ bytes: number; partitions: number }> = quick ? [{ bytes: 200, partitions: 6 }] : [{ bytes: 200, partitions: 1 }, { bytes: 200, partitions: 6 }, { bytes: 1024, partitions: 6 }];
const RUN_TIMEOUT_MS = 300_000;
/** BENCH_ONLY=source,sink,ceiling,latency,failover (any subset) runs only those parts; BENCH_SYSTEMS=tributary runs one side. */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'source,sink,ceiling,latency,failover').split(','));
const SYSTEMS = (process.env.BENCH_SYSTEMS ?? 'kafka-connect,tributary').split(',');
/** BENCH_CASES=200x6,1024x1 narrows the source and sink cases (bytes x partitions). */
const caseFilter = process.env.BENCH_CASES?.split(',');
const wanted = (c: { bytes: number; partitions: number }): boolean => !caseFilter || caseFilter.includes(`${c.bytes}x${c.partitions}`);

/** `tributary`: `tributary standalone` with defaults; `tributary-kafkajs` (BENCH_SYSTEMS only): the same with `--producer-client kafkajs`. */
type System = 'kafka-connect' | 'tributary' | 'tributary-kafkajs';
const ALL_SYSTEMS: System[] = ['kafka-connect', 'tributary', 'tributary-kafkajs'];
const LABEL: Record<System, string> = {
  'kafka-connect': 'Kafka Connect 4.1.1',
  tributary: 'Tributary',
  'tributary-kafkajs': 'Tributary on kafkajs',
};

interface RunResult {
  system: System;
  job: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** CPU seconds of the pipeline's process per million records. */
  cpuSecondsPerMillion: number | null;
  /** Cores the pipeline's process kept busy on average over the window. */
  cores: number | null;
  peakRssMiB: number | null;
  brokerCores: number | null;
  otherCores: number | null;
  cpu: CpuSplit;
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** A file of `lines` lines of `bytes` bytes each (plus `\n`), made once per run. */
async function generateFile(dir: string, lines: number, bytes: number): Promise<string> {
  const path = join(dir, `lines-${bytes}.txt`);
  const out = createWriteStream(path);
  const chunkLines = 4096;
  for (let start = 0; start < lines; start += chunkLines) {
    const n = Math.min(chunkLines, lines - start);
    const buf = Buffer.alloc(n * (bytes + 1), 'x');
    for (let i = 0; i < n; i++) {
      // Each line starts with its number so lines differ; the rest is padding.
      buf.write(String(start + i).padStart(10, '0'), i * (bytes + 1), 'ascii');
      buf[i * (bytes + 1) + bytes] = 0x0a;
    }
    if (!out.write(buf)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return path;
}

// ---------------------------------------------------------------------------------------------
// The two systems as child processes

function connectLib(): string {
  return execFileSync('bash', [join(repoRoot, 'test/bench/connect/jars.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function properties(map: Record<string, string>): string {
  return `${Object.entries(map)
    .map(([k, v]) => `${k}=${v.replace(/\\/g, '\\\\')}`)
    .join('\n')}\n`;
}

interface Started {
  child: ChildProcess;
  dir: string;
  log: string;
}

async function startConnect(lib: string, bootstrap: string, connector: Record<string, string>): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-connect-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'worker.properties'),
    properties({
      'bootstrap.servers': bootstrap,
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'offset.storage.file.filename': join(dir, 'connect.offsets'),
      'offset.flush.interval.ms': '1000',
      'plugin.discovery': 'only_scan',
      listeners: `http://127.0.0.1:${port}`,
    }),
  );
  writeFileSync(join(dir, 'connector.properties'), properties(connector));
  const log = join(dir, 'connect.log');
  const out = createWriteStream(log);
  // The JVM options of Kafka's own bin/connect-standalone.sh (kafka-run-class.sh defaults).
  const child = spawn(
    'java',
    [
      '-Xms256M',
      '-Xmx2G',
      '-server',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-Djava.awt.headless=true',
      '-cp',
      `${lib}/*`,
      'org.apache.kafka.connect.cli.ConnectStandalone',
      join(dir, 'worker.properties'),
      join(dir, 'connector.properties'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  return { child, dir, log };
}

async function startTributary(bootstrap: string, connector: { name: string; config: Record<string, string> }, producerClient?: string): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-tributary-'));
  writeFileSync(join(dir, 'connector.json'), JSON.stringify(connector));
  const log = join(dir, 'tributary.log');
  const out = createWriteStream(log);
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  // bin/tributary.js's shebang options, spelled out (spawning node directly drops the shebang).
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=64', ...prof, join(repoRoot, 'bin/tributary.js'), 'standalone', ...(producerClient ? ['--producer-client', producerClient] : []), '--kafka', bootstrap, '--state-file', join(dir, 'state.json'), join(dir, 'connector.json')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRIBUTARY_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' } },
  );
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  return { child, dir, log };
}

async function stop(started: Started): Promise<void> {
  const { child } = started;
  if (child.exitCode === null && child.signalCode === null) {
    // SIGTERM lets a --cpu-prof run write its profile; SIGKILL if it does not exit in time.
    child.kill('SIGTERM');
    const exited = await Promise.race([once(child, 'exit').then(() => true), sleep(15_000).then(() => false)]);
    if (!exited) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  rmSync(started.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Measuring one run

/**
 * Polls `progress` (records so far) until it reaches `expected`; the window runs from the first
 * poll that sees a record to the one that sees them all, and CPU is split over that window.
 */
async function measure(system: System, job: string, started: Started, expected: number, bytes: number, progress: () => Promise<number>): Promise<RunResult> {
  const pid = started.child.pid;
  const cpu = new CpuWindow({ pipeline: pid, broker: brokerPid(), bench: process.pid });
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  let first: { at: bigint; count: number } | undefined;
  for (;;) {
    if (started.child.exitCode !== null) throw new Error(`${system} (${job}) exited with ${started.child.exitCode}; see ${started.log}`);
    const count = await progress();
    if (!first && count > 0) {
      first = { at: process.hrtime.bigint(), count };
      cpu.reset();
    }
    if (count >= expected) break;
    if (Date.now() > deadline) throw new Error(`${system} (${job}): ${count} of ${expected} records after ${RUN_TIMEOUT_MS / 1000} s; see ${started.log}`);
    await sleep(POLL_MS);
  }
  const split = cpu.read();
  const seconds = Number(process.hrtime.bigint() - first!.at) / 1e9;
  const records = expected - first!.count;
  const own = split.processes['pipeline'] ?? null;
  const broker = split.processes['broker'] ?? null;
  return {
    system,
    job,
    records,
    seconds,
    recordsPerSec: records / seconds,
    mbPerSec: (records * bytes) / 1e6 / seconds,
    cpuSecondsPerMillion: own === null ? null : (own * 1e6) / records,
    cores: own === null ? null : own / split.wallSeconds,
    peakRssMiB: peakRssMiB(pid) ?? null,
    brokerCores: broker === null ? null : broker / split.wallSeconds,
    otherCores: split.otherSeconds === null ? null : split.otherSeconds / split.wallSeconds,
    cpu: split,
  };
}

async function topicCount(admin: TopicAdmin, topic: string): Promise<number> {
  return (await admin.partitionOffsets(topic)).reduce((n, p) => n + Number(p.latest - p.earliest), 0);
}

async function sourceRun(system: System, ctx: Ctx, file: string, bytes: number, partitions: number): Promise<RunResult> {
  const topic = uniqueName(`bench-${system}-src`);
  await ctx.admin.createTopics([{ name: topic, partitions }]);
  const job = `file → Kafka, ${bytes} B, ${partitions} partition${partitions > 1 ? 's' : ''}`;
  const name = uniqueName('src');
  const started =
    system === 'kafka-connect'
      ? await startConnect(ctx.connectLib, ctx.bootstrap, { name, 'connector.class': 'FileStreamSource', 'tasks.max': '1', file, topic, 'batch.size': '2000' })
      : await startTributary(ctx.bootstrap, { name, config: { 'connector.class': 'file-source', path: join(file, '..'), 'file.pattern': file.split('/').pop()!, topic } }, system === 'tributary-kafkajs' ? 'kafkajs' : undefined);
  try {
    return await measure(system, job, started, LINES, bytes, () => topicCount(ctx.admin, topic));
  } finally {
    await stop(started);
    await ctx.admin.deleteTopics([topic]).catch(() => undefined);
  }
}

/** A topic holding the file's lines as values (null keys), spread evenly over its partitions. */
async function filledTopic(ctx: Ctx, bytes: number, partitions: number): Promise<string> {
  const topic = uniqueName('bench-sink-input');
  await ctx.admin.createTopics([{ name: topic, partitions }]);
  const producer = createProducer(kafkaConn(ctx.bootstrap, 'bench-fill'), { client: 'platformatic' });
  await producer.start();
  const line = Buffer.alloc(bytes, 'x');
  const sends: Array<Promise<void>> = [];
  for (let start = 0; start < LINES; start += 5_000) {
    const n = Math.min(5_000, LINES - start);
    sends.push(producer.send(Array.from({ length: n }, (_, i) => ({ topic, partition: (start + i) % partitions, key: null, value: line }))));
    if (sends.length >= 4) await sends.shift();
  }
  await Promise.all(sends);
  await producer.stop();
  return topic;
}

async function sinkRun(system: System, ctx: Ctx, topic: string, bytes: number, partitions: number): Promise<RunResult> {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-sink-out-'));
  const file = join(outDir, 'out.txt');
  const job = `Kafka → file, ${bytes} B, ${partitions} partition${partitions > 1 ? 's' : ''}`;
  const name = uniqueName('snk');
  const started =
    system === 'kafka-connect'
      ? await startConnect(ctx.connectLib, ctx.bootstrap, { name, 'connector.class': 'FileStreamSink', 'tasks.max': '1', file, topics: topic })
      : await startTributary(ctx.bootstrap, { name, config: { 'connector.class': 'file-sink', file, topics: topic } }, system === 'tributary-kafkajs' ? 'kafkajs' : undefined);
  const expectedBytes = LINES * (bytes + 1);
  try {
    return await measure(system, job, started, LINES, bytes, async () => {
      const size = existsSync(file) ? statSync(file).size : 0;
      return Math.floor((size / expectedBytes) * LINES);
    });
  } finally {
    await stop(started);
    rmSync(outDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface Ctx {
  bootstrap: string;
  admin: TopicAdmin;
  connectLib: string;
}

interface Pair {
  job: string;
  /** The best run of each system that ran. */
  best: Partial<Record<System, RunResult>>;
  /** Each Tributary variant's records/s over Kafka Connect's. */
  ratios: Partial<Record<System, number>>;
}

/** The best run of each side; a side not run (BENCH_SYSTEMS) is left out. */
function pairOf(runs: Record<System, RunResult[]>): Pair {
  const pair: Pair = { job: '', best: {}, ratios: {} };
  for (const system of ALL_SYSTEMS) if (runs[system].length > 0) pair.best[system] = best(runs[system]);
  pair.job = Object.values(pair.best)[0]!.job;
  const connect = pair.best['kafka-connect'];
  for (const system of ALL_SYSTEMS) {
    const r = pair.best[system];
    if (connect && r) pair.ratios[system] = r.recordsPerSec / connect.recordsPerSec;
  }
  return pair;
}

function best(runs: RunResult[]): RunResult {
  return runs.reduce((a, b) => (b.recordsPerSec > a.recordsPerSec ? b : a));
}

const n0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f = (n: number | null, digits: number): string => (n === null ? '-' : n.toFixed(digits));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(fmt)].join('\n');
}

function report(pairs: Pair[], ceilings: Array<{ name: string; recordsPerSec: number }>, latency: LatencyResult | undefined, failover: FailoverResult | undefined): string {
  const lines: string[] = [];
  const rows: string[][] = [];
  for (const p of pairs) {
    for (const system of ALL_SYSTEMS) {
      const r = p.best[system];
      if (!r) continue;
      const ratio = p.ratios[system];
      rows.push([
        `${p.job}: ${LABEL[system]}`,
        n0(r.recordsPerSec),
        r.mbPerSec.toFixed(1),
        ratio === undefined ? '-' : `${ratio.toFixed(2)}×`,
        f(r.cores, 2),
        f(r.cpuSecondsPerMillion, 2),
        f(r.peakRssMiB, 0),
        f(r.brokerCores, 2),
        f(r.otherCores, 2),
      ]);
    }
  }
  lines.push(table(['job: system', 'records/s', 'MB/s', 'vs Kafka Connect', 'cores', 'CPU s / M records', 'peak RSS MiB', 'broker cores', 'other cores'], rows));
  const platformatic = ceilings.find((c) => c.name.includes('platformatic'));
  const tributary200x6 = pairs.find((p) => p.job === 'file → Kafka, 200 B, 6 partitions')?.best.tributary;
  lines.push('');
  lines.push(
    table(
      ['ceiling (bare producer, 200 B, 6 partitions)', 'records/s', 'Tributary file-source 200 B × 6 / ceiling'],
      ceilings.map((c) => [c.name, n0(c.recordsPerSec), tributary200x6 ? `${(tributary200x6.recordsPerSec / c.recordsPerSec).toFixed(2)}×` : '-']),
    ),
  );
  if (platformatic && tributary200x6) lines.push(`pipeline / default producer (platformatic): ${(tributary200x6.recordsPerSec / platformatic.recordsPerSec).toFixed(2)}×`);
  if (latency) {
    lines.push('');
    lines.push(
      table(
        ['end-to-end latency (created → acknowledged)', 'target rate/s', 'achieved rate/s', 'p50 ms', 'p99 ms', 'max ms'],
        [[`in-process source pipeline, 6 partitions, ${latency.valueBytes} B`, n0(latency.targetRate), n0(latency.achievedRate), latency.p50Ms.toFixed(1), latency.p99Ms.toFixed(1), latency.maxMs.toFixed(1)]],
      ),
    );
  }
  if (failover) {
    lines.push('');
    lines.push(table(['failover, 3 workers (session timeout ' + failover.sessionTimeoutMs + ' ms)', 'ms'], failover.figures.map((x) => [x.name, n0(x.ms)])));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = Date.now();
  const bootstrap = await kafkaBootstrap();
  const admin = createTopicAdmin(kafkaConn(bootstrap, 'bench-admin'));
  await admin.start();
  const ctx: Ctx = { bootstrap, admin, connectLib: connectLib() };
  const work = mkdtempSync(join(tmpdir(), 'bench-files-'));
  console.log(`# side by side: ${n0(LINES)} lines per run, best of ${ROUNDS}, broker ${bootstrap}, ${cpus().length} cores, Node ${process.version}${quick ? ' (--quick)' : ''}`);
  const pairs: Pair[] = [];
  try {
    const files = new Map<number, string>();
    for (const bytes of new Set([...CASES, ...SINK_CASES].map((c) => c.bytes))) {
      const dir = join(work, `src-${bytes}`);
      mkdirSync(dir);
      files.set(bytes, await generateFile(dir, LINES, bytes));
    }
    const say = (r: RunResult, round: number) => console.log(`#   ${r.job}: ${r.system} round ${round}: ${n0(r.recordsPerSec)} records/s (${r.seconds.toFixed(2)} s, ${f(r.cores, 2)} cores, other ${f(r.otherCores, 2)})`);
    for (const c of ONLY.has('source') ? CASES.filter(wanted) : []) {
      const runs: Record<System, RunResult[]> = { 'kafka-connect': [], tributary: [], 'tributary-kafkajs': [] };
      for (let round = 1; round <= ROUNDS; round++) {
        // Alternate which goes first, so a slow spell of the machine hits them alike.
        const order: System[] = round % 2 === 1 ? ALL_SYSTEMS : [...ALL_SYSTEMS].reverse();
        for (const system of order.filter((x) => SYSTEMS.includes(x))) {
          const r = await sourceRun(system, ctx, files.get(c.bytes)!, c.bytes, c.partitions);
          runs[system].push(r);
          say(r, round);
        }
      }
      pairs.push(pairOf(runs));
    }
    for (const c of ONLY.has('sink') ? SINK_CASES.filter(wanted) : []) {
      const topic = await filledTopic(ctx, c.bytes, c.partitions);
      const runs: Record<System, RunResult[]> = { 'kafka-connect': [], tributary: [], 'tributary-kafkajs': [] };
      try {
        for (let round = 1; round <= ROUNDS; round++) {
          const order: System[] = round % 2 === 1 ? ALL_SYSTEMS : [...ALL_SYSTEMS].reverse();
          // A sink produces nothing: the producer client changes nothing there.
          for (const system of order.filter((x) => SYSTEMS.includes(x) && x !== 'tributary-kafkajs')) {
            const r = await sinkRun(system, ctx, topic, c.bytes, c.partitions);
            runs[system].push(r);
            say(r, round);
          }
        }
      } finally {
        await admin.deleteTopics([topic]).catch(() => undefined);
      }
      pairs.push(pairOf(runs));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  let ceilings: Array<{ name: string; recordsPerSec: number }> = [];
  if (ONLY.has('ceiling')) {
    console.log('# bare producers (200 B, 6 partitions, keyed, 4 × 1,000 per send)');
    ceilings = (await benchProducers(bootstrap, { records: LINES, valueBytes: 200, partitions: 6, clients: ['kafkajs', 'platformatic'] })).map((r) => ({ name: r.name, recordsPerSec: r.recordsPerSec }));
  }
  const maxRate = pairs.find((p) => p.job === 'file → Kafka, 200 B, 6 partitions')?.best.tributary?.recordsPerSec;
  let latency: LatencyResult | undefined;
  if (maxRate && ONLY.has('latency')) {
    console.log(`# latency at 50% of ${n0(maxRate)} records/s`);
    latency = await benchLatency(bootstrap, { rate: maxRate / 2, seconds: quick ? 5 : 15, valueBytes: 200 });
  }
  let failover: FailoverResult | undefined;
  if (!quick && ONLY.has('failover')) {
    console.log('# failover, 3 workers');
    failover = await benchFailover();
  }
  await admin.stop();

  const text = report(pairs, ceilings, latency, failover);
  const elapsed = (Date.now() - t0) / 1000;
  console.log('');
  console.log(text);
  console.log(`\nbench took ${elapsed.toFixed(0)} s${quick ? '; failover figures only in the full run (npm run bench)' : ''}`);
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const stamp = started.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = join(resultsDir, `side-by-side-${stamp}${quick ? '-quick' : ''}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        benchmark: 'side-by-side',
        startedAt: started.toISOString(),
        elapsedSeconds: elapsed,
        quick,
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
        settings: { lines: LINES, rounds: ROUNDS, pollMs: POLL_MS, kafkaConnect: '4.1.1 ConnectStandalone, FileStreamSource batch.size=2000, StringConverter', tributary: 'tributary standalone, defaults', tributaryKafkajs: 'tributary standalone --producer-client kafkajs (BENCH_SYSTEMS only)' },
        pairs,
        ceilings,
        latency: latency ?? null,
        failover: failover ?? null,
        table: text,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`figures written to ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
