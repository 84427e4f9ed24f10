/**
 * The plugin host: knows which plugins exist (registered in code or found as `*.plugin.json`
 * files in a plugin directory) and starts instances of them, in-process, as child processes or
 * at remote endpoints, all behind the same `PluginInstance`. It describes every instance it
 * starts (so `instance.description` is set) and caches descriptions per plugin name.
 *
 * Ownership: the caller owns the instances it starts and closes them; `stop()` closes whatever
 * is still open, so no child process outlives the host.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, TributaryError, type ConfigProblem } from '../errors.js';
import type { DescribeResponse } from '../gen/tributary/connector/v1/connector_pb.js';
import { ChildProcessPlugin, type ChildProcessPluginOptions } from './child-process.js';
import { inProcessPlugin } from './in-process.js';
import { connectRemotePlugin, remoteEndpoint } from './remote.js';
import type { ConnectorPlugin, PluginInstance, PluginRegistration, PluginSource } from './types.js';

/** Tuning for child-process plugins (see ChildProcessPluginOptions). */
export type ChildProcessTuning = Omit<ChildProcessPluginOptions, 'name' | 'command' | 'args' | 'env' | 'cwd' | 'logger'>;

export interface PluginHostOptions {
  logger?: Logger;
  /** Bound on starting a plugin: handshake + health, or a remote's SERVING (default 10000 ms). */
  startTimeoutMs?: number;
  /** Bound on the Describe call made at start (default 10000 ms). */
  describeTimeoutMs?: number;
  /** Deadline for closing an instance: SIGTERM, then SIGKILL (default 5000 ms). */
  closeDeadlineMs?: number;
  /** Restart backoff, health checks and call waits of child processes. */
  childProcess?: ChildProcessTuning;
  /** Channel credentials for `grpcs://` remote plugins (the worker's TLS); without them such a plugin is refused at registration. */
  remoteCredentials?: grpc.ChannelCredentials;
}

export interface StartOptions {
  logger?: Logger;
  /** Subscribed before the plugin starts, so no crash is missed. */
  onCrash?: (reason: Error) => void;
}

/** A started instance; `pid` is the live child's PID for command plugins. */
export interface HostedPluginInstance extends PluginInstance {
  readonly name: string;
  readonly pid: number | undefined;
}

interface Backend {
  plugin: ConnectorPlugin;
  pid(): number | undefined;
  onCrash(listener: (reason: Error) => void): () => void;
  close(deadlineMs: number): Promise<void>;
}

class Instance implements HostedPluginInstance {
  private closing: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly backend: Backend,
    readonly description: DescribeResponse,
    private readonly defaultDeadlineMs: number,
    private readonly onClosed: (instance: Instance) => void,
  ) {}

  get plugin(): ConnectorPlugin {
    return this.backend.plugin;
  }

  get pid(): number | undefined {
    return this.backend.pid();
  }

  onCrash(listener: (reason: Error) => void): () => void {
    return this.backend.onCrash(listener);
  }

  close(deadlineMs = this.defaultDeadlineMs): Promise<void> {
    this.closing ??= this.backend.close(deadlineMs).finally(() => this.onClosed(this));
    return this.closing;
  }
}

const noCrashes = (): (() => void) => () => {};

/** Registers plugins and starts instances of them. */
export class PluginHost {
  private readonly root: Logger;
  private readonly log: Logger;
  private readonly registry = new Map<string, PluginRegistration>();
  private readonly descriptions = new Map<string, Promise<DescribeResponse>>();
  private readonly open = new Set<Instance>();
  private readonly startTimeoutMs: number;
  private readonly describeTimeoutMs: number;
  private readonly closeDeadlineMs: number;

  constructor(private readonly options: PluginHostOptions = {}) {
    this.root = options.logger ?? pino({ level: 'silent' });
    this.log = this.root.child({ component: 'plugin-host' });
    this.startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.describeTimeoutMs = options.describeTimeoutMs ?? 10_000;
    this.closeDeadlineMs = options.closeDeadlineMs ?? 5_000;
  }

  /** Adds a plugin. Throws AlreadyExistsError if the name is taken. */
  register(registration: PluginRegistration): void {
    if (!registration.name) throw new InvalidArgumentError('a plugin registration needs a name', [{ key: 'name', message: 'is required' }]);
    if (this.registry.has(registration.name)) throw new AlreadyExistsError(`plugin "${registration.name}" is already registered`);
    if (registration.source.type === 'remote' && remoteEndpoint(registration.source.url).tls && !this.options.remoteCredentials) {
      throw new InvalidArgumentError(`plugin "${registration.name}" at ${registration.source.url} uses TLS, but this worker has no TLS settings`, [
        { key: 'url', message: 'grpcs:// needs the worker\'s grpc.tls.cert.file, grpc.tls.key.file and grpc.tls.ca.file' },
      ]);
    }
    if (registration.source.type === 'command') {
      const problem = startTimeoutProblem(registration.source.startTimeoutMs);
      if (problem) throw new InvalidArgumentError(`plugin "${registration.name}": invalid startTimeoutMs`, [problem]);
    }
    this.registry.set(registration.name, registration);
    this.log.debug({ plugin: registration.name, source: registration.source.type }, 'plugin registered');
  }

