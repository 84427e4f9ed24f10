/**
 * Kafka Connect's REST API (4.x paths, JSON shapes, status codes and error bodies) on top of the
 * Admin service, through an AdminClient: every call goes the same way a gRPC client's does, so
 * any worker answers and writes reach the leader. docs/rest-api.md maps each endpoint.
 *
 * Authentication plugs in at one place: the `authenticate` hook, run before every route of this
 * plugin (not before /metrics and /health, which monitoring scrapes without credentials).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, NotFoundError, type ErrorCode } from '../../errors.js';
import { AdminClient } from '../client.js';
import type { ConnectorInfo, TargetStateName } from '../model.js';
import { RestError, toRestError } from './errors.js';
import { parseRestOffsets, restOffsets } from './offsets.js';
import { restConfig, restConfigKey, restInfo, restPlugin, restStatus, restTasks, restTaskStatus, restValidation, taskIds } from './shapes.js';

/** The admin calls the REST layer makes: an AdminClient, or anything shaped like one. */
export type RestAdmin = Pick<AdminClient, 'connectors' | 'offsets' | 'plugins' | 'config' | 'cluster' | 'logLevel'>;

export interface ConnectRestOptions {
  admin: RestAdmin;
  /** Tributary's version, answered by `GET /`. */
  version: string;
  /**
   * Runs the rest of each request of this plugin inside `next` (call it exactly once), e.g. in an
   * AsyncLocalStorage holding the caller's `authorization` so `admin` passes it on.
   */
  requestScope?: (request: FastifyRequest, next: () => void) => void;
  /** Runs before every REST route; throw (e.g. an error with `statusCode` 401/403) to refuse. */
  authenticate?: (request: FastifyRequest) => Promise<void> | void;
  /** Sets the log level of the worker at `address` (for `scope=cluster`); default: an AdminClient per worker. */
  setWorkerLogLevel?: (address: string, level: string) => Promise<void>;
}

type Params = { connector: string; task: string; plugin: string; logger: string };
type Req = FastifyRequest<{ Params: Params; Querystring: Record<string, string | string[] | undefined>; Body: unknown }>;

/** pino levels ↔ log4j levels (Kafka Connect's names). */
const toLog4j: Record<string, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'FATAL', silent: 'OFF' };
const fromLog4j: Record<string, string> = Object.fromEntries(Object.entries(toLog4j).map(([k, v]) => [v, k]));

/** The OpenAPI document kept in the repo next to this file, served at /openapi.json. */
export function openApiDocument(): unknown {
  return JSON.parse(readFileSync(new URL('./openapi.json', import.meta.url), 'utf8'));
}

function isStringMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A config body: an object of strings (numbers and booleans are turned into strings, as Jackson does). */
function configOf(body: unknown, field: string, allowNull = false): Record<string, string | null> {
  if (!isStringMap(body)) throw new InvalidArgumentError(`the request body must be a JSON object`, [{ key: field, message: 'must be an object of config keys to string values' }]);
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(body)) {
    if (v === null && allowNull) out[k] = null;
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw new InvalidArgumentError('invalid config', [{ key: k, message: 'must be a string' }]);
  }
  return out;
}

/** Kafka Connect's checkAndPutConnectorConfigName: a `name` in the config must match the URL's. */
function withoutName(name: string, config: Record<string, string>): Record<string, string> {
  const { name: included, ...rest } = config;
  if (included !== undefined && included !== name) throw new RestError(400, `Connector name configuration (${included}) doesn't match connector name in the URL (${name})`);
  return rest;
}

/** Kafka Connect's message for an invalid config, with every key. */
function invalidConfig(err: unknown): never {
  if (err instanceof InvalidArgumentError && err.problems.length > 0) {
    const lines = err.problems.map((p) => `${p.key || '(config)'}: ${p.message}`);
    throw new RestError(400, `Connector configuration is invalid and contains the following ${lines.length} error(s):\n${lines.join('\n')}\nYou can also find the above list of errors at the endpoint \`/connector-plugins/{connectorType}/config/validate\``);
  }
  throw err;
}

