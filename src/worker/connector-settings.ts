/**
 * Worker-level connector config keys (the ones Tributary itself reads, beside the plugin's own),
 * parsed and checked in one place. Configs are string maps as in Kafka Connect, so an existing
 * Kafka Connect config ports over: `connector.class` names the plugin, sinks take `topics` or
 * `topics.regex`, `tasks.max` caps how many workers run the connector's partitions (the
 * leader's assignment enforces it). Converters, transforms, predicates and `errors.*` are
 * parsed by src/processing.
 */
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';
import { parseProcessing, type ProcessingSettings } from '../processing/config.js';
import { isSecurityKey, SECURITY_KEYS, TOKEN_COMMAND_KEY } from '../kafka/index.js';
import { defaultRestartPolicy, type RestartPolicy } from './restart-policy.js';

export type DeliveryGuarantee = 'at-least-once' | 'at-most-once' | 'exactly-once';

/** KIP-618's transaction.boundary: where an exactly-once source's Kafka transactions end. */
export type TransactionBoundary = 'poll' | 'interval' | 'connector';

export interface ExactlyOnceSettings {
  boundary: TransactionBoundary;
  /** transaction.boundary.interval.ms (interval boundary only). */
  intervalMs: number;
  /** offsets.storage.topic: the connector's own offsets topic, or undefined for the worker's. */
  offsetsTopic: string | undefined;
}

export interface ConnectorSettings {
  name: string;
  plugin: string;
  /** Default target topic of a source's records. */
  topic: string | undefined;
  /** A sink's input topics: a fixed list or a pattern. */
  topics: string[] | undefined;
  topicsRegex: RegExp | undefined;
  guarantee: DeliveryGuarantee;
  /** Set for a source with delivery.guarantee=exactly-once (or exactly.once.support=required). */
  exactlyOnce: ExactlyOnceSettings | undefined;
  autoOffsetReset: 'earliest' | 'latest';
  /** Records in flight per stream partition (credits for a source, unflushed records for a sink). */
  maxInFlightRecords: number;
  /** Bytes (key + value + headers) in flight per stream partition, beside the record bound. */
  maxInFlightBytes: number;
  /** Automatic restarts of a FAILED partition (restart-policy.ts). */
  restart: RestartPolicy;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /** Converters, transforms, predicates and error handling (src/processing). */
  processing: ProcessingSettings;
  /**
   * Kafka security properties from `producer.override.*`, `consumer.override.*` and
   * `admin.override.*` (prefix removed), laid over the worker's own for this connector's clients.
   */
  clientOverrides: ClientOverrides;
}

export type ClientRole = 'producer' | 'consumer' | 'admin';
export type ClientOverrides = Record<ClientRole, Record<string, string>>;

const OVERRIDE = /^(producer|consumer|admin)\.override\.(.+)$/;

/**
 * Override keys that a connector config may not carry although Kafka allows them: a command would
 * run on the worker on behalf of whoever may create connectors, and an inline private key would be
 * stored in the coordinator and shown by the admin API. Both belong in the worker config.
 */
const WORKER_ONLY: ReadonlyMap<string, string> = new Map([
  [TOKEN_COMMAND_KEY, 'may be set only in the worker config (it runs a command on the worker)'],
  ['ssl.keystore.key', 'an inline private key may be set only in the worker config; point ssl.keystore.location at a key file on the worker instead'],
]);

/** The security overrides of `config`, with a problem for each override key Tributary cannot apply. */
export function clientOverridesOf(config: Record<string, string>, problems: ConfigProblem[] = []): ClientOverrides {
  const out: ClientOverrides = { producer: {}, consumer: {}, admin: {} };
  for (const [key, value] of Object.entries(config)) {
    const m = OVERRIDE.exec(key);
    if (!m || !isSecurityKey(m[2]!)) continue;
    const property = m[2]!;
    const why = WORKER_ONLY.get(property);
    if (why) problems.push({ key, message: why });
    else if (!SECURITY_KEYS.includes(property)) problems.push({ key, message: `${property} is not a Kafka security setting Tributary applies (docs/security-kafka.md lists them)` });
    else out[m[1] as ClientRole][property] = value;
  }
  return out;
}

/** Keys Tributary reads itself; documented in docs/configuration.md. */
export const workerConnectorKeys = [
  'name',
  'connector.class',
  'plugin',
  'tasks.max',
  'topic',
  'topics',
  'topics.regex',
  'delivery.guarantee',
  'exactly.once.support',
  'transaction.boundary',
  'transaction.boundary.interval.ms',
  'offsets.storage.topic',
  'consumer.auto.offset.reset',
  'max.inflight.records',
  'max.inflight.bytes',
  'task.restart.max.attempts',
  'task.restart.backoff.initial.ms',
  'task.restart.backoff.max.ms',
  'producer.override.compression.type',
  'topic.creation.default.partitions',
  'topic.creation.default.replication.factor',
] as const;

