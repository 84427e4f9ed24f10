/**
 * Worker-level connector config keys (the ones Tributary itself reads, beside the plugin's own),
 * parsed and checked in one place. Configs are string maps as in Kafka Connect, so an existing
 * Kafka Connect config ports over: `connector.class` names the plugin, sinks take `topics` or
 * `topics.regex`, `tasks.max` is accepted and ignored (parallelism is one task per stream
 * partition).
 */
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';

export type DeliveryGuarantee = 'at-least-once' | 'at-most-once';

export interface ConnectorSettings {
  name: string;
  plugin: string;
  /** Default target topic of a source's records. */
  topic: string | undefined;
  /** A sink's input topics: a fixed list or a pattern. */
  topics: string[] | undefined;
  topicsRegex: RegExp | undefined;
  guarantee: DeliveryGuarantee;
  autoOffsetReset: 'earliest' | 'latest';
  /** Records in flight per stream partition (credits for a source, unflushed records for a sink). */
  maxInFlightRecords: number;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
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
  'consumer.auto.offset.reset',
  'max.inflight.records',
  'producer.override.compression.type',
  'topic.creation.default.partitions',
  'topic.creation.default.replication.factor',
] as const;

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
 * check only what does not depend on it. Throws InvalidArgumentError naming every bad key.
 */
export function parseConnectorSettings(name: string, config: Record<string, string>, kind?: 'source' | 'sink'): ConnectorSettings {
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

  const guaranteeRaw = config['delivery.guarantee'];
  if (guaranteeRaw === 'exactly-once') {
    problems.push({ key: 'delivery.guarantee', message: 'exactly-once is not available yet; use at-least-once (default) or at-most-once' });
  }
  const guarantee = guaranteeRaw === 'exactly-once' ? 'at-least-once' : oneOf(config, 'delivery.guarantee', ['at-least-once', 'at-most-once'] as const, 'at-least-once', problems);
  const autoOffsetReset = oneOf(config, 'consumer.auto.offset.reset', ['earliest', 'latest'] as const, 'earliest', problems);
  const maxInFlightRecords = intIn(config, 'max.inflight.records', 10_000, 1, 10_000_000, problems);
  const compression = oneOf(config, 'producer.override.compression.type', ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const, 'none', problems);
  intIn(config, 'tasks.max', 1, 1, 1_000_000, problems);
  intIn(config, 'topic.creation.default.partitions', 1, 1, 100_000, problems);
  intIn(config, 'topic.creation.default.replication.factor', -1, -1, 1_000, problems);

  if (problems.length > 0) throw new InvalidArgumentError(`invalid config for connector "${name}"`, problems);
  return {
    name,
    plugin: plugin!,
    topic: config['topic'] || undefined,
    topics,
    topicsRegex,
    guarantee,
    autoOffsetReset,
    maxInFlightRecords,
    compression,
  };
}
