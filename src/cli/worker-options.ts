/**
 * `tributary worker` settings from flags, environment variables and an optional JSON config
 * file (in that order of precedence), compiled in one place with every default applied.
 * docs/configuration.md lists them.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';
import type { ProducerClient } from '../kafka/index.js';

export interface WorkerFlags {
  config?: string;
  id?: string;
  cluster?: string;
  etcd?: string;
  kafka?: string;
  listen?: string;
  advertise?: string;
  pluginPath?: string;
  sessionTimeout?: string;
  heartbeatInterval?: string;
  offsetFlushInterval?: string;
  producerClient?: string;
}

export interface CompiledWorkerSettings {
  id: string;
  cluster: string;
  etcdEndpoints: string[];
  kafkaBrokers: string[];
  listen: string;
  advertisedAddress: string | undefined;
  pluginPath: string | undefined;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  offsetFlushIntervalMs: number;
  producerClient: ProducerClient;
}

/** flag name → [environment variable, config file key] */
const sources: Record<keyof Omit<WorkerFlags, 'config'>, [string, string]> = {
  id: ['TRIBUTARY_WORKER_ID', 'worker.id'],
  cluster: ['TRIBUTARY_CLUSTER', 'cluster'],
  etcd: ['ETCD_ENDPOINTS', 'etcd.endpoints'],
  kafka: ['KAFKA_BOOTSTRAP', 'kafka.bootstrap'],
  listen: ['TRIBUTARY_LISTEN', 'listen'],
  advertise: ['TRIBUTARY_ADVERTISED_ADDRESS', 'advertised.address'],
  pluginPath: ['TRIBUTARY_PLUGIN_PATH', 'plugin.path'],
  sessionTimeout: ['TRIBUTARY_SESSION_TIMEOUT_MS', 'session.timeout.ms'],
  heartbeatInterval: ['TRIBUTARY_HEARTBEAT_INTERVAL_MS', 'heartbeat.interval.ms'],
  offsetFlushInterval: ['TRIBUTARY_OFFSET_FLUSH_INTERVAL_MS', 'offset.flush.interval.ms'],
  producerClient: ['TRIBUTARY_PRODUCER_CLIENT', 'kafka.producer.client'],
};

function readConfigFile(path: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`cannot read worker config file ${path}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidArgumentError(`worker config file ${path} must hold a JSON object of settings`);
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
}

export function compileWorkerSettings(flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env): CompiledWorkerSettings {
  const file = flags.config ? readConfigFile(flags.config) : {};
  const problems: ConfigProblem[] = [];
  const get = (name: keyof typeof sources): string | undefined => {
    const [envName, fileKey] = sources[name];
    return flags[name] ?? env[envName] ?? file[fileKey];
  };
  const ms = (name: keyof typeof sources, fallback: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) problems.push({ key: sources[name][1], message: `must be a positive integer of milliseconds, got "${raw}"` });
    return n;
  };
  const list = (name: keyof typeof sources): string[] => (get(name) ?? '').split(',').map((s) => s.trim()).filter(Boolean);

  const kafkaBrokers = list('kafka');
  if (kafkaBrokers.length === 0) problems.push({ key: 'kafka.bootstrap', message: 'is required: pass --kafka host:port or set KAFKA_BOOTSTRAP' });
  const etcdEndpoints = list('etcd');
  const producerClient = get('producerClient') ?? 'platformatic';
  if (producerClient !== 'kafkajs' && producerClient !== 'platformatic') problems.push({ key: 'kafka.producer.client', message: `must be kafkajs or platformatic, got "${producerClient}"` });
  const sessionTimeoutMs = ms('sessionTimeout', 3_000);
  const heartbeatIntervalMs = ms('heartbeatInterval', 500);
  if (heartbeatIntervalMs * 2 >= sessionTimeoutMs) problems.push({ key: 'heartbeat.interval.ms', message: `must be less than half of session.timeout.ms (${sessionTimeoutMs})` });
  const offsetFlushIntervalMs = ms('offsetFlushInterval', 1_000);
  const listen = get('listen') ?? '127.0.0.1:8083';
  if (!/^[^:]+:\d+$/.test(listen)) problems.push({ key: 'listen', message: `must be host:port, got "${listen}"` });
  if (problems.length > 0) throw new InvalidArgumentError('invalid worker settings', problems);
  return {
    id: get('id') ?? `${hostname()}-${randomUUID().slice(0, 6)}`,
    cluster: get('cluster') ?? 'tributary',
    etcdEndpoints,
    kafkaBrokers,
    listen,
    advertisedAddress: get('advertise'),
    pluginPath: get('pluginPath'),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    offsetFlushIntervalMs,
    producerClient: producerClient as ProducerClient,
  };
}
