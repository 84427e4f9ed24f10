/**
 * Starts a WorkerNode for the CLI and keeps it up until SIGTERM/SIGINT, which drain it: every
 * partition is handed over (or drained locally), then the process exits 0. A second signal
 * exits at once.
 */
import type { Logger } from 'pino';
import type { CoordinatorBackend } from '../coordinator/index.js';
import { registerBuiltinConnectors } from '../connectors/index.js';
import { PluginHost, loadPluginDirectory } from '../plugins/index.js';
import { WorkerNode } from '../worker/index.js';
import { registerAdminServices } from '../admin/index.js';
import type { CompiledWorkerSettings } from './worker-options.js';

export async function startNode(settings: CompiledWorkerSettings, backend: CoordinatorBackend, logger: Logger): Promise<WorkerNode> {
  const plugins = new PluginHost({ logger });
  registerBuiltinConnectors(plugins);
  if (settings.pluginPath) {
    for (const dir of settings.pluginPath.split(':').filter(Boolean)) {
      for (const registration of await loadPluginDirectory(dir)) plugins.register(registration);
    }
  }
  const node = new WorkerNode({
    id: settings.id,
    listen: settings.listen,
    advertisedAddress: settings.advertisedAddress,
    backend,
    kafka: { brokers: settings.kafkaBrokers, producerClient: settings.producerClient },
    plugins,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    offsetFlushIntervalMs: settings.offsetFlushIntervalMs,
    logger,
    registerServices: (server, self) => registerAdminServices(server, self, { cluster: settings.cluster, logger }),
  });
  await node.start();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without draining');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'draining: handing partitions over, then exiting');
    node
      .stop(30_000)
      .then(() => plugins.stop())
      .then(() => {
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
  return node;
}
