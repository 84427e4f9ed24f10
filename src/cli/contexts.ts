/**
 * Contexts: named clusters in one config file, as kcctl keeps them, so an operator of several
 * clusters switches with `tributary context use prod` instead of retyping --server.
 *
 * The file is `$TRIBUTARY_CONFIG`, else `$XDG_CONFIG_HOME/tributary/contexts.json`, else
 * `~/.config/tributary/contexts.json`; it is written with mode 0600 because it may hold tokens.
 *
 * ```json
 * {"current": "prod", "contexts": {"prod": {"server": "10.0.0.5:8083", "tls": {"ca": "/etc/ca.pem"}, "token": "…"}}}
 * ```
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';

export interface ContextTls {
  /** PEM file of the CA that signed the workers' certificates (default: the system's CAs). */
  ca?: string;
  /** Client certificate and key (PEM files) for mutual TLS. */
  cert?: string;
  key?: string;
}

export interface Context {
  server: string;
  tls?: ContextTls;
  /** Bearer token sent as `authorization` metadata on every call (only over TLS). */
  token?: string;
}

export interface ContextsFile {
  current?: string;
  contexts: Record<string, Context>;
}

export function contextsPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRIBUTARY_CONFIG) return env.TRIBUTARY_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'tributary', 'contexts.json');
}

export function readContexts(path = contextsPath()): ContextsFile {
  if (!existsSync(path)) return { contexts: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the contexts file ${path}: ${(err as Error).message}`);
  }
  const file = raw as Partial<ContextsFile>;
  if (typeof raw !== 'object' || raw === null || typeof file.contexts !== 'object' || file.contexts === null) {
    throw new InvalidArgumentError(`the contexts file ${path} must hold {"current": …, "contexts": {…}}`);
  }
  return { current: file.current, contexts: file.contexts };
}

export function writeContexts(file: ContextsFile, path = contextsPath()): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Adds (or replaces) a context; the first one added becomes current. */
export function addContext(name: string, context: Context, path = contextsPath()): ContextsFile {
  if (!/^[\w.-]+$/.test(name)) throw new InvalidArgumentError('invalid context name', [{ key: 'name', message: 'letters, digits, ".", "_" and "-" only' }]);
  if (!/^[^:/]+:\d+$/.test(context.server)) throw new InvalidArgumentError('invalid context', [{ key: '--server', message: `must be host:port (a worker's gRPC address), got "${context.server}"` }]);
  if (context.token !== undefined && !context.tls) throw new InvalidArgumentError('invalid context', [{ key: '--token', message: 'is sent only over TLS: add --tls (and --ca if the workers use a private CA)' }]);
  if ((context.tls?.cert === undefined) !== (context.tls?.key === undefined)) throw new InvalidArgumentError('invalid context', [{ key: '--cert', message: '--cert and --key go together' }]);
  const file = readContexts(path);
  file.contexts[name] = context;
  file.current ??= name;
  writeContexts(file, path);
  return file;
}

export function useContext(name: string, path = contextsPath()): ContextsFile {
  const file = readContexts(path);
  if (!file.contexts[name]) throw new NotFoundError(`no context "${name}" in ${path}; known: ${Object.keys(file.contexts).join(', ') || '(none)'}; add it with: tributary context add ${name} --server host:port`);
  file.current = name;
  writeContexts(file, path);
  return file;
}

export function removeContext(name: string, path = contextsPath()): ContextsFile {
  const file = readContexts(path);
  if (!file.contexts[name]) throw new NotFoundError(`no context "${name}" in ${path}`);
  delete file.contexts[name];
  if (file.current === name) file.current = Object.keys(file.contexts)[0];
  writeContexts(file, path);
  return file;
}

/** The context in effect: `name` (--context or TRIBUTARY_CONTEXT) if given, else the current one. */
export function activeContext(name: string | undefined, path = contextsPath()): { name: string; context: Context } | undefined {
  const file = readContexts(path);
  const chosen = name ?? file.current;
  if (chosen === undefined) return undefined;
  const context = file.contexts[chosen];
  if (!context) throw new NotFoundError(`no context "${chosen}" in ${path}; see them with: tributary context list`);
  return { name: chosen, context };
}

/** Channel credentials for a context: TLS with its CA and client certificate, plus the token as call metadata. */
export function contextCredentials(context: Context): grpc.ChannelCredentials | undefined {
  if (!context.tls) return undefined;
  const read = (p: string | undefined, key: string) => {
    if (p === undefined) return null;
    try {
      return readFileSync(p);
    } catch (err) {
      throw new InvalidArgumentError('cannot read a TLS file', [{ key, message: `cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
    }
  };
  let credentials = grpc.credentials.createSsl(read(context.tls.ca, 'ca'), read(context.tls.key, 'key'), read(context.tls.cert, 'cert'));
  const token = context.token;
  if (token !== undefined) {
    const call = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      callback(null, metadata);
    });
    credentials = grpc.credentials.combineChannelCredentials(credentials, call);
  }
  return credentials;
}
