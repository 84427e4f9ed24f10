/**
 * `tributary` entry point: maps subcommands to the worker, standalone runner and admin client
 * (the admin subcommands live in src/cli/*-commands.ts). Nothing imports this module.
 */
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createEtcdBackend, MemoryBackend } from './coordinator/index.js';
import { InvalidArgumentError, TributaryError, type ConfigProblem } from './errors.js';
import { LeaderAdmin } from './admin/index.js';
import { readConnectorFile } from './cli/connector-files.js';
import { rootLogger } from './cli/logger.js';
import { startNode } from './cli/run-node.js';
import { compileWorkerSettings, type WorkerFlags } from './cli/worker-options.js';
import { clusterCommands } from './cli/cluster-commands.js';
import { connectorsCommands } from './cli/connectors-commands.js';
import { offsetsCommands } from './cli/offsets-commands.js';
import { contextCommands } from './cli/context-commands.js';
import { completionCommand, describeCommands, doctor, formatChecks } from './cli/operator-commands.js';
import { healthCommand } from './cli/health-command.js';

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
    .option('--session-timeout <ms>', 'a worker silent this long loses its partitions (default 5000)')
    .option('--heartbeat-interval <ms>', 'heartbeat period; less than half the session timeout (default 500)')
    .option('--offset-flush-interval <ms>', 'how often committed offsets are reported and stored (default 1000)')
    .option('--max-inflight-records <n>', 'records in flight over the whole worker: its record credit pool (TRIBUTARY_MAX_INFLIGHT_RECORDS; default 500000)')
    .option('--max-inflight-bytes <n>', 'bytes in flight over the whole worker: its byte credit pool (TRIBUTARY_MAX_INFLIGHT_BYTES; default 536870912 = 512 MiB)')
    .option('--producer-client <name>', 'kafkajs or platformatic (default platformatic)')
    .option('--rest-listen <host:port>', 'HTTP address of the Kafka Connect REST API, /health and /metrics, e.g. :8083 (TRIBUTARY_REST_LISTEN)')
    .option('--metrics-listen <host:port>', 'separate HTTP address for /metrics and /health (TRIBUTARY_METRICS_LISTEN)')
    .option('--admin-tokens-file <file>', 'JSON file of admin bearer tokens → principal and roles; unset: the Admin API is open (TRIBUTARY_ADMIN_TOKENS_FILE; docs/security.md)')
    .option('--admin-jwt-jwks-file <file>', 'JWKS file of the identity provider: accept JWT bearer tokens it signed (TRIBUTARY_ADMIN_JWT_JWKS_FILE; needs --admin-jwt-issuer and --admin-jwt-audience)')
    .option('--admin-jwt-issuer <iss>', 'the exact "iss" of accepted JWTs (TRIBUTARY_ADMIN_JWT_ISSUER)')
    .option('--admin-jwt-audience <aud>', 'the "aud" accepted JWTs must carry (TRIBUTARY_ADMIN_JWT_AUDIENCE)')
    .option('--admin-jwt-roles-claim <claim>', 'JWT claim holding the roles, dots for nested claims (TRIBUTARY_ADMIN_JWT_ROLES_CLAIM; default roles)')
    .option('--admin-jwt-principal-claim <claim>', 'JWT claim naming the caller (TRIBUTARY_ADMIN_JWT_PRINCIPAL_CLAIM; default sub)')
    .option('--admin-identities-file <file>', 'JSON file mapping mTLS client certificate identities (CN=…, DNS:…, URI:…) to roles (TRIBUTARY_ADMIN_IDENTITIES_FILE; needs gRPC TLS)')
    .option('--console-actions <bool>', 'true: the web console at /ui may pause, resume, stop and restart (for operator tokens); default false, read-only (TRIBUTARY_CONSOLE_ACTIONS; docs/console.md)')
    .option('--grpc-tls-cert <file>', 'PEM certificate of this worker for its gRPC port and its gRPC clients (TRIBUTARY_GRPC_TLS_CERT_FILE; docs/security.md)')
    .option('--grpc-tls-key <file>', 'PEM private key of --grpc-tls-cert (TRIBUTARY_GRPC_TLS_KEY_FILE)')
    .option('--grpc-tls-ca <file>', 'PEM bundle of the cluster CA: peers and clients are verified against it (TRIBUTARY_GRPC_TLS_CA_FILE)')
    .option('--grpc-tls-client-auth <mode>', 'required (Admin calls need a client certificate too) or requested (a token alone will do); sessions always need one (default required)')
    .option('--grpc-tls-reload-interval <ms>', 'how often the TLS files are checked for changes (default 5000)')
    .option('--etcd-tls-ca <file>', 'PEM CA that signed etcd\'s certificate; with it the endpoints are https:// (TRIBUTARY_ETCD_TLS_CA_FILE)')
    .option('--etcd-tls-cert <file>', 'PEM client certificate for etcd --client-cert-auth (TRIBUTARY_ETCD_TLS_CERT_FILE)')
    .option('--etcd-tls-key <file>', 'PEM private key of --etcd-tls-cert (TRIBUTARY_ETCD_TLS_KEY_FILE)')
    .option('--etcd-username <user>', 'etcd user (TRIBUTARY_ETCD_USERNAME); its role needs read/write on /tributary/<cluster>/ only')
    .option('--etcd-password-file <file>', 'file holding the etcd user\'s password (TRIBUTARY_ETCD_PASSWORD_FILE)')
    .option('--allowed-paths <dirs>', 'comma-separated absolute directories the file connectors and ${file:…} references may use (TRIBUTARY_ALLOWED_PATHS; default none, standalone: the working directory and the state file\'s)')
    .option('--key-converter <class>', 'key.converter of every connector that does not set its own (settings: key.converter.* in --config)')
    .option('--value-converter <class>', 'value.converter of every connector that does not set its own (settings: value.converter.* in --config)')
    .option('--header-converter <class>', 'header.converter of every connector that does not set its own (settings: header.converter.* in --config)');
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
    const backend = createEtcdBackend({ endpoints: settings.etcdEndpoints, cluster: settings.cluster, logger, tls: settings.etcdSecurity.tls, auth: settings.etcdSecurity.auth });
    await startNode(settings, backend, logger);
  });

