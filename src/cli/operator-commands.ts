/**
 * Operator conveniences: `describe plugin`, shell completion scripts generated from the command
 * tree, and `doctor`, which checks what a worker needs (etcd, Kafka, plugins, and optionally a
 * running worker's health) and says what to fix.
 */
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { createEtcdBackend } from '../coordinator/index.js';
import { registerBuiltinConnectors } from '../connectors/index.js';
import { describeError } from '../errors.js';
import { Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';
import { createClient } from '../grpc/index.js';
import { ConnectorKind } from '../gen/tributary/connector/v1/connector_pb.js';
import { createTopicAdmin } from '../kafka/index.js';
import { PluginHost, loadPluginDirectory } from '../plugins/index.js';
import { NotFoundError } from '../errors.js';
import { adminAction, adminFlags } from './admin-action.js';
import { EXIT, renderTable } from './output.js';
import type { CompiledWorkerSettings } from './worker-options.js';

export function describeCommands(program: Command): void {
  const describe = program.command('describe').description('details of one thing');
  describe.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  adminFlags(describe.command('plugin'))
    .description("a plugin's kind, version and every config key (type, default, required, secret, documentation)")
    .argument('<name>')
    .action(adminAction(async (ctx, name) => {
      const plugins = await ctx.admin.plugins.list();
      const plugin = plugins.find((p) => p.name === name);
      if (!plugin) throw new NotFoundError(`unknown plugin "${name}"; known plugins: ${plugins.map((p) => p.name).join(', ') || '(none)'}`);
      ctx.print(
        () =>
          [
            `plugin ${plugin.name} ${plugin.version} (${plugin.kind}): ${plugin.summary}`,
            '',
            renderTable(
              ['KEY', 'TYPE', 'REQUIRED', 'DEFAULT', 'DOCUMENTATION'],
              plugin.configKeys.map((k) => [k.name, k.secret ? `${k.type} (secret)` : k.type, k.required ? 'yes' : '', k.defaultValue ?? '', k.allowedValues.length ? `${k.documentation} One of: ${k.allowedValues.join(', ')}.` : k.documentation]),
            ),
          ].join('\n'),
        plugin,
      );
    }));
}

interface Node {
  name: string;
  options: string[];
  children: Node[];
}

function tree(command: Command): Node {
  return {
    name: command.name(),
    options: command.options.flatMap((o) => [o.long, o.short].filter((x): x is string => x !== undefined)),
    children: command.commands.map(tree),
  };
}

/** A completion script for `shell`, generated from the command tree (subcommands and their flags). */
export function completionScript(program: Command, shell: string): string {
  const root = tree(program);
  const paths: Array<{ path: string[]; words: string[] }> = [];
  const walk = (node: Node, path: string[]) => {
    paths.push({ path, words: [...node.children.map((c) => c.name), ...node.options, '--help'] });
    for (const c of node.children) walk(c, [...path, c.name]);
  };
  walk(root, []);
  if (shell === 'bash') {
    const cases = paths.map(({ path, words }) => `    "${path.join(' ')}") words="${words.join(' ')}" ;;`).join('\n');
    return `# bash completion for tributary: source it, or save it as /etc/bash_completion.d/tributary
_tributary_known() {
  case "$1" in
${paths.filter((p) => p.path.length > 0).map(({ path }) => `    "${path.join(' ')}") return 0 ;;`).join('\n')}
  esac
  return 1
}
_tributary() {
  local cur path="" w i words=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    if _tributary_known "\${path:+$path }$w"; then path="\${path:+$path }$w"; fi
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _tributary tributary
`;
  }
  if (shell === 'zsh') {
    const cases = paths.map(({ path, words }) => `    "${path.join(' ')}") words=(${words.join(' ')}) ;;`).join('\n');
    return `#compdef tributary
# zsh completion for tributary: save it as _tributary in a folder of $fpath
_tributary() {
  local path="" w
  local -a words
  for w in \${words[2,CURRENT-1]}; do
    [[ $w == -* ]] && continue
    case "\${path:+$path }$w" in
${paths.filter((p) => p.path.length > 0).map(({ path }) => `      "${path.join(' ')}") path="${path.join(' ')}" ;;`).join('\n')}
    esac
  done
  case "$path" in
${cases}
  esac
  compadd -- $words
}
_tributary "$@"
`;
  }
  if (shell === 'fish') {
    const lines: string[] = ['# fish completion for tributary: save it as ~/.config/fish/completions/tributary.fish', 'complete -c tributary -f'];
    for (const { path, words } of paths) {
      const seen = path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${path[path.length - 1]}`;
      const subs = words.filter((w) => !w.startsWith('-'));
      const flags = words.filter((w) => w.startsWith('--')).map((w) => w.slice(2));
      if (subs.length) lines.push(`complete -c tributary -n '${seen}' -a '${subs.join(' ')}'`);
      for (const f of flags) lines.push(`complete -c tributary -n '${seen}' -l ${f}`);
    }
    return `${lines.join('\n')}\n`;
  }
  throw new NotFoundError(`no completion for shell "${shell}"; use bash, zsh or fish`);
}

export function completionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: tributary completion bash > /etc/bash_completion.d/tributary')
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) => {
      try {
        process.stdout.write(completionScript(program, shell));
      } catch (err) {
        console.error(`error: ${(err as Error).message}`);
        process.exitCode = EXIT.INVALID;
      }
    });
}

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
  /** What to do when it failed. */
  fix?: string;
}

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check a worker with these settings depends on. */
export async function doctor(settings: CompiledWorkerSettings, logger: Logger, worker?: string): Promise<Check[]> {
  const checks: Check[] = [];
  if (settings.etcdEndpoints.length === 0) {
    checks.push({ what: 'etcd', ok: false, detail: 'no endpoints configured', fix: 'pass --etcd http://host:2379 or set ETCD_ENDPOINTS (or run tributary standalone)' });
  } else {
    const backend = createEtcdBackend({ endpoints: settings.etcdEndpoints, cluster: settings.cluster, logger, tls: settings.etcdSecurity.tls, auth: settings.etcdSecurity.auth });
    try {
      await within(10_000, backend.start());
      checks.push({ what: 'etcd', ok: true, detail: `reached ${settings.etcdEndpoints.join(',')}` });
    } catch (err) {
      checks.push({ what: 'etcd', ok: false, detail: describeError(err).message, fix: `check that etcd listens at ${settings.etcdEndpoints.join(',')} and that this host may connect (firewall, TLS)` });
    } finally {
      await backend.stop().catch(() => {});
    }
  }
  const admin = createTopicAdmin({ brokers: settings.kafkaBrokers, clientId: 'tributary-doctor', requestTimeoutMs: 10_000, security: { properties: settings.kafkaSecurity, allowCommand: true } });
  try {
    await within(15_000, admin.start());
    const topics = await within(15_000, admin.listTopics());
    checks.push({ what: 'kafka', ok: true, detail: `reached ${settings.kafkaBrokers.join(',')} (${topics.length} topics)` });
  } catch (err) {
    checks.push({ what: 'kafka', ok: false, detail: describeError(err).message, fix: `check that a broker listens at ${settings.kafkaBrokers.join(',')} and advertises an address this host can reach (advertised.listeners)` });
  } finally {
    await admin.stop().catch(() => {});
  }
  const host = new PluginHost({ logger });
  registerBuiltinConnectors(host, { allowedPaths: settings.allowedPaths });
  try {
    for (const dir of (settings.pluginPath ?? '').split(':').filter(Boolean)) {
      try {
        for (const registration of await loadPluginDirectory(dir)) host.register(registration);
      } catch (err) {
        checks.push({ what: `plugin path ${dir}`, ok: false, detail: describeError(err).message, fix: 'fix or remove the *.plugin.json files named above' });
      }
    }
    for (const registration of host.registrations()) {
      try {
        const instance = await within(20_000, host.start(registration.name));
        checks.push({ what: `plugin ${registration.name}`, ok: true, detail: `${instance.description.kind === ConnectorKind.SINK ? 'sink' : 'source'} ${instance.description.version}, answered Describe` });
        await instance.close();
      } catch (err) {
        checks.push({ what: `plugin ${registration.name}`, ok: false, detail: describeError(err).message, fix: `start it by hand (${registration.source.type}) and read its stderr; the worker cannot run connectors of this plugin` });
      }
    }
  } finally {
    await host.stop().catch(() => {});
  }
  if (worker) {
    const health = createClient(Health, worker);
    try {
      const res = await health.check({ service: '' }, { timeoutMs: 5_000 });
      const serving = res.status === HealthCheckResponse_ServingStatus.SERVING;
      checks.push({ what: `worker ${worker}`, ok: serving, detail: serving ? 'SERVING' : 'NOT_SERVING', fix: serving ? undefined : "the worker has not reached etcd or Kafka, has not joined, or is fenced: read its log, or curl its REST /health (the message names the cause)" });
    } catch (err) {
      checks.push({ what: `worker ${worker}`, ok: false, detail: describeError(err).message, fix: 'is the worker running, and is --server its gRPC address (--listen)?' });
    } finally {
      health.close();
    }
  }
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}: ${c.detail}${c.ok || !c.fix ? '' : `\n      fix: ${c.fix}`}`).join('\n');
}
