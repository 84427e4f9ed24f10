/**
 * Starts a WorkerNode for the CLI and keeps it up until SIGTERM/SIGINT, which drain it: every
 * partition is handed over (or drained locally), then the process exits 0. A second signal
 * exits at once.
 *
 * The HTTP server (REST API, /health, /metrics) starts before the node, so /health answers
 * NOT_SERVING while the worker is still waiting for etcd or Kafka.
 */
import type { Logger } from 'pino';
import type { CoordinatorBackend } from '../coordinator/index.js';
import { registerBuiltinConnectors } from '../connectors/index.js';
import { PluginHost, loadPluginDirectory } from '../plugins/index.js';
import { VERSION, WorkerNode } from '../worker/index.js';
import { AdminAuthenticator, AdminClient, callerScopedAdmin, CertificateIdentities, connectRestPlugin, JwtVerifier, readTokenFile, registerAdminServices } from '../admin/index.js';
import { HttpServer, PrometheusMetrics, WorkerHealth } from '../observability/index.js';
import { CallerAdmins, ConsoleHub, consoleRoutes, consoleToken } from '../console/index.js';
import { TlsFiles } from '../grpc/index.js';
import type { CompiledWorkerSettings } from './worker-options.js';

/** The worker's admin identity sources; undefined when none is configured (the Admin API is open). */
export function adminAuthenticator(settings: CompiledWorkerSettings, logger: Logger): AdminAuthenticator | undefined {
  const tokens = settings.adminTokensFile ? readTokenFile(settings.adminTokensFile) : undefined;
  const jwt = settings.adminJwt ? new JwtVerifier(settings.adminJwt, logger) : undefined;
  const certificates = settings.adminIdentitiesFile ? CertificateIdentities.fromFile(settings.adminIdentitiesFile) : undefined;
  if (!tokens && !jwt && !certificates) return undefined;
  return new AdminAuthenticator({ tokens, jwt, certificates }, logger);
}

export async function startNode(settings: CompiledWorkerSettings, backend: CoordinatorBackend, logger: Logger): Promise<WorkerNode> {
  // Read and checked before anything starts: a bad file stops the worker with its key named.
  const tls = settings.grpcTls
    ? new TlsFiles({ certFile: settings.grpcTls.certFile, keyFile: settings.grpcTls.keyFile, caFile: settings.grpcTls.caFile, reloadIntervalMs: settings.grpcTls.reloadIntervalMs, logger }).start()
    : undefined;
  const plugins = new PluginHost({ logger, remoteCredentials: tls?.channelCredentials() });
  registerBuiltinConnectors(plugins, { allowedPaths: settings.allowedPaths });
  if (settings.pluginPath) {
    for (const dir of settings.pluginPath.split(':').filter(Boolean)) {
      for (const registration of await loadPluginDirectory(dir)) plugins.register(registration);
    }
  }
  // Read before anything starts: a bad token, JWKS or identities file stops the worker with the key named.
  const auth = adminAuthenticator(settings, logger);
  const metrics = new PrometheusMetrics({ defaultLabels: { cluster: settings.cluster, worker: settings.id } });
  const health = new WorkerHealth();
  const node = new WorkerNode({
    id: settings.id,
    listen: settings.listen,
    advertisedAddress: settings.advertisedAddress,
    backend,
    kafka: { brokers: settings.kafkaBrokers, producerClient: settings.producerClient, security: settings.kafkaSecurity },
    plugins,
    allowedPaths: settings.allowedPaths,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    offsetFlushIntervalMs: settings.offsetFlushIntervalMs,
    maxInFlightRecords: settings.maxInFlightRecords,
    maxInFlightBytes: settings.maxInFlightBytes,
    converterDefaults: settings.converterDefaults,
    cluster: settings.cluster,
    exactlyOnce: { sourceSupport: settings.exactlyOnceSourceSupport, offsetsTopic: settings.offsetStorageTopic },
    logger,
    metrics,
    health,
    tls,
    registerServices: (server, self) =>
      registerAdminServices(server, self, { cluster: settings.cluster, logger, auth, requireClientCertificate: settings.grpcTls?.clientAuth === 'required' }),
    onFatal: (err) => {
      logger.error({ err: err.message }, 'cannot stay in the cluster; exiting');
      void node
        .stop(5_000)
        .catch(() => {})
        .finally(() => {
          logger.flush?.();
          process.exit(1);
        });
    },
  });

  const servers: HttpServer[] = [];
  const { admin, requestScope, callerAuthorization } = callerScopedAdmin(() => node.self.address, () => node.clientCredentials);
  if (settings.restListen) {
    const rest = new HttpServer({ listen: settings.restListen, logger, metrics, health });
    // PUT /admin/loggers/root?scope=cluster reaches every worker with this worker's TLS client
    // credentials and the caller's own token, as every other REST call does.
    const setWorkerLogLevel = async (address: string, level: string) => {
      const authorization = callerAuthorization();
      const credentials = node.clientCredentials;
      const client = new AdminClient(address, { timeoutMs: 10_000, ...(credentials ? { credentials } : {}), ...(authorization === undefined ? {} : { callMetadata: () => ({ authorization }) }) });
      try {
        await client.logLevel.set(level);
      } finally {
        client.close();
      }
    };
    rest.register({ plugin: connectRestPlugin({ admin, version: VERSION, requestScope, setWorkerLogLevel }) });
    servers.push(rest);
  }
  if (settings.metricsListen) servers.push(new HttpServer({ listen: settings.metricsListen, logger, metrics, health }));
  // The web console, on the first HTTP server (the REST one when there is one): actions run as
  // their caller; the shared live view reads with the token file's least privileged token.
  const callers = new CallerAdmins(() => node.self.address, () => node.clientCredentials);
  const hubToken = settings.adminTokensFile ? consoleToken(settings.adminTokensFile) : undefined;
  const hub = servers.length
    ? new ConsoleHub({
        workerId: settings.id,
        admin: () => callers.client(hubToken),
        // Each member's record counters (records/s), read with the same credentials and token.
        workerAdmin: (address) => {
          const credentials = node.clientCredentials;
          return new AdminClient(address, { timeoutMs: 5_000, ...(credentials ? { credentials } : {}), ...(hubToken === undefined ? {} : { token: hubToken }) });
        },
        kafka: { brokers: settings.kafkaBrokers, clientId: `tributary-console-${settings.id}` },
        logger,
      })
    : undefined;
  if (hub) servers[0]!.register({ plugin: consoleRoutes({ hub, workerId: settings.id, callers, auth, actionsEnabled: settings.consoleActions }), prefix: '/ui' });
  for (const server of servers) await server.start();

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without draining');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'draining: handing partitions over, then exiting');
    // Console streams end first: an open event stream would hold the HTTP server's close.
    void hub?.stop();
    node
      .stop(30_000)
      .then(() => plugins.stop())
      .then(() => Promise.all(servers.map((s) => s.stop())))
      .then(() => {
        admin.close();
        callers.close();
        tls?.stop();
        logger.flush?.();
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'drain failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await node.start();
    // After the node: the hub calls this node's Admin API, whose port start() binds.
    hub?.start();
  } catch (err) {
    if (stopping) return node;
    throw err;
  }
  return node;
}