workerOptions(program.command('standalone'))
  .description('run one process on the embedded (memory) coordinator with the given connectors; state is kept in a file so a restart resumes')
  .argument('<connector-files...>', 'connector configs: Kafka Connect JSON ({"name","config"}) or .properties')
  .option('--state-file <path>', 'where connectors and offsets are kept (default ./tributary-standalone.json)')
  .action(async (files: string[], flags: WorkerFlags & { stateFile?: string }) => {
    const connectors = files.map(readConnectorFile);
    const stateFile = resolve(flags.stateFile ?? join(process.cwd(), 'tributary-standalone.json'));
    // Standalone runs the operator's own files on their machine: by default the file connectors
    // may use the working directory and the state file's (a cluster worker allows none).
    const settings = compileWorkerSettings({ listen: '127.0.0.1:0', id: 'standalone', ...flags }, process.env, [process.cwd(), dirname(stateFile)]);
    const logger = rootLogger();
    const backend = new MemoryBackend({ path: stateFile, cluster: settings.cluster, logger });
    const node = await startNode(settings, backend, logger);
    const leader = await waitForLeader(node);
    // Validated as an Admin create is, all before any is stored: a file connector outside
    // allowed.paths (or any other bad key) stops standalone with the key named, and changes nothing.
    const admin = new LeaderAdmin(node, settings.cluster);
    const problems: ConfigProblem[] = [];
    for (const c of connectors) {
      for (const p of (await admin.problems(c.name, c.config)).problems) problems.push({ key: p.key, message: `connector "${c.name}": ${p.message}` });
    }
    if (problems.length > 0) {
      await node.stop(5_000).catch(() => {});
      throw new InvalidArgumentError('invalid connector config', problems);
    }
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
contextCommands(program);
describeCommands(program);
completionCommand(program);

workerOptions(program.command('doctor'))
  .description("check what a worker with these settings needs — etcd, Kafka, its plugins, and with --server a running worker's health — and say what to fix")
  .option('--etcd <urls>', 'etcd endpoints, comma separated (ETCD_ENDPOINTS)')
  .option('-s, --server <host:port>', "also check a running worker's gRPC health")
  .option('--json', 'print JSON')
  .action(async (flags: WorkerFlags & { server?: string; json?: boolean }) => {
    const settings = compileWorkerSettings(flags);
    const checks = await doctor(settings, rootLogger(), flags.server);
    console.log(flags.json ? JSON.stringify(checks) : formatChecks(checks));
    process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
  });
healthCommand(program);

program.parseAsync(process.argv).catch(fail);
