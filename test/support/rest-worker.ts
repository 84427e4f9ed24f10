/**
 * One real worker for REST, health and metrics tests: a WorkerNode on the etcd coordinator (its
 * own cluster name), the Admin service, Prometheus metrics, and the HTTP server with the Kafka
 * Connect REST API — wired as `tributary worker --rest-listen` wires them.
 */
import { tmpdir } from 'node:os';
import { createEtcdBackend } from '../../src/coordinator/index.js';
import { registerBuiltinConnectors } from '../../src/connectors/index.js';
import { AllowedPaths } from '../../src/util/allowed-paths.js';
import { PluginHost } from '../../src/plugins/index.js';
import { VERSION, WorkerNode } from '../../src/worker/index.js';
import { AdminClient, callerScopedAdmin, connectRestPlugin, registerAdminServices, type AdminAuthenticator } from '../../src/admin/index.js';
import type { TlsFiles } from '../../src/grpc/index.js';
import { HttpServer, PrometheusMetrics, WorkerHealth } from '../../src/observability/index.js';
import { quietLogger, uniqueName } from './data-plane.js';

export interface RestWorker {
  node: WorkerNode;
  http: HttpServer;
  metrics: PrometheusMetrics;
  health: WorkerHealth;
  admin: AdminClient;
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Resolves when node.start() finished (it waits for etcd and Kafka). */
  started: Promise<void>;
  stop(): Promise<void>;
}

export interface RestWorkerOptions {
  etcdEndpoints: string[];
  kafkaBootstrap: string;
  cluster?: string;
  id?: string;
  auth?: AdminAuthenticator;
  /** gRPC TLS (the worker's certificate, key and CA); with it, sessions are mutual TLS. */
  tls?: TlsFiles;
  /** grpc.tls.client.auth=required: every Admin call needs a client certificate. */
  requireClientCertificate?: boolean;
}

export async function startRestWorker(options: RestWorkerOptions): Promise<RestWorker> {
  const plugins = new PluginHost({ logger: quietLogger });
  // The test's files live under the OS temp directory: the file connectors may use it.
  const allowedPaths = AllowedPaths.of([tmpdir()]);
  registerBuiltinConnectors(plugins, { allowedPaths });
  const cluster = options.cluster ?? uniqueName('rest');
  const backend = createEtcdBackend({ endpoints: options.etcdEndpoints, cluster, logger: quietLogger });
  const metrics = new PrometheusMetrics({ processMetrics: false });
  const health = new WorkerHealth();
  const node = new WorkerNode({
    id: options.id ?? 'w1',
    listen: '127.0.0.1:0',
    backend,
    kafka: { brokers: options.kafkaBootstrap.split(',') },
    plugins,
    allowedPaths,
    offsetFlushIntervalMs: 200,
    logger: quietLogger,
    metrics,
    health,
    tls: options.tls,
    registerServices: (server, self) => registerAdminServices(server, self, { cluster, logger: quietLogger, auth: options.auth, requireClientCertificate: options.requireClientCertificate }),
  });
  let admin: AdminClient | undefined;
  const lazy = () => (admin ??= new AdminClient(node.self.address, { timeoutMs: 20_000, credentials: node.clientCredentials }));
  // As `tributary worker` wires it: REST calls carry the REST caller's own authorization header.
  const rest = callerScopedAdmin(() => node.self.address, () => node.clientCredentials);
  const http = new HttpServer({ listen: '127.0.0.1:0', logger: quietLogger, metrics, health });
  http.register({ plugin: connectRestPlugin({ admin: rest.admin, version: VERSION, requestScope: rest.requestScope }) });
  await http.start();
  const started = node.start();
  started.catch(() => {});
  return {
    node,
    http,
    metrics,
    health,
    get admin() {
      return lazy();
    },
    url: http.url,
    started,
    async stop() {
      await node.stop(5_000).catch(() => {});
      await plugins.stop();
      await http.stop();
      admin?.close();
      rest.admin.close();
    },
  };
}

/** One HTTP call: status, parsed JSON body (undefined when empty) and headers. */
export async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

/** The value of one series in a Prometheus text exposition (labels matched as given, in any order). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}
