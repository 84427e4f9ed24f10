/**
 * `tributary worker` settings from flags, environment variables and an optional JSON config
 * file (in that order of precedence), compiled in one place with every default applied.
 * docs/configuration.md lists them.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';
import { compileSecurity, isSecurityKey, type ProducerClient } from '../kafka/index.js';
import { ALLOWED_PATHS_ENV, AllowedPaths } from '../util/allowed-paths.js';
import { parseProcessing, WORKER_CONVERTER_KEY } from '../processing/config.js';
import { DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_INFLIGHT_RECORDS, DEFAULT_SESSION_TIMEOUT_MS } from '../worker/index.js';

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
  maxInflightRecords?: string;
  maxInflightBytes?: string;
  producerClient?: string;
  restListen?: string;
  metricsListen?: string;
  allowedPaths?: string;
  adminTokensFile?: string;
  adminJwtJwksFile?: string;
  adminJwtIssuer?: string;
  adminJwtAudience?: string;
  adminJwtRolesClaim?: string;
  adminJwtPrincipalClaim?: string;
  adminIdentitiesFile?: string;
  consoleActions?: string;
  grpcTlsCert?: string;
  grpcTlsKey?: string;
  grpcTlsCa?: string;
  grpcTlsClientAuth?: string;
  grpcTlsReloadInterval?: string;
  etcdTlsCa?: string;
  etcdTlsCert?: string;
  etcdTlsKey?: string;
  etcdUsername?: string;
  etcdPasswordFile?: string;
  keyConverter?: string;
  valueConverter?: string;
  headerConverter?: string;
  exactlyOnceSourceSupport?: string;
  offsetStorageTopic?: string;
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
  /** The worker's record credit pool (docs/configuration.md, "Memory bounds"). */
  maxInFlightRecords: number;
  /** The worker's byte credit pool. */
  maxInFlightBytes: number;
  producerClient: ProducerClient;
  /** HTTP address of the Kafka Connect REST API, /health and /metrics; undefined: no REST API. */
  restListen: string | undefined;
  /** HTTP address of /metrics and /health when not served with the REST API; undefined: with it. */
  metricsListen: string | undefined;
  /** Directories the file connectors and `${file:…}` references may use; none unless configured (docs/security.md). */
  allowedPaths: AllowedPaths;
  /** JSON file of admin bearer tokens (docs/security.md); undefined: the Admin API is open. */
  adminTokensFile: string | undefined;
  /** OIDC/JWT bearer tokens verified with a JWKS file (docs/security.md); undefined: not accepted. */
  adminJwt: AdminJwtSettings | undefined;
  /** Mapping of mTLS client certificate identities to roles (docs/security.md); undefined: certificates give no role. */
  adminIdentitiesFile: string | undefined;
  /** `console.actions`: the web console may pause, resume, stop and restart (default false: read-only; docs/console.md). */
  consoleActions: boolean;
  /** TLS on the worker's gRPC port and its gRPC clients (docs/security.md); undefined: plaintext. */
  grpcTls: GrpcTlsSettings | undefined;
  /** TLS and user/password auth to etcd (docs/security.md), read from their files. */
  etcdSecurity: EtcdSecurity;
  /**
   * `key.converter`, `value.converter`, `header.converter` and their `<prefix>.*` settings, used
   * for every connector that does not name that converter itself (Kafka Connect's precedence).
   */
  converterDefaults: Record<string, string>;
  /**
   * Kafka client security (`security.protocol`, `sasl.*`, `ssl.*`, Kafka's names) from the config
   * file, for every Kafka client of the worker; connectors add `producer.override.*` etc. on top.
   */
  kafkaSecurity: Record<string, string>;
  /** Kafka Connect's `exactly.once.source.support` (docs/exactly-once.md); default enabled. */
  exactlyOnceSourceSupport: 'enabled' | 'disabled';
  /** Kafka Connect's `offset.storage.topic` for exactly-once sources; undefined: `tributary-<cluster>-offsets`. */
  offsetStorageTopic: string | undefined;
}

export interface GrpcTlsSettings {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** `required`: Admin calls need a client certificate of the CA too; `requested`: a token alone will do. Sessions always need one. */
  clientAuth: 'required' | 'requested';
  reloadIntervalMs: number;
}

export interface EtcdSecurity {
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
}