/** Why a Kafka Connect connector key cannot be honoured here, or undefined when it can. */
export function unsupportedKey(key: string): string | undefined {
  const override = OVERRIDE.exec(key);
  if (override && isSecurityKey(override[2]!)) return undefined; // checked by clientOverridesOf
  if (/^producer\.override\./.test(key) && key !== 'producer.override.compression.type') return 'Tributary supports only producer.override.compression.type and the security settings (security.protocol, sasl.*, ssl.*) among producer overrides';
  if (/^(consumer|admin)\.override\./.test(key)) return `Tributary applies only the security settings (security.protocol, sasl.*, ssl.*) among ${key.split('.')[0]} client overrides`;
  if (/^topic\.creation\./.test(key) && !['topic.creation.default.partitions', 'topic.creation.default.replication.factor'].includes(key)) return 'Tributary supports only topic.creation.default.partitions and topic.creation.default.replication.factor';
  return undefined;
}

function intIn(config: Record<string, string>, key: string, fallback: number, min: number, max: number, problems: ConfigProblem[]): number {
  const raw = config[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push({ key, message: `must be an integer between ${min} and ${max}, got "${raw}"` });
    return fallback;
  }
  return n;
}

function oneOf<T extends string>(config: Record<string, string>, key: string, allowed: readonly T[], fallback: T, problems: ConfigProblem[]): T {
  const raw = config[key];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    problems.push({ key, message: `must be one of ${allowed.join(', ')}, got "${raw}"` });
    return fallback;
  }
  return raw as T;
}

/**
 * Parses the worker-level keys. `kind` is known once the plugin was described; pass undefined to
 * check only what does not depend on it. `converterDefaults`: the worker's converter settings,
 * used for a converter the connector does not name. Throws InvalidArgumentError naming every bad key.
 */
export function parseConnectorSettings(name: string, config: Record<string, string>, kind?: 'source' | 'sink', converterDefaults?: Readonly<Record<string, string>>): ConnectorSettings {
  const problems: ConfigProblem[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,248}$/.test(name)) {
    problems.push({ key: 'name', message: 'must start with a letter or digit and contain only letters, digits, ".", "_" and "-"' });
  }
  const plugin = config['connector.class'] || config['plugin'];
  if (!plugin) problems.push({ key: 'connector.class', message: 'is required: the name of the plugin to run' });

  const topicsRaw = config['topics']?.trim();
  const regexRaw = config['topics.regex']?.trim();
  let topics: string[] | undefined;
  let topicsRegex: RegExp | undefined;
  if (topicsRaw) topics = topicsRaw.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  if (regexRaw) {
    try {
      topicsRegex = new RegExp(`^(?:${regexRaw})$`);
    } catch (err) {
      problems.push({ key: 'topics.regex', message: `is not a valid regular expression: ${(err as Error).message}` });
    }
  }
  if (kind === 'sink') {
    if (topicsRaw && regexRaw) problems.push({ key: 'topics', message: 'set either topics or topics.regex, not both' }, { key: 'topics.regex', message: 'set either topics or topics.regex, not both' });
    else if (!topicsRaw && !regexRaw) problems.push({ key: 'topics', message: 'a sink needs topics or topics.regex' });
  }

  let guarantee = oneOf(config, 'delivery.guarantee', ['at-least-once', 'at-most-once', 'exactly-once'] as const, 'at-least-once', problems);
  const exactlyOnce = parseExactlyOnce(config, kind, guarantee, problems);
  if (exactlyOnce) guarantee = 'exactly-once';
  const autoOffsetReset = oneOf(config, 'consumer.auto.offset.reset', ['earliest', 'latest'] as const, 'earliest', problems);
  const maxInFlightRecords = intIn(config, 'max.inflight.records', 10_000, 1, 10_000_000, problems);
  const maxInFlightBytes = intIn(config, 'max.inflight.bytes', 64 * 1024 * 1024, 1024, 2 ** 31 - 1, problems);
  const restart: RestartPolicy = {
    maxAttempts: intIn(config, 'task.restart.max.attempts', defaultRestartPolicy.maxAttempts, 0, 1_000_000, problems),
    initialMs: intIn(config, 'task.restart.backoff.initial.ms', defaultRestartPolicy.initialMs, 1, 86_400_000, problems),
    maxMs: intIn(config, 'task.restart.backoff.max.ms', defaultRestartPolicy.maxMs, 1, 86_400_000, problems),
  };
  if (restart.maxMs < restart.initialMs) {
    problems.push({ key: 'task.restart.backoff.max.ms', message: `must be at least task.restart.backoff.initial.ms (${restart.initialMs}), got ${restart.maxMs}` });
  }
  const compression = oneOf(config, 'producer.override.compression.type', ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const, 'none', problems);
  intIn(config, 'tasks.max', 1, 1, 1_000_000, problems);
  intIn(config, 'topic.creation.default.partitions', 1, 1, 100_000, problems);
  intIn(config, 'topic.creation.default.replication.factor', -1, -1, 1_000, problems);
  const clientOverrides = clientOverridesOf(config, problems);

  // Kafka Connect settings whose feature Tributary does not have: an error, never a silent no-op.
  for (const key of Object.keys(config)) {
    const why = unsupportedKey(key);
    if (why) problems.push({ key, message: why });
  }

  let processing: ProcessingSettings | undefined;
  try {
    processing = parseProcessing(config, { kind: kind ?? 'source', topics: kind === 'sink' ? topics : undefined, topicsRegex: kind === 'sink' ? topicsRegex : undefined, workerDefaults: converterDefaults });
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    problems.push(...err.problems);
  }

  if (problems.length > 0 || !processing) throw new InvalidArgumentError(`invalid config for connector "${name}"`, problems);
  return {
    name,
    plugin: plugin!,
    topic: config['topic'] || undefined,
    topics,
    topicsRegex,
    guarantee,
    exactlyOnce,
    autoOffsetReset,
    maxInFlightRecords,
    maxInFlightBytes,
    restart,
    compression,
    processing,
    clientOverrides,
  };
}

