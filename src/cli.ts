/**
 * `tributary` entry point: maps subcommands to the worker, standalone runner and admin client
 * (the admin subcommands live in src/cli/*-commands.ts). Nothing imports this module.
 */
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createEtcdBackend, MemoryBackend } from './coordinator/index.js';
import { InvalidArgumentError, TributaryError } from './errors.js';
import { readConnectorFile } from './cli/connector-files.js';
import { rootLogger } from './cli/logger.js';
import { startNode } from './cli/run-node.js';
import { compileWorkerSettings, type WorkerFlags } from './cli/worker-options.js';
import { clusterCommands } from './cli/cluster-commands.js';
import { connectorsCommands } from './cli/connectors-commands.js';
import { offsetsCommands } from './cli/offsets-commands.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

function fail(err: unknown): never {
  if (err instanceof InvalidArgumentError && err.problems.length > 0) {
    console.error(`error: ${err.message.split(':')[0]}`);
    for (const p of err.problems) console.error(`  ${p.key || '(config)'}: ${p.message}`);
  } else {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(err instanceof TributaryError && err.code === 'INVALID_ARGUMENT' ? 2 : 1);
}

function workerOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'JSON file of worker settings (docs/configuration.md)')
    .option('--id <id>', 'worker id (TRIBUTARY_WORKER_ID; default host name + random suffix)')
    .option('--cluster <name>', 'cluster name: all state lives under /tributary/<name>/ (TRIBUTARY_CLUSTER)')
    .option('--kafka <host:port,…>', 'Kafka bootstrap servers (KAFKA_BOOTSTRAP)')
    .option('--listen <host:port>', 'gRPC listen address (TRIBUTARY_LISTEN; default 127.0.0.1:8083)')
    .option('--advertise <host:port>', 'address other workers and clients use (TRIBUTARY_ADVERTISED_ADDRESS)')
    .option('--plugin-path <dirs>', 'colon-separated folders of *.plugin.json files (TRIBUTARY_PLUGIN_PATH)')
    .option('--session-timeout <ms>', 'a worker silent this long loses its partitions (default 3000)')
    .option('--heartbeat-interval <ms>', 'heartbeat period; less than half the session timeout (default 500)')
    .option('--offset-flush-interval <ms>', 'how often committed offsets are reported and stored (default 1000)')
    .option('--producer-client <name>', 'kafkajs or platformatic (default platformatic)');
}

const program = new Command()
  .name('tributary')
  .description('Tributary: a data-integration runtime in the spirit of Kafka Connect, built on gRPC and protobuf.')
  .version(version)
  .showHelpAfterError('(run with --help for usage)');

workerOptions(program.command('worker'))
  .description('run a cluster worker: joins the cluster through etcd, runs what the leader assigns, and may become leader')
  .option('--etcd <urls>', 'etcd endpoints, comma separated (ETCD_ENDPOINTS)')
  .action(async (flags: WorkerFlags) => {
    const settings = compileWorkerSettings(flags);
    if (settings.etcdEndpoints.length === 0) throw new InvalidArgumentError('invalid worker settings', [{ key: 'etcd.endpoints', message: 'is required: pass --etcd http://host:2379 or set ETCD_ENDPOINTS' }]);
    const logger = rootLogger();
    const backend = createEtcdBackend({ endpoints: settings.etcdEndpoints, cluster: settings.cluster, logger });
    await startNode(settings, backend, logger);
  });

workerOptions(program.command('standalone'))
  .description('run one process on the embedded (memory) coordinator with the given connectors; state is kept in a file so a restart resumes')
  .argument('<connector-files...>', 'connector configs: Kafka Connect JSON ({"name","config"}) or .properties')
  .option('--state-file <path>', 'where connectors and offsets are kept (default ./tributary-standalone.json)')
  .action(async (files: string[], flags: WorkerFlags & { stateFile?: string }) => {
    const connectors = files.map(readConnectorFile);
    const settings = compileWorkerSettings({ listen: '127.0.0.1:0', id: 'standalone', ...flags });
    const logger = rootLogger();
    const backend = new MemoryBackend({ path: flags.stateFile ?? join(process.cwd(), 'tributary-standalone.json'), cluster: settings.cluster, logger });
    const node = await startNode(settings, backend, logger);
    const leader = await waitForLeader(node);
    for (const c of connectors) {
      const existing = leader.connector(c.name);
      await leader.putConnector({ name: c.name, config: c.config, targetState: existing?.targetState ?? 'RUNNING' });
      logger.info({ connector: c.name, resumed: existing !== undefined }, existing ? 'connector resumed from the state file' : 'connector created');
    }
  });

async function waitForLeader(node: { leader: import('./coordinator/index.js').Leader | undefined }) {
  for (let i = 0; i < 200; i++) {
    if (node.leader) return node.leader;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the embedded coordinator did not elect this process within 5 s');
}

// Admin subcommands: one per Admin API call (docs/admin.md).
connectorsCommands(program);
offsetsCommands(program);
clusterCommands(program);

program.parseAsync(process.argv).catch(fail);
