/**
 * Cluster-wide admin commands: `plugins list`, `config validate`, `workers list`, `cluster info`,
 * `status [name] [--watch]` and `log-level get|set`.
 */
import type { Command } from 'commander';
import type { AdminClient } from '../admin/index.js';
import { EXIT, formatCluster, formatConnectorList, formatPlugins, formatStatus, formatStatusEvent, formatValidation, formatWorkers, toJson } from './output.js';
import { adminAction, adminFlags } from './admin-action.js';
import { readConnectorFile } from './connector-files.js';

const usageExit = (err: { exitCode: number }) => process.exit(err.exitCode === 0 ? 0 : 2);

export function clusterCommands(program: Command): void {
  const plugins = program.command('plugins').description('connector plugins the workers can run');
  plugins.exitOverride(usageExit);
  adminFlags(plugins.command('list'))
    .description('installed plugins (built-in and from --plugin-path), with kind and version; --json adds their config keys')
    .action(adminAction(async (ctx) => {
      const list = await ctx.admin.plugins.list();
      ctx.print(() => formatPlugins(list), list);
    }));

  const config = program.command('config').description('connector configs');
  config.exitOverride(usageExit);
  adminFlags(config.command('validate'))
    .description('check a connector config without creating anything; exits 2 when it is not valid')
    .requiredOption('-f, --file <file>', 'connector config, as for connectors create')
    .action(adminAction(async (ctx) => {
      const file = readConnectorFile(String(ctx.options['file']));
      const result = await ctx.admin.config.validate({ ...file.config, name: file.name });
      ctx.print(() => formatValidation(result), result);
      return result.valid ? EXIT.OK : EXIT.INVALID;
    }));

  const workers = program.command('workers').description('the workers of the cluster');
  workers.exitOverride(usageExit);
  adminFlags(workers.command('list'))
    .description('workers with their address, leadership, last heartbeat and assigned partitions')
    .action(adminAction(async (ctx) => {
      const list = await ctx.admin.workers.list();
      ctx.print(() => formatWorkers(list), list);
    }));

  const cluster = program.command('cluster').description('the cluster as a whole');
  cluster.exitOverride(usageExit);
  adminFlags(cluster.command('info'))
    .description('cluster name, leader, term, assignment epoch and members')
    .action(adminAction(async (ctx) => {
      const info = await ctx.admin.cluster.info();
      ctx.print(() => formatCluster(info), info);
    }));

  adminFlags(program.command('status'))
    .description('status of every connector, or of one; --watch prints each change until Ctrl-C')
    .argument('[name]', 'one connector')
    .option('-w, --watch', 'stream changes (WatchStatus); with --json, one JSON object per line')
    .exitOverride(usageExit)
    .action(adminAction(async (ctx, name: string | undefined) => {
      if (ctx.options['watch'] === true) return watch(ctx.admin, name ?? '', ctx.json);
      if (name) {
        const status = await ctx.admin.connectors.status(name);
        ctx.print(() => formatStatus(status), status);
      } else {
        const rows = await ctx.admin.connectors.overview();
        ctx.print(() => formatConnectorList(rows), rows.map((r) => r.status));
      }
    }));

  const logLevel = program.command('log-level').description("the log level of the worker --server points at (not cluster-wide)");
  logLevel.exitOverride(usageExit);
  adminFlags(logLevel.command('get'))
    .description("the worker's current log level")
    .action(adminAction(async (ctx) => {
      const level = await ctx.admin.logLevel.get();
      ctx.print(level, { level });
    }));
  adminFlags(logLevel.command('set'))
    .description("change the worker's log level until it restarts")
    .argument('<level>', 'trace, debug, info, warn, error, fatal or silent')
    .action(adminAction(async (ctx, level) => {
      const previous = await ctx.admin.logLevel.set(level);
      ctx.print(`log level of ${ctx.server}: ${previous} -> ${level}`, { level, previous });
    }));
}

/** Prints every WatchStatus event until Ctrl-C (exit 0) or the stream fails (thrown). */
async function watch(admin: AdminClient, name: string, json: boolean): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for await (const event of admin.watchStatus(name, { signal: stop.signal })) {
      console.log(json ? JSON.stringify(JSON.parse(toJson(event))) : formatStatusEvent(event));
    }
    return EXIT.OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