/** Kafka's topic-name rule (legal characters, at most 249). */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * Exactly-once keys, as Kafka Connect spells them (KIP-618) plus Tributary's
 * `delivery.guarantee=exactly-once`. Returns the source's settings when exactly-once is on; a key
 * that only means something with exactly-once is an error without it (never silently ignored).
 */
function parseExactlyOnce(config: Record<string, string>, kind: 'source' | 'sink' | undefined, guarantee: DeliveryGuarantee, problems: ConfigProblem[]): ExactlyOnceSettings | undefined {
  const support = oneOf(config, 'exactly.once.support', ['requested', 'required'] as const, 'requested', problems);
  if (support === 'required' && guarantee === 'at-most-once') {
    problems.push({ key: 'exactly.once.support', message: 'required contradicts delivery.guarantee=at-most-once; drop one of them' });
  }
  const on = guarantee === 'exactly-once' || support === 'required';
  const boundary = oneOf(config, 'transaction.boundary', ['poll', 'interval', 'connector'] as const, 'poll', problems);
  const intervalRaw = config['transaction.boundary.interval.ms'];
  const intervalMs = intIn(config, 'transaction.boundary.interval.ms', 60_000, 1, 24 * 3_600_000, problems);
  const offsetsTopic = config['offsets.storage.topic']?.trim() || undefined;
  if (offsetsTopic !== undefined && !TOPIC_NAME.test(offsetsTopic)) {
    problems.push({ key: 'offsets.storage.topic', message: `"${offsetsTopic}" is not a valid Kafka topic name (letters, digits, ".", "_", "-"; at most 249)` });
  }
  const onlyWith = (key: string): void => {
    if (config[key] !== undefined && config[key] !== '') problems.push({ key, message: 'applies only to an exactly-once source; set delivery.guarantee=exactly-once (or exactly.once.support=required) or remove it' });
  };
  if (kind === 'sink') {
    for (const key of ['exactly.once.support', 'transaction.boundary', 'transaction.boundary.interval.ms', 'offsets.storage.topic']) {
      if (config[key] !== undefined && config[key] !== '' && !(key === 'exactly.once.support' && support === 'requested')) {
        problems.push({ key, message: 'is a source setting (KIP-618); a sink is exactly-once through delivery.guarantee=exactly-once and a plugin that stores offsets with its data' });
      }
    }
    return undefined;
  }
  if (!on) {
    for (const key of ['transaction.boundary', 'transaction.boundary.interval.ms', 'offsets.storage.topic']) onlyWith(key);
    return undefined;
  }
  if (intervalRaw !== undefined && intervalRaw !== '' && boundary !== 'interval') {
    problems.push({ key: 'transaction.boundary.interval.ms', message: `applies only with transaction.boundary=interval (it is ${boundary})` });
  }
  return { boundary, intervalMs, offsetsTopic };
}
