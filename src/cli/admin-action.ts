/**
 * The frame every admin subcommand runs in: the common flags (--server, --json, --timeout), an
 * AdminClient for the call, printing, and the exit code (output.ts EXIT). Commands only say
 * what to call and what to print.
 */
import type { Command } from 'commander';
import { AdminClient } from '../admin/index.js';
import { EXIT, formatError, toJson } from './output.js';
import { activeContext, contextCredentials } from './contexts.js';
import { InvalidArgumentError } from '../errors.js';

export const DEFAULT_SERVER = '127.0.0.1:8083';

export interface AdminFlags {
  server?: string;
  json?: boolean;
  timeout?: string;
  context?: string;
  token?: string;
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export interface AdminContext {
  admin: AdminClient;
  server: string;
  json: boolean;
  /** The subcommand's own options (commander's opts()). */
  options: Record<string, unknown>;
  /** Prints for people, or `data` as JSON when --json was given. */
  print(human: string | (() => string), data: unknown): void;
}

/** Adds the flags every admin subcommand takes. */
export function adminFlags(command: Command): Command {
  command
    .option('-s, --server <host:port>', `any worker's gRPC address (TRIBUTARY_SERVER; default ${DEFAULT_SERVER})`)
    .option('--json', 'print JSON for scripts instead of tables')
    .option('--timeout <ms>', 'deadline of each call in ms (default 30000)')
    .option('--context <name>', 'a cluster from the contexts file (TRIBUTARY_CONTEXT; default: the current one, see tributary context list)')
    .option('--token <token>', 'bearer token for workers that require one (TRIBUTARY_TOKEN; docs/security.md)');
  return tlsFlags(command);
}

/** The TLS flags of every command that talks to a worker (they win over a context's TLS). */
export function tlsFlags(command: Command): Command {
  return command
    .option('--tls', "TLS with the system's CAs (implied by --ca, --cert and --key)")
    .option('--ca <file>', "PEM file of the CA that signed the workers' certificates (TRIBUTARY_CA_FILE)")
    .option('--cert <file>', 'PEM client certificate, for workers that require one (grpc.tls.client.auth=required)')
    .option('--key <file>', 'PEM private key of --cert');
}

/** Channel credentials from --tls/--ca/--cert/--key (or TRIBUTARY_CA_FILE); undefined when none is given. */
function flagCredentials(flags: AdminFlags, env: NodeJS.ProcessEnv): import('@grpc/grpc-js').ChannelCredentials | undefined {
  const ca = flags.ca || env.TRIBUTARY_CA_FILE || undefined;
  if (!flags.tls && !ca && !flags.cert && !flags.key) return undefined;
  return contextCredentials({ server: '', tls: { ca, cert: flags.cert, key: flags.key } });
}

/**
 * Where to connect: --server, else TRIBUTARY_SERVER, else the context (--context,
 * TRIBUTARY_CONTEXT, or the contexts file's current one, with its TLS and token), else the
 * default listen address.
 */
export function connectionOf(flags: AdminFlags, env: NodeJS.ProcessEnv = process.env): { server: string; credentials?: import('@grpc/grpc-js').ChannelCredentials; context?: string } {
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw new InvalidArgumentError('invalid TLS flags', [{ key: '--cert', message: '--cert and --key go together' }]);
  const fromFlags = flagCredentials(flags, env);
  const explicit = flags.server || env.TRIBUTARY_SERVER;
  if (explicit) return { server: explicit, credentials: fromFlags };
  const active = activeContext(flags.context || env.TRIBUTARY_CONTEXT || undefined);
  if (active) return { server: active.context.server, credentials: fromFlags ?? contextCredentials(active.context), context: active.name };
  return { server: DEFAULT_SERVER, credentials: fromFlags };
}

/** The server to talk to (see connectionOf). */
export function serverOf(flags: AdminFlags, env: NodeJS.ProcessEnv = process.env): string {
  return connectionOf(flags, env).server;
}

/**
 * Wraps a subcommand body: `body(ctx, ...args)` gets the declared arguments; it may return an
 * exit code (e.g. 2 for a config that does not validate). Errors print with what to do next.
 */
export function adminAction(body: (ctx: AdminContext, ...args: string[]) => Promise<number | void>) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const flags = command.opts<AdminFlags>();
    let connection;
    try {
      connection = connectionOf(flags);
    } catch (err) {
      console.error(formatError(err, '').text);
      process.exitCode = EXIT.INVALID;
      return;
    }
    const server = connection.server;
    const timeoutMs = flags.timeout === undefined ? undefined : Number(flags.timeout);
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) {
      console.error(`error: --timeout must be a positive number of milliseconds, got "${flags.timeout}"`);
      process.exitCode = EXIT.INVALID;
      return;
    }
    const token = flags.token || process.env.TRIBUTARY_TOKEN || undefined;
    const admin = new AdminClient(server, { timeoutMs, credentials: connection.credentials, token });
    const json = flags.json === true;
    const ctx: AdminContext = {
      admin,
      server,
      json,
      options: flags as Record<string, unknown>,
      print(human, data) {
        console.log(json ? toJson(data) : typeof human === 'function' ? human() : human);
      },
    };
    try {
      process.exitCode = (await body(ctx, ...(command.processedArgs as string[]))) ?? EXIT.OK;
    } catch (err) {
      const { text, exitCode } = formatError(err, server);
      console.error(text);
      process.exitCode = exitCode;
    } finally {
      admin.close();
    }
  };
}