/** Converter flags: class names only; their `.*` settings come from the config file. */
const converterFlags = { keyConverter: 'key.converter', valueConverter: 'value.converter', headerConverter: 'header.converter' } as const;

/** flag name → [environment variable, config file key] */
const sources: Record<Exclude<keyof WorkerFlags, 'config' | keyof typeof converterFlags>, [string, string]> = {
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
  maxInflightRecords: ['TRIBUTARY_MAX_INFLIGHT_RECORDS', 'worker.max.inflight.records'],
  maxInflightBytes: ['TRIBUTARY_MAX_INFLIGHT_BYTES', 'worker.max.inflight.bytes'],
  producerClient: ['TRIBUTARY_PRODUCER_CLIENT', 'kafka.producer.client'],
  restListen: ['TRIBUTARY_REST_LISTEN', 'rest.listen'],
  metricsListen: ['TRIBUTARY_METRICS_LISTEN', 'metrics.listen'],
  allowedPaths: [ALLOWED_PATHS_ENV, 'allowed.paths'],
  adminTokensFile: ['TRIBUTARY_ADMIN_TOKENS_FILE', 'admin.tokens.file'],
  adminJwtJwksFile: ['TRIBUTARY_ADMIN_JWT_JWKS_FILE', 'admin.jwt.jwks.file'],
  adminJwtIssuer: ['TRIBUTARY_ADMIN_JWT_ISSUER', 'admin.jwt.issuer'],
  adminJwtAudience: ['TRIBUTARY_ADMIN_JWT_AUDIENCE', 'admin.jwt.audience'],
  adminJwtRolesClaim: ['TRIBUTARY_ADMIN_JWT_ROLES_CLAIM', 'admin.jwt.roles.claim'],
  adminJwtPrincipalClaim: ['TRIBUTARY_ADMIN_JWT_PRINCIPAL_CLAIM', 'admin.jwt.principal.claim'],
  adminIdentitiesFile: ['TRIBUTARY_ADMIN_IDENTITIES_FILE', 'admin.identities.file'],
  consoleActions: ['TRIBUTARY_CONSOLE_ACTIONS', 'console.actions'],
  grpcTlsCert: ['TRIBUTARY_GRPC_TLS_CERT_FILE', 'grpc.tls.cert.file'],
  grpcTlsKey: ['TRIBUTARY_GRPC_TLS_KEY_FILE', 'grpc.tls.key.file'],
  grpcTlsCa: ['TRIBUTARY_GRPC_TLS_CA_FILE', 'grpc.tls.ca.file'],
  grpcTlsClientAuth: ['TRIBUTARY_GRPC_TLS_CLIENT_AUTH', 'grpc.tls.client.auth'],
  grpcTlsReloadInterval: ['TRIBUTARY_GRPC_TLS_RELOAD_INTERVAL_MS', 'grpc.tls.reload.interval.ms'],
  etcdTlsCa: ['TRIBUTARY_ETCD_TLS_CA_FILE', 'etcd.tls.ca.file'],
  etcdTlsCert: ['TRIBUTARY_ETCD_TLS_CERT_FILE', 'etcd.tls.cert.file'],
  etcdTlsKey: ['TRIBUTARY_ETCD_TLS_KEY_FILE', 'etcd.tls.key.file'],
  etcdUsername: ['TRIBUTARY_ETCD_USERNAME', 'etcd.username'],
  etcdPasswordFile: ['TRIBUTARY_ETCD_PASSWORD_FILE', 'etcd.password.file'],
  exactlyOnceSourceSupport: ['TRIBUTARY_EXACTLY_ONCE_SOURCE_SUPPORT', 'exactly.once.source.support'],
  offsetStorageTopic: ['TRIBUTARY_OFFSET_STORAGE_TOPIC', 'offset.storage.topic'],
};

/** Every environment variable a worker reads for its settings (deploy/ manifests are checked against it). */
export const WORKER_ENVIRONMENT: readonly string[] = Object.values(sources).map(([envName]) => envName);

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

/**
 * `defaultAllowedPaths`: the directories allowed when `allowed.paths` is not set anywhere
 * (standalone passes its own; a cluster worker allows none).
 */
