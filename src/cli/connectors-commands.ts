/**
 * `tributary connectors …`: one subcommand per connector call of the Admin API
 * (docs/admin.md maps each to its Kafka Connect REST endpoint).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import type { TargetStateName } from '../admin/index.js';
import { adminAction, adminFlags } from './admin-action.js';
import { readConnectorFile } from './connector-files.js';
import { EXIT, formatConnectorInfo, formatConnectorList, formatError, formatStatus } from './output.js';
import { patchConfig, selectConnectors } from './patch.js';
import type { AdminContext } from './admin-action.js';

/**
 * Runs `action` on each selected connector (names, or --regex over the connector list), one after
 * the other; a failure is printed and the rest still run. Exits with the last failure's code.
 */
async function forEach(ctx: AdminContext, names: string[], action: (name: string) => Promise<string>): Promise<number> {
  const regex = ctx.options['regex'] as string | undefined;
  const selected = selectConnectors(names, regex, regex === undefined ? [] : await ctx.admin.connectors.list());
  if (selected.length === 0) {
    ctx.print(`no connector matches /${regex}/`, []);
    return EXIT.OK;
  }
  let code: number = EXIT.OK;
  const results: Array<{ name: string; ok: boolean; error?: string }> = [];
  for (const name of selected) {
    try {
      const done = await action(name);
      results.push({ name, ok: true });
      if (!ctx.json) console.log(done);
    } catch (err) {
      const { text, exitCode } = formatError(err, ctx.server);
      results.push({ name, ok: false, error: text });
      if (!ctx.json) console.error(text);
      code = exitCode;
    }
  }
  if (ctx.json) console.log(JSON.stringify(results));
  return code;
}

const STATES: readonly TargetStateName[] = ['RUNNING', 'PAUSED', 'STOPPED'];

/** The connector a -f file defines; a name argument overrides the file's. */
function connectorFrom(file: unknown, name: string | undefined) {
  if (typeof file !== 'string') throw new InvalidArgumentError('a connector file is required', [{ key: '--file', message: 'pass -f connector.json (Kafka Connect JSON {"name", "config"}, a flat JSON map, or .properties)' }]);
  const c = readConnectorFile(file);
  return { name: name || c.name, config: c.config };
}

