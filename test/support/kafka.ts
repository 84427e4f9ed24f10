/**
 * Helpers for tests against the real Kafka: the broker address, unique names, reading a
 * partition until a condition holds (with a deadline), Kafka's own consumer-group tool as an
 * independent check of committed offsets, and restarting the local broker with its data kept.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FetchedRecord, KafkaConnectionConfig, PartitionReader, ProducerRecord, RecordProducer, SendOptions, TopicPartition } from '../../src/kafka/index.js';
import { localStateDir, services } from './services.js';

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The bootstrap address of the test broker (starts the local services if needed). */
export async function kafkaBootstrap(): Promise<string> {
  return (await services()).kafkaBootstrap;
}

export function kafkaConn(bootstrap: string, clientId: string, extra: Partial<KafkaConnectionConfig> = {}): KafkaConnectionConfig {
  return { brokers: bootstrap.split(','), clientId, requestTimeoutMs: 15_000, connectTimeoutMs: 5_000, ...extra };
}

/** A name no other run uses (topics, groups, transactional ids). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export interface ReadOptions {
  /** Stop once this holds for everything read so far. */
  until: (records: readonly FetchedRecord[]) => boolean;
  timeoutMs?: number;
}

/** Reads `tp` from `from` until `opts.until` holds; fails with what it saw after the deadline. */
export async function readUntil(reader: PartitionReader, tp: TopicPartition, from: bigint, opts: ReadOptions): Promise<FetchedRecord[]> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const records: FetchedRecord[] = [];
  try {
    if (opts.until(records)) return records;
    for await (const batch of reader.read(tp, from, controller.signal)) {
      for (const r of batch.records) records.push(r);
      if (opts.until(records)) return records;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  throw new Error(`reading ${tp.topic}-${tp.partition} from ${from}: condition not met within ${timeoutMs} ms (read ${records.length} records)`);
}

/** Where deploy/local keeps Kafka's jars (the version is pinned in deploy/local/pom.xml). */
export function kafkaLibDir(): string {
  const pom = readFileSync(join(repoRoot, 'deploy', 'local', 'pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (!version) throw new Error('deploy/local/pom.xml has no <kafka.version>');
  const cache = process.env.TRIBUTARY_CACHE || join(homedir(), '.cache', 'tributary');
  return join(cache, `kafka-${version}`, 'lib');
}

export interface GroupOffsetRow {
  topic: string;
  partition: number;
  currentOffset: bigint | null;
  logEndOffset: bigint | null;
}

/**
 * `kafka-consumer-groups --describe --group <group>` through Kafka's own ConsumerGroupCommand
 * (a JVM start: a few seconds). Rows parsed by the header's column names.
 */
export async function describeGroupWithKafkaTool(bootstrap: string, group: string): Promise<GroupOffsetRow[]> {
  const { stdout } = await execFileAsync(
    'java',
    [
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Xmx256m',
      '-cp',
      `${kafkaLibDir()}/*`,
      'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
      '--bootstrap-server',
      bootstrap,
      '--describe',
      '--group',
      group,
    ],
    { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 },
  );
  const lines = stdout.split('\n').map((l) => l.trim());
  const headerAt = lines.findIndex((l) => l.startsWith('GROUP') && l.includes('CURRENT-OFFSET'));
  if (headerAt < 0) throw new Error(`ConsumerGroupCommand printed no offsets table for ${group}:\n${stdout}`);
  const columns = lines[headerAt]!.split(/\s+/);
  const col = (name: string): number => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`ConsumerGroupCommand output lacks column ${name}: ${lines[headerAt]}`);
    return i;
  };
  const [topicCol, partitionCol, currentCol, endCol] = [col('TOPIC'), col('PARTITION'), col('CURRENT-OFFSET'), col('LOG-END-OFFSET')];
  const offset = (v: string | undefined): bigint | null => (v && /^\d+$/.test(v) ? BigInt(v) : null);
  return lines
    .slice(headerAt + 1)
    .filter((l) => l.length > 0 && !l.startsWith('GROUP'))
    .map((l) => l.split(/\s+/))
    .map((cells) => ({
      topic: cells[topicCol]!,
      partition: Number(cells[partitionCol]),
      currentOffset: offset(cells[currentCol]),
      logEndOffset: offset(cells[endCol]),
    }));
}

/** How long the broker was away, as measured by deploy/local/restart-kafka.sh. */
export interface BrokerRestart {
  /** From the start of the script until the old process had exited (SIGTERM, controlled shutdown). */
  stopMs: number;
  /** From launching the broker again until it logged "Kafka Server started" and its port answered. */
  startMs: number;
  /** The whole script, including the `downMs` pause. */
  totalMs: number;
}

/**
 * Why the broker of this run cannot be restarted by the tests, or undefined if it can: only the
 * broker that deploy/local/up.sh started (in `localStateDir()`) is restarted, never a cluster
 * named by KAFKA_BOOTSTRAP; and TRIBUTARY_SKIP_BROKER_RESTART=1 turns restarts off, for when
 * other runs share the local broker. Meant for `it(name, { skip: await brokerRestartSkipReason() }, ...)`.
 */
export async function brokerRestartSkipReason(): Promise<string | undefined> {
  if (process.env.TRIBUTARY_SKIP_BROKER_RESTART === '1') {
    return 'TRIBUTARY_SKIP_BROKER_RESTART=1: broker-restart cases are off (e.g. while other runs share this broker)';
  }
  const bootstrap = await kafkaBootstrap();
  const stateDir = localStateDir();
  const envFile = join(stateDir, 'env');
  const local = existsSync(envFile) ? /^KAFKA_BOOTSTRAP=(.*)$/m.exec(readFileSync(envFile, 'utf8'))?.[1]?.trim() : undefined;
  if (local === undefined) {
    return `KAFKA_BOOTSTRAP=${bootstrap} is not a broker started by deploy/local/up.sh (no local Kafka in ${stateDir}); broker-restart cases run only against the local broker`;
  }
  if (local !== bootstrap) {
    return `KAFKA_BOOTSTRAP=${bootstrap} points elsewhere than the local broker (${local}); broker-restart cases restart only the local broker`;
  }
  if (!existsSync(join(stateDir, 'kafka.pid'))) return `the local broker at ${local} has no pid file in ${stateDir}; was it started by deploy/local/up.sh?`;
  return undefined;
}

/**
 * Restarts the local broker with its data kept (deploy/local/restart-kafka.sh): SIGTERM (SIGKILL
 * after 30 s), `downMs` of downtime, start with the same command line, resolve once it is ready
 * again (about 4 s in all on the 2-core dev machine). Every client of this broker sees the
 * restart, including other test processes using it at the same time. Rejects, without touching
 * anything, when `brokerRestartSkipReason()` names a reason, and when the script fails (its
 * output is in the error).
 */
export async function restartBroker(downMs = 0): Promise<BrokerRestart> {
  const reason = await brokerRestartSkipReason();
  if (reason) throw new Error(`cannot restart the broker: ${reason}`);
  if (!Number.isFinite(downMs) || downMs < 0) throw new Error(`downMs must be >= 0, got ${downMs}`);
  const script = join(repoRoot, 'deploy', 'local', 'restart-kafka.sh');
  // Detached, with its output in a file rather than a pipe: if this process dies mid-restart, the
  // script still brings the broker back (with a pipe it would die of SIGPIPE, leaving it down).
  const dir = mkdtempSync(join(tmpdir(), 'tributary-restart-'));
  const outFile = join(dir, 'output.txt');
  const out = openSync(outFile, 'w');
  let output: string;
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      const child = spawn('bash', [script, downMs === 0 ? '0' : (downMs / 1000).toFixed(3)], { cwd: repoRoot, stdio: ['ignore', out, out], detached: true });
      child.once('error', reject);
      child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    output = readFileSync(outFile, 'utf8');
    if (code !== 0) throw new Error(`bash ${script} failed (${signal ?? `exit ${code}`}):\n${output}`);
  } finally {
    closeSync(out);
    rmSync(dir, { recursive: true, force: true });
  }
  const figure = (name: string): number => Number(new RegExp(`^${name}=(\\d+)$`, 'm').exec(output)?.[1] ?? NaN);
  return { stopMs: figure('RESTART_STOP_MS'), startMs: figure('RESTART_START_MS'), totalMs: figure('RESTART_TOTAL_MS') };
}

/** `real` with its `send` replaced (to count or slow sends); every other call goes to `real`. */
export function withSend(real: RecordProducer, send: (records: ProducerRecord[], options?: SendOptions) => Promise<void>): RecordProducer {
  return {
    start: () => real.start(),
    stop: () => real.stop(),
    beginTransaction: () => real.beginTransaction(),
    initTransactions: () => real.initTransactions(),
    abandon: (lane, reason) => real.abandon(lane, reason),
    abort: (reason) => real.abort(reason),
    send,
  };
}