export function compileWorkerSettings(flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env, defaultAllowedPaths: readonly string[] = []): CompiledWorkerSettings {
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
  const count = (name: keyof typeof sources, fallback: number, min: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min) {
      problems.push({ key: sources[name][1], message: `must be an integer of at least ${min}, got "${raw}"` });
      return fallback;
    }
    return n;
  };
  const list = (name: keyof typeof sources): string[] => (get(name) ?? '').split(',').map((s) => s.trim()).filter(Boolean);

  const kafkaBrokers = list('kafka');
  if (kafkaBrokers.length === 0) problems.push({ key: 'kafka.bootstrap', message: 'is required: pass --kafka host:port or set KAFKA_BOOTSTRAP' });
  const etcdEndpoints = list('etcd');
  const producerClient = get('producerClient') ?? 'platformatic';
  if (producerClient !== 'kafkajs' && producerClient !== 'platformatic') problems.push({ key: 'kafka.producer.client', message: `must be kafkajs or platformatic, got "${producerClient}"` });
  const sessionTimeoutMs = ms('sessionTimeout', DEFAULT_SESSION_TIMEOUT_MS);
  const heartbeatIntervalMs = ms('heartbeatInterval', 500);
  if (heartbeatIntervalMs * 2 >= sessionTimeoutMs) problems.push({ key: 'heartbeat.interval.ms', message: `must be less than half of session.timeout.ms (${sessionTimeoutMs})` });
  const offsetFlushIntervalMs = ms('offsetFlushInterval', 1_000);
  const maxInFlightRecords = count('maxInflightRecords', DEFAULT_MAX_INFLIGHT_RECORDS, 1);
  const maxInFlightBytes = count('maxInflightBytes', DEFAULT_MAX_INFLIGHT_BYTES, 1024);
  const listen = get('listen') ?? '127.0.0.1:8083';
  if (!/^[^:]+:\d+$/.test(listen)) problems.push({ key: 'listen', message: `must be host:port, got "${listen}"` });
  const http = (name: 'restListen' | 'metricsListen'): string | undefined => {
    const raw = get(name);
    if (raw === undefined || raw === '') return undefined;
    // `:8083` listens on every interface, as Kafka Connect's `listeners=http://:8083`.
    const value = raw.startsWith(':') ? `0.0.0.0${raw}` : raw;
    if (!/^[^:]+:\d+$/.test(value)) problems.push({ key: sources[name][1], message: `must be host:port or :port, got "${raw}"` });
    return value;
  };
  const restListen = http('restListen');
  const metricsListen = http('metricsListen');
  let allowedPaths = AllowedPaths.of(defaultAllowedPaths);
  const allowedRaw = get('allowedPaths');
  if (allowedRaw !== undefined) {
    try {
      allowedPaths = AllowedPaths.parse(allowedRaw);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      problems.push(...err.problems);
    }
  }
  const consoleActionsRaw = get('consoleActions') ?? 'false';
  if (consoleActionsRaw !== 'true' && consoleActionsRaw !== 'false') problems.push({ key: 'console.actions', message: `must be true or false, got "${consoleActionsRaw}"` });
  const grpcTls = compileGrpcTls(get, ms, problems);
  const adminJwt = compileAdminJwt(get, problems);
  const adminIdentitiesFile = get('adminIdentitiesFile') || undefined;
  if (adminIdentitiesFile !== undefined && !grpcTls) problems.push({ key: 'admin.identities.file', message: 'maps client certificates, so it needs gRPC TLS: grpc.tls.cert.file, grpc.tls.key.file and grpc.tls.ca.file' });
  const etcdSecurity = compileEtcdSecurity(get, problems);
  const converterDefaults = compileConverterDefaults(flags, file, problems);
  const kafkaSecurity = compileKafkaSecurity(file, producerClient === 'kafkajs' ? 'kafkajs' : 'platformatic', problems);
  const exactlyOnceSourceSupport = get('exactlyOnceSourceSupport') ?? 'enabled';
  if (exactlyOnceSourceSupport !== 'enabled' && exactlyOnceSourceSupport !== 'disabled') {
    // Kafka Connect's third value, `preparing`, exists for rolling its task-based fencing in; per-partition ids need no such phase.
    problems.push({ key: 'exactly.once.source.support', message: `must be enabled or disabled, got "${exactlyOnceSourceSupport}"` });
  }
  const offsetStorageTopic = get('offsetStorageTopic') || undefined;
  if (offsetStorageTopic !== undefined && !/^[A-Za-z0-9._-]{1,249}$/.test(offsetStorageTopic)) {
    problems.push({ key: 'offset.storage.topic', message: `"${offsetStorageTopic}" is not a valid Kafka topic name` });
  }
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
    maxInFlightRecords,
    maxInFlightBytes,
    producerClient: producerClient as ProducerClient,
    restListen,
    metricsListen: metricsListen === restListen ? undefined : metricsListen,
    allowedPaths,
    adminTokensFile: get('adminTokensFile') || undefined,
    adminJwt,
    adminIdentitiesFile,
    consoleActions: consoleActionsRaw === 'true',
    grpcTls,
    etcdSecurity,
    converterDefaults,
    kafkaSecurity,
    exactlyOnceSourceSupport: exactlyOnceSourceSupport as 'enabled' | 'disabled',
    offsetStorageTopic,
  };
}