export function connectorsCommands(program: Command): void {
  const connectors = program.command('connectors').description('create, inspect and control connectors');
  connectors.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  adminFlags(connectors.command('list'))
    .description('every connector with its plugin, target state and observed state')
    .action(adminAction(async (ctx) => {
      const rows = await ctx.admin.connectors.overview();
      ctx.print(() => formatConnectorList(rows), rows.map(({ info, status }) => ({ ...info, status })));
    }));

  adminFlags(connectors.command('get'))
    .description("a connector's config (secret values masked) and target state")
    .argument('<name>')
    .action(adminAction(async (ctx, name) => {
      const info = await ctx.admin.connectors.get(name);
      ctx.print(() => formatConnectorInfo(info), info);
    }));

  adminFlags(connectors.command('create'))
    .description('create a connector from a file; it is validated first and nothing is created if it is invalid')
    .argument('[name]', "the connector name (default: the file's)")
    .requiredOption('-f, --file <file>', 'connector config: Kafka Connect JSON {"name","config"}, a flat JSON map, or .properties')
    .option('--initial-state <state>', 'RUNNING (default), PAUSED or STOPPED')
    .action(adminAction(async (ctx, nameArg: string | undefined) => {
      const { name, config } = connectorFrom(ctx.options['file'], nameArg);
      const state = String(ctx.options['initialState'] ?? 'RUNNING').toUpperCase() as TargetStateName;
      if (!STATES.includes(state)) throw new InvalidArgumentError('invalid flag', [{ key: '--initial-state', message: `must be one of ${STATES.join(', ')}` }]);
      const info = await ctx.admin.connectors.create(name, config, { initialState: state });
      ctx.print(`created connector ${info.name} (${info.plugin}, ${info.targetState}); follow it with: tributary status ${info.name} --watch`, info);
    }));

  adminFlags(connectors.command('update'))
    .description("replace a connector's config (creates it if missing); a masked secret (********) keeps its stored value")
    .argument('[name]', "the connector name (default: the file's)")
    .requiredOption('-f, --file <file>', 'connector config, as for create')
    .action(adminAction(async (ctx, nameArg: string | undefined) => {
      const { name, config } = connectorFrom(ctx.options['file'], nameArg);
      const result = await ctx.admin.connectors.put(name, config);
      ctx.print(`${result.created ? 'created' : 'updated'} connector ${name}; a changed config restarts its partitions`, result);
    }));

  adminFlags(connectors.command('delete'))
    .description('delete connectors (names, or --regex): their partitions stop and their offsets are removed')
    .argument('[names...]')
    .option('--regex <pattern>', 'every connector whose name matches (JavaScript regular expression)')
    .action(adminAction(async (ctx, ...names) => forEach(ctx, names.flat(), async (name) => {
      await ctx.admin.connectors.delete(name);
      return `deleted connector ${name}`;
    })));

  adminFlags(connectors.command('patch'))
    .description("change some keys of a connector's config (Kafka Connect PATCH /config, KIP-477); masked secrets are kept")
    .argument('<name>')
    .option('--set <key=value>', 'set a key (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--unset <key>', 'remove a key (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .action(adminAction(async (ctx, name) => {
      const current = await ctx.admin.connectors.get(name);
      const next = patchConfig(current.config, ctx.options['set'] as string[], ctx.options['unset'] as string[]);
      const result = await ctx.admin.connectors.put(name, next);
      ctx.print(`patched connector ${name}; a changed config restarts its partitions`, result);
    }));

  adminFlags(connectors.command('status'))
    .description("a connector's state and each stream partition's state, worker and error")
    .argument('<name>')
    .action(adminAction(async (ctx, name) => {
      const status = await ctx.admin.connectors.status(name);
      ctx.print(() => formatStatus(status), status);
    }));

  const transitions = [
    ['pause', 'PAUSED', 'stop producing; partitions stay assigned', 'pause'],
    ['resume', 'RUNNING', 'run again (from PAUSED or STOPPED), from the committed offsets', 'resume'],
    ['stop', 'STOPPED', 'release every partition and keep the offsets (needed before offsets alter/reset)', 'stop'],
  ] as const;
  for (const [command, state, description, method] of transitions) {
    adminFlags(connectors.command(command))
      .description(`${description}; names, or --regex`)
      .argument('[names...]')
      .option('--regex <pattern>', 'every connector whose name matches (JavaScript regular expression)')
      .action(adminAction(async (ctx, ...names) => forEach(ctx, names.flat(), async (name) => {
        await ctx.admin.connectors[method](name);
        return `connector ${name}: target state ${state}; see it take effect with: tributary connectors status ${name}`;
      })));
  }

  adminFlags(connectors.command('restart'))
    .description('restart connectors (their partition discovery; names, or --regex), and with --include-tasks their partitions')
    .argument('[names...]')
    .option('--regex <pattern>', 'every connector whose name matches (JavaScript regular expression)')
    .option('--include-tasks', 'restart the stream partitions too (Kafka Connect includeTasks)')
    .option('--only-failed', 'restart only what is FAILED (Kafka Connect onlyFailed)')
    .action(adminAction(async (ctx, ...names) => forEach(ctx, names.flat(), async (name) => {
      const status = await ctx.admin.connectors.restart(name, { includeTasks: ctx.options['includeTasks'] === true, onlyFailed: ctx.options['onlyFailed'] === true });
      return `restart requested\n${formatStatus(status)}`;
    })));

  adminFlags(connectors.command('restart-partition'))
    .description('restart one stream partition from its committed offset (Kafka Connect: restart a task)')
    .argument('<name>')
    .argument('<partition>')
    .action(adminAction(async (ctx, name, partition) => {
      await ctx.admin.connectors.restartPartition(name, partition!);
      ctx.print(`restarting partition ${partition} of ${name} from its committed offset`, { name, partition, restarted: true });
    }));

  adminFlags(connectors.command('topics'))
    .description("topics named by the connector's config, plus a sink's discovered topics")
    .argument('<name>')
    .action(adminAction(async (ctx, name) => {
      const topics = await ctx.admin.connectors.topics(name);
      ctx.print(topics.length ? topics.join('\n') : `connector ${name} names no topic`, { name, topics });
    }));

  adminFlags(connectors.command('reset-topics'))
    .description('Kafka Connect compatibility: Tributary does not track active topics, so there is nothing to reset')
    .argument('<name>')
    .action(adminAction(async (ctx, name) => {
      await ctx.admin.connectors.resetTopics(name);
      ctx.print(`nothing to reset for ${name}: Tributary does not track active topics (tributary connectors topics ${name} shows the configured ones)`, { name, reset: true });
    }));
}