  /** Every registered plugin, by name. */
  registrations(): PluginRegistration[] {
    return [...this.registry.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Registers every `*.plugin.json` in `dir` (see loadPluginDirectory); returns them. */
  async loadDirectory(dir: string): Promise<PluginRegistration[]> {
    const found = await loadPluginDirectory(dir);
    for (const registration of found) this.register(registration);
    return found;
  }

  private registration(name: string): PluginRegistration {
    const registration = this.registry.get(name);
    if (!registration) {
      const known = this.registrations().map((r) => r.name);
      throw new NotFoundError(`unknown plugin "${name}"; known plugins: ${known.length ? known.join(', ') : '(none)'}`);
    }
    return registration;
  }

  /**
   * Starts an instance of plugin `name` and describes it. Throws NotFoundError for an unknown
   * name, UnavailableError if it does not come up, DeadlineExceededError if Describe hangs; in
   * each case nothing is left running.
   */
  async start(name: string, options: StartOptions = {}): Promise<HostedPluginInstance> {
    const registration = this.registration(name);
    const logger = options.logger ?? this.root;
    const backend = await this.backend(registration, logger);
    const unsubscribe = options.onCrash ? backend.onCrash(options.onCrash) : () => {};
    let description: DescribeResponse;
    try {
      description = await backend.plugin.describe({}, { timeoutMs: this.describeTimeoutMs });
    } catch (err) {
      unsubscribe();
      await backend.close(Math.min(this.closeDeadlineMs, 1_000)).catch(() => {});
      if (err instanceof TributaryError) {
        (err as { message: string }).message = `plugin "${name}": Describe failed at start: ${err.message}`;
      }
      throw err;
    }
    if (description.name && description.name !== name) {
      this.log.warn({ plugin: name, describedAs: description.name }, 'plugin describes itself under another name');
    }
    this.descriptions.set(name, Promise.resolve(description));
    const instance = new Instance(name, backend, description, this.closeDeadlineMs, (i) => this.open.delete(i));
    this.open.add(instance);
    this.log.info({ plugin: name, kind: description.kind, version: description.version, childPid: instance.pid }, 'plugin started');
    return instance;
  }

  /** The plugin's description, cached; starts a short-lived instance when not known yet. */
  describe(name: string): Promise<DescribeResponse> {
    this.registration(name);
    let cached = this.descriptions.get(name);
    if (!cached) {
      cached = this.start(name).then(async (instance) => {
        await instance.close();
        return instance.description;
      });
      this.descriptions.set(name, cached);
      cached.catch(() => {
        if (this.descriptions.get(name) === cached) this.descriptions.delete(name);
      });
    }
    return cached;
  }

  /** Closes every instance still open. */
  async stop(deadlineMs = this.closeDeadlineMs): Promise<void> {
    await Promise.all([...this.open].map((instance) => instance.close(deadlineMs)));
  }

  private async backend(registration: PluginRegistration, logger: Logger): Promise<Backend> {
    const source: PluginSource = registration.source;
    switch (source.type) {
      case 'in-process': {
        const plugin = inProcessPlugin(source.create(), { name: registration.name });
        return { plugin, pid: () => undefined, onCrash: noCrashes, close: async () => {} };
      }
      case 'command': {
        const child = await ChildProcessPlugin.start({
          ...this.options.childProcess,
          startTimeoutMs: source.startTimeoutMs ?? this.options.childProcess?.startTimeoutMs ?? this.startTimeoutMs,
          name: registration.name,
          command: source.command,
          args: source.args,
          env: source.env,
          cwd: source.cwd,
          logger,
        });
        return { plugin: child.plugin, pid: () => child.pid, onCrash: (l) => child.onCrash(l), close: (ms) => child.close(ms) };
      }
      case 'remote': {
        const remote = await connectRemotePlugin({ name: registration.name, url: source.url, logger, connectTimeoutMs: this.startTimeoutMs, credentials: this.options.remoteCredentials });
        return { plugin: remote.plugin, pid: () => undefined, onCrash: noCrashes, close: async () => remote.close() };
      }
    }
  }
}

/**
 * Reads every `*.plugin.json` in `dir`:
 * `{ "name": "...", "command": "...", "args": [...], "env": {...}, "cwd": "...", "startTimeoutMs": 60000 }` or
 * `{ "name": "...", "url": "grpc://host:port" }`. A `command` with a slash, or naming a file
 * in `dir`, is resolved relative to `dir`; a bare name (`python3`) is looked up on PATH. `cwd`
 * defaults to `dir`. Throws InvalidArgumentError naming the file and the field.
 */
export async function loadPluginDirectory(dir: string): Promise<PluginRegistration[]> {
  const base = resolve(dir);
  let entries: string[];
  try {
    entries = (await readdir(base)).filter((f) => f.endsWith('.plugin.json')).sort();
  } catch (err) {
    throw new NotFoundError(`plugin directory "${base}" cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const registrations: PluginRegistration[] = [];
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const file = join(base, entry);
    const registration = parsePluginFile(file, base, await readFile(file, 'utf8'));
    const earlier = seen.get(registration.name);
    if (earlier) throw new InvalidArgumentError(`plugin "${registration.name}" is defined twice: in ${earlier} and ${file}`, [{ key: 'name', message: 'must be unique' }]);
    seen.set(registration.name, file);
    registrations.push(registration);
  }
  return registrations;
}

/** Upper bound of a plugin's `startTimeoutMs` (10 minutes). */
const MAX_START_TIMEOUT_MS = 600_000;

function startTimeoutProblem(value: unknown): ConfigProblem | undefined {
  if (value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_START_TIMEOUT_MS)) return undefined;
  return { key: 'startTimeoutMs', message: `must be a whole number of milliseconds from 1 to ${MAX_START_TIMEOUT_MS}, not ${JSON.stringify(value)}` };
}

function parsePluginFile(file: string, dir: string, text: string): PluginRegistration {
  const fail = (problems: ConfigProblem[]) => new InvalidArgumentError(`invalid plugin file ${file}`, problems);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw fail([{ key: '', message: `is not JSON: ${(err as Error).message}` }]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail([{ key: '', message: 'must be a JSON object' }]);
  const obj = raw as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  const known = new Set(['name', 'command', 'args', 'env', 'cwd', 'startTimeoutMs', 'url']);
  for (const key of Object.keys(obj)) if (!known.has(key)) problems.push({ key, message: `is not a known field (${[...known].join(', ')})` });
  if (typeof obj.name !== 'string' || obj.name === '') problems.push({ key: 'name', message: 'is required (a non-empty string)' });
  const hasCommand = obj.command !== undefined;
  const hasUrl = obj.url !== undefined;
  if (hasCommand === hasUrl) problems.push({ key: hasCommand ? 'url' : 'command', message: 'exactly one of "command" and "url" is required' });
  if (hasCommand && (typeof obj.command !== 'string' || obj.command === '')) problems.push({ key: 'command', message: 'must be a non-empty string' });
  if (obj.args !== undefined && (!Array.isArray(obj.args) || obj.args.some((a) => typeof a !== 'string'))) problems.push({ key: 'args', message: 'must be an array of strings' });
  if (obj.env !== undefined && (typeof obj.env !== 'object' || obj.env === null || Array.isArray(obj.env) || Object.values(obj.env).some((v) => typeof v !== 'string'))) {
    problems.push({ key: 'env', message: 'must be an object of strings' });
  }
  if (obj.cwd !== undefined && typeof obj.cwd !== 'string') problems.push({ key: 'cwd', message: 'must be a string' });
  const startTimeoutMs = obj.startTimeoutMs;
  const timeoutProblem = startTimeoutProblem(startTimeoutMs);
  if (timeoutProblem) problems.push(timeoutProblem);
  if (hasUrl) {
    if (typeof obj.url !== 'string') problems.push({ key: 'url', message: 'must be grpc://host:port or grpcs://host:port' });
    else {
      try {
        remoteEndpoint(obj.url);
      } catch {
        problems.push({ key: 'url', message: `"${obj.url}" is not of the form grpc://host:port or grpcs://host:port` });
      }
    }
    for (const key of ['args', 'env', 'cwd', 'startTimeoutMs']) if (obj[key] !== undefined) problems.push({ key, message: 'applies only to "command" plugins' });
  }
  if (problems.length > 0) throw fail(problems);

  const name = obj.name as string;
  if (hasUrl) return { name, source: { type: 'remote', url: obj.url as string } };
  const command = obj.command as string;
  const resolved = isAbsolute(command) ? command : command.includes('/') || existsSync(join(dir, command)) ? resolve(dir, command) : command;
  const cwd = typeof obj.cwd === 'string' ? resolve(dir, obj.cwd) : dir;
  return {
    name,
    source: {
      type: 'command',
      command: resolved,
      args: (obj.args as string[] | undefined) ?? [],
      env: (obj.env as Record<string, string> | undefined) ?? {},
      cwd,
      ...(startTimeoutMs !== undefined ? { startTimeoutMs: startTimeoutMs as number } : {}),
    },
  };
}