/**
 * `etcd.tls.*` and `etcd.username`/`etcd.password.file`, read here so a missing file stops the
 * worker with its key named. The password comes only from a file (never a flag, which `ps` shows).
 */
function compileEtcdSecurity(get: (name: keyof typeof sources) => string | undefined, problems: ConfigProblem[]): EtcdSecurity {
  const read = (name: 'etcdTlsCa' | 'etcdTlsCert' | 'etcdTlsKey' | 'etcdPasswordFile'): Buffer | undefined => {
    const path = get(name) || undefined;
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      problems.push({ key: sources[name][1], message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return undefined;
    }
  };
  const out: EtcdSecurity = {};
  const ca = read('etcdTlsCa');
  const cert = read('etcdTlsCert');
  const key = read('etcdTlsKey');
  if ((get('etcdTlsCert') === undefined) !== (get('etcdTlsKey') === undefined)) problems.push({ key: get('etcdTlsCert') === undefined ? 'etcd.tls.cert.file' : 'etcd.tls.key.file', message: 'etcd.tls.cert.file and etcd.tls.key.file go together' });
  if (get('etcdTlsCa') === undefined && (get('etcdTlsCert') !== undefined || get('etcdTlsKey') !== undefined)) problems.push({ key: 'etcd.tls.ca.file', message: 'is required with etcd.tls.cert.file (the CA that signed etcd\'s certificate)' });
  if (ca) out.tls = { ca, cert, key };
  const username = get('etcdUsername') || undefined;
  const password = read('etcdPasswordFile');
  if ((username === undefined) !== (get('etcdPasswordFile') === undefined)) problems.push({ key: username === undefined ? 'etcd.username' : 'etcd.password.file', message: 'etcd.username and etcd.password.file go together' });
  if (username !== undefined && password) out.auth = { username, password: password.toString('utf8').replace(/\r?\n$/, '') };
  return out;
}

/** `grpc.tls.*`: all three files or none; any other `grpc.tls.*` key without them is an error, not a no-op. */
export interface AdminJwtSettings {
  jwksFile: string;
  issuer: string;
  audience: string;
  rolesClaim: string | undefined;
  principalClaim: string | undefined;
}

/** admin.jwt.*: the JWKS file needs the issuer and audience it vouches for; the rest need the file. */
function compileAdminJwt(get: (name: keyof typeof sources) => string | undefined, problems: ConfigProblem[]): AdminJwtSettings | undefined {
  const jwksFile = get('adminJwtJwksFile') || undefined;
  const issuer = get('adminJwtIssuer') || undefined;
  const audience = get('adminJwtAudience') || undefined;
  const rolesClaim = get('adminJwtRolesClaim') || undefined;
  const principalClaim = get('adminJwtPrincipalClaim') || undefined;
  if (!jwksFile) {
    const given = (
      [
        ['admin.jwt.issuer', issuer],
        ['admin.jwt.audience', audience],
        ['admin.jwt.roles.claim', rolesClaim],
        ['admin.jwt.principal.claim', principalClaim],
      ] as const
    ).filter(([, v]) => v !== undefined);
    for (const [key] of given) problems.push({ key, message: 'needs admin.jwt.jwks.file (the keys that verify the tokens)' });
    return undefined;
  }
  if (!issuer) problems.push({ key: 'admin.jwt.issuer', message: 'is required with admin.jwt.jwks.file: the exact "iss" of the tokens to accept' });
  if (!audience) problems.push({ key: 'admin.jwt.audience', message: 'is required with admin.jwt.jwks.file: the "aud" the tokens must carry (this cluster\'s client id at the identity provider)' });
  if (!issuer || !audience) return undefined;
  return { jwksFile, issuer, audience, rolesClaim, principalClaim };
}

function compileGrpcTls(
  get: (name: keyof typeof sources) => string | undefined,
  ms: (name: keyof typeof sources, fallback: number) => number,
  problems: ConfigProblem[],
): GrpcTlsSettings | undefined {
  const certFile = get('grpcTlsCert') || undefined;
  const keyFile = get('grpcTlsKey') || undefined;
  const caFile = get('grpcTlsCa') || undefined;
  const clientAuth = get('grpcTlsClientAuth') || undefined;
  const reload = get('grpcTlsReloadInterval');
  if (!certFile && !keyFile && !caFile) {
    if (clientAuth !== undefined) problems.push({ key: 'grpc.tls.client.auth', message: 'needs grpc.tls.cert.file, grpc.tls.key.file and grpc.tls.ca.file' });
    if (reload !== undefined) problems.push({ key: 'grpc.tls.reload.interval.ms', message: 'needs grpc.tls.cert.file, grpc.tls.key.file and grpc.tls.ca.file' });
    return undefined;
  }
  const missing = (['grpc.tls.cert.file', 'grpc.tls.key.file', 'grpc.tls.ca.file'] as const).filter((_, i) => ![certFile, keyFile, caFile][i]);
  for (const key of missing) problems.push({ key, message: 'is required with the other grpc.tls.*.file settings (certificate, key and the cluster CA go together)' });
  if (clientAuth !== undefined && clientAuth !== 'required' && clientAuth !== 'requested') problems.push({ key: 'grpc.tls.client.auth', message: `must be required or requested, got "${clientAuth}"` });
  const reloadIntervalMs = ms('grpcTlsReloadInterval', 5_000);
  if (missing.length > 0) return undefined;
  return { certFile: certFile!, keyFile: keyFile!, caFile: caFile!, clientAuth: (clientAuth ?? 'required') as GrpcTlsSettings['clientAuth'], reloadIntervalMs };
}

/**
 * The config file's Kafka security keys, checked now (files readable, JAAS parsed, mechanism
 * available in both the producer's client and the reader's) so a bad one stops the worker with
 * the key named instead of failing every connector. Secrets belong in this file (mode 0600),
 * never in flags.
 */
function compileKafkaSecurity(file: Record<string, string>, producerClient: ProducerClient, problems: ConfigProblem[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(file)) if (isSecurityKey(k)) out[k] = v;
  if (Object.keys(out).length === 0) return out;
  for (const client of new Set<ProducerClient>([producerClient, 'platformatic'])) {
    try {
      compileSecurity({ properties: out, allowCommand: true }, client);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      for (const p of err.problems) if (!problems.some((q) => q.key === p.key && q.message === p.message)) problems.push(p);
    }
  }
  return out;
}

/**
 * The worker's converter defaults: config-file keys under `key.converter`, `value.converter`,
 * `header.converter`, a flag naming a class winning over the file (the file's `.*` settings
 * still apply to it). Checked here, so a bad class or setting stops the worker instead of
 * failing every connector; a setting the converter does not have is an error, not a no-op.
 */
function compileConverterDefaults(flags: WorkerFlags, file: Record<string, string>, problems: ConfigProblem[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(file)) if (WORKER_CONVERTER_KEY.test(k)) out[k] = v;
  for (const [flag, key] of Object.entries(converterFlags)) {
    const value = flags[flag as keyof typeof converterFlags];
    if (value !== undefined) out[key] = value;
  }
  if (Object.keys(out).length === 0) return out;
  try {
    const { knownKeys } = parseProcessing(out, { kind: 'source' });
    for (const k of Object.keys(out)) {
      if (!knownKeys.has(k)) problems.push({ key: k, message: `is not a setting of the worker's ${k.split('.')[0]} converter (${out[k.split('.').slice(0, 2).join('.')] ?? 'the default one'})` });
    }
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    problems.push(...err.problems);
  }
  return out;
}
