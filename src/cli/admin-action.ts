/**
 * The frame every admin subcommand runs in: the common flags (--server, --json, --timeout), an
 * AdminClient for the call, printing, and the exit code (output.ts EXIT). Commands only say
 * what to call and what to print.
 */
import type { Command } from 'commander';
import { AdminClient } from '../admin/index.js';
import { EXIT, formatError, toJson } from './output.js';

export const DEFAULT_SERVER = '127.0.0.1:8083';

export interface AdminFlags {
  server?: string;
  json?: boolean;
  timeout?: string;
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
  return command
    .option('-s, --server <host:port>', `any worker's gRPC address (TRIBUTARY_SERVER; default ${DEFAULT_SERVER})`)
    .option('--json', 'print JSON for scripts instead of tables')
    .option('--timeout <ms>', 'deadline of each call in ms (default 30000)');
}

/** The server to talk to: --server, else TRIBUTARY_SERVER, else the default listen address. */
export function serverOf(flags: AdminFlags, env: NodeJS.ProcessEnv = process.env): string {
  return flags.server || env.TRIBUTARY_SERVER || DEFAULT_SERVER;
}

/**
 * Wraps a subcommand body: `body(ctx, ...args)` gets the declared arguments; it may return an
 * exit code (e.g. 2 for a config that does not validate). Errors print with what to do next.
 */
export function adminAction(body: (ctx: AdminContext, ...args: string[]) => Promise<number | void>) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const flags = command.opts<AdminFlags>();
    const server = serverOf(flags);
    const timeoutMs = flags.timeout === undefined ? undefined : Number(flags.timeout);
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) {
      console.error(`error: --timeout must be a positive number of milliseconds, got "${flags.timeout}"`);
      process.exitCode = EXIT.INVALID;
      return;
    }
    const admin = new AdminClient(server, { timeoutMs });
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