function flag(q: Req['query'], key: string): boolean {
  const v = q[key];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  if (s === undefined || s === '') return false;
  if (s === 'true' || s === 'false') return s === 'true';
  throw new RestError(400, `query parameter ${key} must be true or false, got "${s}"`);
}

export function connectRestRoutes(app: FastifyInstance, options: ConnectRestOptions): void {
  const { admin } = options;
  const overrides = new Map<string, Partial<Record<ErrorCode, number>>>();

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toRestError(err, overrides.get(request.routeOptions.url ?? '') ?? {});
    if (status >= 500) request.log.warn({ err: body.message, url: request.url }, 'REST call failed');
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((_request, reply) => void reply.code(404).send({ error_code: 404, message: 'HTTP 404 Not Found' }));
  if (options.requestScope) {
    const scope = options.requestScope;
    app.addHook('onRequest', (request, _reply, done) => scope(request, () => done()));
  }
  if (options.authenticate) {
    const authenticate = options.authenticate;
    app.addHook('onRequest', async (request) => authenticate(request));
  }

  async function partitionsOf(name: string): Promise<string[]> {
    return (await admin.connectors.status(name)).partitions.map((p) => p.partition);
  }

  async function infoOf(info: ConnectorInfo) {
    return restInfo(info, await partitionsOf(info.name));
  }

  async function leaderId(): Promise<string> {
    return (await admin.cluster.info()).leaderId;
  }

  /** The partition behind task `id`, or 404 as Kafka Connect answers for an unknown task. */
  async function partitionOfTask(name: string, id: string) {
    const status = await admin.connectors.status(name);
    const n = Number(id);
    const ids = taskIds(status.partitions.map((p) => p.partition));
    if (!/^\d+$/.test(id) || n >= ids.length) throw new NotFoundError(`Task ${name}-${id} not found`);
    return { n, partition: status.partitions.find((p) => p.partition === ids[n])! };
  }

  async function isSink(name: string): Promise<boolean> {
    return (await admin.connectors.get(name)).kind === 'sink';
  }

  const send = (reply: FastifyReply, status: number, body?: unknown) => (body === undefined ? reply.code(status).send() : reply.code(status).send(body));

  app.get('/', async () => {
    const cluster = await admin.cluster.info();
    // Tributary does not read Kafka's cluster id; its own cluster name stands in (docs/rest-api.md).
    return { version: options.version, commit: 'tributary', kafka_cluster_id: cluster.cluster };
  });

  app.get('/openapi.json', async () => openApiDocument());

  app.get('/connectors', async (request: Req) => {
    const raw = request.query.expand;
    const expand = new Set(raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]);
    if (expand.size === 0) return admin.connectors.list();
    const wantStatus = expand.has('status');
    const wantInfo = expand.has('info');
    const out: Record<string, Record<string, unknown>> = {};
    const [infos, statuses, leader] = await Promise.all([
      admin.connectors.infos(),
      wantStatus || wantInfo ? admin.connectors.statuses() : Promise.resolve([]),
      wantStatus ? leaderId() : Promise.resolve(''),
    ]);
    const statusByName = new Map(statuses.map((s) => [s.name, s]));
    for (const info of infos) {
      const status = statusByName.get(info.name);
      const entry: Record<string, unknown> = {};
      if (wantStatus && status) entry.status = restStatus(status, leader);
      if (wantInfo) entry.info = restInfo(info, status?.partitions.map((p) => p.partition) ?? []);
      out[info.name] = entry;
    }
    return out;
  });

  app.post('/connectors', async (request: Req, reply) => {
    const body = request.body;
    if (!isStringMap(body)) throw new RestError(400, 'the request body must be {"name": "…", "config": {…}}');
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (!name) throw new RestError(400, 'Connector name must not be empty');
    if (body.config === undefined || body.config === null) throw new RestError(400, 'Connector config must be provided');
    const config = withoutName(name, configOf(body.config, 'config') as Record<string, string>);
    const initial = body.initial_state;
    if (initial !== undefined && initial !== null && !['RUNNING', 'PAUSED', 'STOPPED'].includes(String(initial))) {
      throw new RestError(400, `initial_state must be RUNNING, PAUSED or STOPPED, got "${String(initial)}"`);
    }
    const info = await admin.connectors.create(name, config, { initialState: (initial ?? undefined) as TargetStateName | undefined }).catch(invalidConfig);
    void reply.header('location', `/connectors/${encodeURIComponent(name)}`);
    return send(reply, 201, restInfo(info, []));
  });

  app.get('/connectors/:connector', async (request: Req) => infoOf(await admin.connectors.get(request.params.connector)));

  app.delete('/connectors/:connector', async (request: Req, reply) => {
    await admin.connectors.delete(request.params.connector);
    return send(reply, 204);
  });

  app.get('/connectors/:connector/config', async (request: Req) => {
    const info = await admin.connectors.get(request.params.connector);
    return restConfig(info.name, info.config);
  });

  app.put('/connectors/:connector/config', async (request: Req, reply) => {
    const name = request.params.connector;
    const config = withoutName(name, configOf(request.body, 'config') as Record<string, string>);
    const { created, info } = await admin.connectors.put(name, config).catch(invalidConfig);
    if (created) void reply.header('location', `/connectors/${encodeURIComponent(name)}`);
    return send(reply, created ? 201 : 200, await infoOf(info));
  });

  // KIP-477: keys in the body are set, keys with null are removed, others are kept.
  app.patch('/connectors/:connector/config', async (request: Req, reply) => {
    const name = request.params.connector;
    const patch = configOf(request.body, 'config', true);
    if (patch.name !== undefined && patch.name !== null && patch.name !== name) throw new RestError(400, `Connector name configuration (${patch.name}) doesn't match connector name in the URL (${name})`);
    delete patch.name;
    const current = await admin.connectors.get(name);
    const next: Record<string, string> = { ...current.config };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete next[k];
      else next[k] = v;
    }
    const { info } = await admin.connectors.put(name, next).catch(invalidConfig);
    return send(reply, 200, await infoOf(info));
  });

  app.get('/connectors/:connector/status', async (request: Req) => {
    const [status, leader] = await Promise.all([admin.connectors.status(request.params.connector), leaderId()]);
    return restStatus(status, leader);
  });

  app.get('/connectors/:connector/tasks', async (request: Req) => {
    const name = request.params.connector;
    const [info, partitions] = await Promise.all([admin.connectors.get(name), partitionsOf(name)]);
    return restTasks(info, partitions);
  });

  app.get('/connectors/:connector/tasks/:task/status', async (request: Req) => {
    const { n, partition } = await partitionOfTask(request.params.connector, request.params.task);
    return restTaskStatus(n, partition);
  });

  app.post('/connectors/:connector/tasks/:task/restart', async (request: Req, reply) => {
    const { partition } = await partitionOfTask(request.params.connector, request.params.task);
    await admin.connectors.restartPartition(request.params.connector, partition.partition);
    return send(reply, 204);
  });

  app.post('/connectors/:connector/restart', async (request: Req, reply) => {
    const includeTasks = flag(request.query, 'includeTasks');
    const onlyFailed = flag(request.query, 'onlyFailed');
    const status = await admin.connectors.restart(request.params.connector, { includeTasks, onlyFailed });
    // As Kafka Connect: the plain restart (no flags) answers 204 without a body.
    if (!includeTasks && !onlyFailed) return send(reply, 204);
    return send(reply, 202, restStatus(status, await leaderId()));
  });

  app.put('/connectors/:connector/pause', async (request: Req, reply) => {
    await admin.connectors.pause(request.params.connector);
    return send(reply, 202);
  });

  app.put('/connectors/:connector/resume', async (request: Req, reply) => {
    await admin.connectors.resume(request.params.connector);
    return send(reply, 202);
  });

  app.put('/connectors/:connector/stop', async (request: Req, reply) => {
    await admin.connectors.stop(request.params.connector);
    return send(reply, 204);
  });

  app.get('/connectors/:connector/topics', async (request: Req) => {
    const name = request.params.connector;
    return { [name]: { topics: await admin.connectors.topics(name) } };
  });

  app.put('/connectors/:connector/topics/reset', async (request: Req, reply) => {
    await admin.connectors.resetTopics(request.params.connector);
    return send(reply, 202);
  });

  // Kafka Connect answers 400 when offsets are changed on a connector that is not stopped.
  overrides.set('/connectors/:connector/offsets', { FAILED_PRECONDITION: 400 });

  app.get('/connectors/:connector/offsets', async (request: Req) => {
    const name = request.params.connector;
    const [offsets, sink] = await Promise.all([admin.offsets.get(name), isSink(name)]);
    return restOffsets(offsets, sink);
  });

  app.patch('/connectors/:connector/offsets', async (request: Req) => {
    const name = request.params.connector;
    const sink = await isSink(name);
    await admin.offsets.alter(name, parseRestOffsets(request.body, sink));
    return {
      message: sink
        ? 'The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.'
        : 'The offsets for this connector have been altered successfully',
    };
  });

  app.delete('/connectors/:connector/offsets', async (request: Req) => {
    const name = request.params.connector;
    const sink = await isSink(name);
    await admin.offsets.reset(name);
    return {
      message: sink
        ? 'The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.'
        : 'The offsets for this connector have been reset successfully',
    };
  });

  // connectorsOnly defaults to true, as in Kafka Connect; false adds converters, header
  // converters, transformations and predicates.
  app.get('/connector-plugins', async (request: Req) => {
    const all = request.query['connectorsOnly'] !== undefined && !flag(request.query, 'connectorsOnly');
    return (await admin.plugins.list()).filter((p) => all || p.type === 'source' || p.type === 'sink').map(restPlugin);
  });

  app.get('/connector-plugins/:plugin/config', async (request: Req) => {
    const plugin = (await admin.plugins.list()).find((p) => p.name === request.params.plugin);
    if (!plugin) throw new NotFoundError(`Unknown plugin ${request.params.plugin}.`);
    return plugin.configKeys.map(restConfigKey);
  });

  app.put('/connector-plugins/:plugin/config/validate', async (request: Req) => {
    const plugin = request.params.plugin;
    const config = configOf(request.body, 'config') as Record<string, string>;
    const named = config['connector.class'];
    if (named !== undefined && named !== plugin) throw new RestError(400, `Included connector type ${named} does not match request type ${plugin}`);
    const { name: _name, ...rest } = config;
    const result = await admin.config.validate({ ...rest, 'connector.class': plugin });
    return restValidation(result, config);
  });

  // Tributary has one log level per worker process: the logger is "root".
  app.get('/admin/loggers', async () => ({ root: { level: toLog4j[await admin.logLevel.get()] ?? 'INFO', last_modified: null } }));

  app.get('/admin/loggers/:logger', async (request: Req) => {
    if (request.params.logger !== 'root') throw new NotFoundError(`Logger ${request.params.logger} not found. Tributary has one log level per worker: use the logger "root".`);
    return { level: toLog4j[await admin.logLevel.get()] ?? 'INFO', last_modified: null };
  });

  app.put('/admin/loggers/:logger', async (request: Req, reply) => {
    const body = request.body;
    const raw = isStringMap(body) ? body.level : undefined;
    if (typeof raw !== 'string') throw new RestError(400, "Desired 'level' parameter was not specified in request.");
    const level = fromLog4j[raw.toUpperCase()];
    if (!level) throw new RestError(404, `invalid log level '${raw}'.`);
    if (request.params.logger !== 'root') throw new NotFoundError(`Logger ${request.params.logger} not found. Tributary has one log level per worker: use the logger "root".`);
    const scope = String(request.query.scope ?? 'worker').toLowerCase();
    if (scope === 'cluster') {
      const members = (await admin.cluster.info()).members;
      const set = options.setWorkerLogLevel ?? setWithClient;
      await Promise.all(members.filter((m) => m.connected || m.leader).map((m) => set(m.address, level)));
      return send(reply, 204);
    }
    await admin.logLevel.set(level);
    return ['root'];
  });
}

async function setWithClient(address: string, level: string): Promise<void> {
  const client = new AdminClient(address, { timeoutMs: 10_000 });
  try {
    await client.logLevel.set(level);
  } finally {
    client.close();
  }
}
