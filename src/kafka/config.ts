/**
 * Validates Tributary's Kafka options and applies every default in one place, so the adapters
 * read compiled values only. Invalid options throw an InvalidArgumentError naming each
 * offending key; nothing here talks to a broker.
 */
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';
import type {
  AutoOffsetReset,
  CompressionCodec,
  KafkaConnectionConfig,
  PartitionReaderOptions,
  ProducerClient,
  ProducerOptions,
} from './types.js';
import { compileSecurity, PLAINTEXT_SECURITY, type CompiledSecurity, type SecurityClient } from './security.js';

export interface CompiledConnection {
  brokers: string[];
  clientId: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  /**
   * Retries a library may do on its own before an operation fails. Kept short (about 3 s in
   * all): the error that follows is marked retriable, and the caller's backoff loop owns the
   * long wait. Unbounded library retries would turn "unknown topic" into a hang.
   */
  retries: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** TLS options and SASL credentials (PLAINTEXT: neither). */
  security: CompiledSecurity;
}

export interface CompiledProducerOptions {
  client: ProducerClient;
  idempotent: boolean;
  acks: -1 | 0 | 1;
  compression: CompressionCodec;
  transactionalId: string | undefined;
  maxInFlight: number;
  /** Upper bound of the estimated bytes of one coalesced produce request (see send-queue.ts). */
  maxRequestBytes: number;
  /**
   * How long a produce request is retried, as the same request on the same producer, after a
   * retriable failure (Java's delivery.timeout.ms); after that the send fails.
   */
  deliveryTimeoutMs: number;
}

export interface CompiledReaderOptions {
  maxBytes: number;
  maxWaitMs: number;
  isolationLevel: 'read_uncommitted' | 'read_committed';
  autoOffsetReset: AutoOffsetReset;
  /** Backoff between retries of a failing fetch. */
  retryInitialMs: number;
  retryMaxMs: number;
}

const CLIENTS: readonly ProducerClient[] = ['kafkajs', 'platformatic'];
const CODECS: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const RESETS: readonly AutoOffsetReset[] = ['earliest', 'latest', 'none'];

function positiveInt(problems: ConfigProblem[], key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    problems.push({ key, message: `must be a positive integer, got ${String(value)}` });
    return fallback;
  }
  return value;
}

function fail(what: string, problems: ConfigProblem[]): never {
  throw new InvalidArgumentError(`invalid ${what}; fix the listed keys`, problems);
}

/**
 * `client`: the library that will connect (its SASL mechanisms are checked); the partition
 * reader, topic admin and group-offset store are @platformatic/kafka.
 */
export function compileConnection(conn: KafkaConnectionConfig, client: SecurityClient = 'platformatic'): CompiledConnection {
  const problems: ConfigProblem[] = [];
  if (!Array.isArray(conn.brokers) || conn.brokers.length === 0) {
    problems.push({ key: 'brokers', message: 'list at least one broker as host:port' });
  } else {
    for (const broker of conn.brokers) {
      const match = /^(.+):(\d+)$/.exec(broker);
      const port = match ? Number(match[2]) : NaN;
      if (!match || port < 1 || port > 65535) {
        problems.push({ key: 'brokers', message: `"${broker}" is not host:port` });
      }
    }
  }
  if (typeof conn.clientId !== 'string' || !/^\S+$/.test(conn.clientId)) {
    problems.push({ key: 'clientId', message: 'must be a non-empty string without spaces' });
  }
  const requestTimeoutMs = positiveInt(problems, 'requestTimeoutMs', conn.requestTimeoutMs, 30_000);
  const connectTimeoutMs = positiveInt(problems, 'connectTimeoutMs', conn.connectTimeoutMs, 10_000);
  let security = PLAINTEXT_SECURITY;
  if (conn.security) {
    try {
      security = compileSecurity(conn.security, client);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) fail('Kafka connection config', problems);
  return {
    brokers: [...conn.brokers],
    clientId: conn.clientId,
    requestTimeoutMs,
    connectTimeoutMs,
    retries: 5,
    retryInitialMs: 100,
    retryMaxMs: 2_000,
    security,
  };
}

export function compileProducerOptions(options: ProducerOptions): CompiledProducerOptions {
  const problems: ConfigProblem[] = [];
  if (!CLIENTS.includes(options.client)) {
    problems.push({ key: 'client', message: `must be one of ${CLIENTS.join(', ')}, got ${String(options.client)}` });
  }
  const idempotent = options.idempotent ?? true;
  const compression = options.compression ?? 'none';
  if (!CODECS.includes(compression)) {
    problems.push({ key: 'compression', message: `must be one of ${CODECS.join(', ')}, got ${String(compression)}` });
  }
  const acks = idempotent ? -1 : (options.acks ?? -1);
  if (![-1, 0, 1].includes(acks)) problems.push({ key: 'acks', message: `must be -1, 0 or 1, got ${String(acks)}` });
  const maxInFlight = positiveInt(problems, 'maxInFlight', options.maxInFlight, 5);
  if (idempotent && maxInFlight > 5) {
    problems.push({ key: 'maxInFlight', message: `must be at most 5 for an idempotent producer, got ${maxInFlight}` });
  }
  const transactionalId = options.transactionalId;
  if (transactionalId !== undefined) {
    if (typeof transactionalId !== 'string' || !/^\S+$/.test(transactionalId)) {
      problems.push({ key: 'transactionalId', message: 'must be a non-empty string without spaces' });
    }
    if (!idempotent) problems.push({ key: 'idempotent', message: 'a transactional producer must be idempotent' });
  }
  if (problems.length > 0) fail('producer options', problems);
  return {
    client: options.client,
    idempotent,
    acks: acks as -1 | 0 | 1,
    compression,
    transactionalId,
    maxInFlight,
    // Below the broker's default max.message.bytes (1 MiB) so coalescing sends never creates a
    // batch the broker rejects although each caller's batch alone would have fitted.
    maxRequestBytes: 768 * 1024,
    deliveryTimeoutMs: 30_000,
  };
}

export function compileReaderOptions(options: PartitionReaderOptions = {}): CompiledReaderOptions {
  const problems: ConfigProblem[] = [];
  const maxBytes = positiveInt(problems, 'maxBytes', options.maxBytes, 8 * 1024 * 1024);
  const maxWaitMs = positiveInt(problems, 'maxWaitMs', options.maxWaitMs, 500);
  const isolationLevel = options.isolationLevel ?? 'read_uncommitted';
  if (isolationLevel !== 'read_uncommitted' && isolationLevel !== 'read_committed') {
    problems.push({ key: 'isolationLevel', message: `must be read_uncommitted or read_committed, got ${String(isolationLevel)}` });
  }
  // Kafka Connect's sink consumers default to earliest: a new sink reads what is already there.
  const autoOffsetReset = options.autoOffsetReset ?? 'earliest';
  if (!RESETS.includes(autoOffsetReset)) {
    problems.push({ key: 'autoOffsetReset', message: `must be one of ${RESETS.join(', ')}, got ${String(autoOffsetReset)}` });
  }
  if (problems.length > 0) fail('partition reader options', problems);
  return { maxBytes, maxWaitMs, isolationLevel, autoOffsetReset, retryInitialMs: 100, retryMaxMs: 5_000 };
}
