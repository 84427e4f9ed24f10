/**
 * Helpers for tests against the real Kafka: the broker address, unique names, reading a
 * partition until a condition holds (with a deadline), and Kafka's own consumer-group tool as an
 * independent check of committed offsets.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FetchedRecord, KafkaConnectionConfig, PartitionReader, TopicPartition } from '../../src/kafka/index.js';
import { services } from './services.js';

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
