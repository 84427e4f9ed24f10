/**
 * Runs a plugin as a child process (the worker side of the handshake in
 * docs/connector-protocol.md): spawn with stdin piped (the child exits when it closes), read the
 * `TRIBUTARY_PLUGIN 1 unix:///…` line from stdout, connect, wait for gRPC health SERVING, then
 * route every call to the live process.
 *
 * Invariants it keeps:
 * - no orphans: the child runs in its own process group, tracked by PID; `close()` sends SIGTERM,
 *   SIGKILL after the deadline, and waits for the exit; if this process exits, every tracked
 *   group gets SIGKILL, and a child whose worker died anyway sees stdin close;
 * - a crash is never silent: `onCrash` listeners get `plugin "<name>" (pid N) exited with code C`
 *   (or signal S) and the tail of its stderr; calls and streams that failed because of it carry
 *   the same text;
 * - a crashed child is restarted with capped exponential backoff and jitter (reset after a long
 *   healthy run); calls made meanwhile wait for the restart, up to a bound, then fail with
 *   UnavailableError;
 * - a child that stops answering health checks is killed (and so restarted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { CancelledError, PluginProcessDownError, TributaryError, UnavailableError } from '../errors.js';
import { Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';
import { ConnectorPluginService } from '../gen/tributary/connector/v1/connector_pb.js';
import { createClient, type CallOptions, type Client } from '../grpc/index.js';
import { HANDSHAKE_PREFIX, PLUGIN_PROTOCOL_VERSION } from './serve.js';
import type { ConnectorPlugin } from './types.js';

export interface ChildProcessPluginOptions {
  /** The plugin's registered name (for messages and logs). */
  name: string;
  command: string;
  args?: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
  logger?: Logger;
  /** Bound on handshake + health SERVING for each start (default 10000 ms). */
  startTimeoutMs?: number;
  /** How long a call made while the child is down waits for a restart (default startTimeoutMs). */
  callWaitMs?: number;
  /** Period of health checks once running (default 10000 ms; 0 disables). */
  healthIntervalMs?: number;
  /** Deadline of one health check (default 5000 ms). */
  healthTimeoutMs?: number;
  /** Consecutive failed health checks after which the child is killed (default 3). */
  healthFailures?: number;
  /** First restart delay (default 200 ms); doubles per consecutive crash... */
  restartInitialMs?: number;
  /** ...up to this (default 30000 ms)... */
  restartMaxMs?: number;
  /** ...and starts over once a child ran this long (default 60000 ms). */
  restartResetAfterMs?: number;
  /** Stderr lines kept (default 50). */
  stderrLines?: number;
}

type PluginMethods = (typeof ConnectorPluginService)['method'];
type HealthMethods = (typeof Health)['method'];

/** One spawned process and what talks to it. */
interface Generation {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startedAt: number;
  readonly stderr: string[];
  /** Aborted when the process is gone: cancels the calls made on it. */
  readonly abort: AbortController;
  /** Resolves once the process exited and its stdio closed (or shortly after the exit). */
  readonly exited: Promise<void>;
  address?: string;
  /** Set once it answered health checks. */
  ready?: boolean;
  client?: Client<PluginMethods>;
  health?: Client<HealthMethods>;
  /** Set once exited: "plugin "x" (pid N) exited with ...; last stderr: ...". */
  reason?: string;
  /** Why we killed it, if we did. */
  killReason?: string;
  spawnError?: Error;
}

interface Waiter {
  resolve(gen: Generation): void;
  reject(err: Error): void;
}

// Every child this process started and that has not exited yet, so that none outlives us.
const liveChildren = new Set<number>();
let exitHookInstalled = false;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  // Never signal 0, -1 or a negated group of them: that would hit this process or every process.
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

function track(pid: number): void {
  liveChildren.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const child of liveChildren) signalGroup(child, 'SIGKILL');
    });
  }
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Errors a dying process produces on its open calls. */
function looksLikeTransportFailure(err: unknown): boolean {
  return err instanceof TributaryError && (err.code === 'UNAVAILABLE' || err.code === 'CANCELLED' || err.code === 'INTERNAL');
}

/** A plugin in a child process, restarted when it dies until `close()`. */
export class ChildProcessPlugin {
  /** Routes every call to the live process (waiting for a restart if needed). */
  readonly plugin: ConnectorPlugin;
  private readonly log: Logger;
  private readonly opts: Required<Omit<ChildProcessPluginOptions, 'logger' | 'env' | 'cwd' | 'args'>> & Pick<ChildProcessPluginOptions, 'env' | 'cwd' | 'args'>;
  private readonly generations = new Set<Generation>();
  private readonly crashListeners = new Set<(reason: Error) => void>();
  private readonly waiters = new Set<Waiter>();
  private current: Generation | undefined;
  private lastReason = 'it has not started yet';
  private closed = false;
  private closing: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private healthChecking = false;
  private healthFailuresInARow = 0;
  private restartAttempts = 0;

  private constructor(options: ChildProcessPluginOptions) {
    const startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.opts = {
      name: options.name,
      command: options.command,
      args: options.args,
      env: options.env,
      cwd: options.cwd,
      startTimeoutMs,
      callWaitMs: options.callWaitMs ?? startTimeoutMs,
      healthIntervalMs: options.healthIntervalMs ?? 10_000,
      healthTimeoutMs: options.healthTimeoutMs ?? 5_000,
      healthFailures: options.healthFailures ?? 3,
      restartInitialMs: options.restartInitialMs ?? 200,
      restartMaxMs: options.restartMaxMs ?? 30_000,
      restartResetAfterMs: options.restartResetAfterMs ?? 60_000,
      stderrLines: options.stderrLines ?? 50,
    };
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'plugin-process', plugin: options.name });
    this.plugin = this.routingPlugin();
  }

  /**
   * Spawns the plugin and resolves once it answers health checks with SERVING. Rejects with
   * UnavailableError (exit reason or timeout, and the stderr tail) if it does not; nothing is left
   * running then.
   */
  static async start(options: ChildProcessPluginOptions): Promise<ChildProcessPlugin> {
    const plugin = new ChildProcessPlugin(options);
    const gen = await plugin.spawnGeneration();
    plugin.current = gen;
    plugin.startHealthChecks();
    return plugin;
  }

  /** The PID of the live child, if one is running. */
  get pid(): number | undefined {
    const gen = this.current;
    return gen && gen.reason === undefined ? gen.pid : undefined;
  }

  /** The last stderr lines of the live (or last) child. */
  stderrTail(): string[] {
    return [...(this.current?.stderr ?? [])];
  }

  /** Called with an UnavailableError each time the child dies or a restart fails. */
  onCrash(listener: (reason: Error) => void): () => void {
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  /** SIGTERM, SIGKILL after `deadlineMs`, wait for the exit; no restarts afterwards. Idempotent. */
  close(deadlineMs = 5_000): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.healthTimer);
    for (const waiter of [...this.waiters]) waiter.reject(new UnavailableError(`plugin "${this.opts.name}" was closed`));
    this.closing = Promise.all([...this.generations].map((gen) => this.stopGeneration(gen, deadlineMs))).then(() => {
      this.log.info('plugin process closed');
    });
    return this.closing;
  }

  private async stopGeneration(gen: Generation, deadlineMs: number): Promise<void> {
    if (gen.reason !== undefined) return;
    signalGroup(gen.pid, 'SIGTERM');
    if (await within(gen.exited, deadlineMs)) return;
    this.log.warn({ childPid: gen.pid, deadlineMs }, 'plugin did not exit after SIGTERM; sending SIGKILL');
    gen.killReason = `killed after not exiting within ${deadlineMs} ms of SIGTERM`;
    signalGroup(gen.pid, 'SIGKILL');
    await within(gen.exited, 5_000);
  }

  // ---- processes ----

  private spawnGeneration(): Promise<Generation> {
    const child = spawn(this.opts.command, this.opts.args ?? [], {
      cwd: this.opts.cwd,
      env: { ...process.env, ...this.opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so signals reach whatever it starts too.
      detached: true,
    });
    let resolveExited = () => {};
    const exited = new Promise<void>((resolve) => (resolveExited = resolve));
    const gen: Generation = { child, pid: child.pid ?? -1, startedAt: Date.now(), stderr: [], abort: new AbortController(), exited };
    if (child.pid !== undefined) track(child.pid);
    this.generations.add(gen);

    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.onExited(gen, exitInfo);
      resolveExited();
    };
    let closeTimer: NodeJS.Timeout | undefined;
    child.on('error', (err) => {
      if (child.pid === undefined) {
        gen.spawnError = err;
        finish();
      } else {
        this.log.warn({ childPid: child.pid, err }, 'plugin process error');
      }
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      // Wait for stdio to close so the stderr tail is complete, but not for grandchildren
      // that may hold it open.
      closeTimer = setTimeout(finish, 500);
    });
    child.once('close', (code, signal) => {
      exitInfo ??= { code, signal };
      clearTimeout(closeTimer);
      finish();
    });
    child.stdin?.on('error', () => {});

    child.stderr?.setEncoding('utf8');
    this.lines(child.stderr, (line) => {
      gen.stderr.push(line.length > 1000 ? `${line.slice(0, 1000)}…` : line);
      if (gen.stderr.length > this.opts.stderrLines) gen.stderr.shift();
      this.log.debug({ childPid: gen.pid, stderr: line }, 'plugin stderr');
    });

    return this.connect(gen).catch(async (err: unknown) => {
      if (gen.reason === undefined) {
        signalGroup(gen.pid, 'SIGKILL');
        await within(gen.exited, 5_000);
      }
      throw err;
    });
  }

  private async connect(gen: Generation): Promise<Generation> {
    const { name, startTimeoutMs } = this.opts;
    const deadline = Date.now() + startTimeoutMs;
    const who = `plugin "${name}" (pid ${gen.pid})`;
    const died = gen.exited.then(() => {
      throw new UnavailableError(gen.spawnError ? `plugin "${name}": cannot start "${this.opts.command}": ${gen.spawnError.message}` : (gen.reason ?? `${who} exited`));
    });
    died.catch(() => {});

    const handshake = new Promise<string>((resolve, reject) => {
      let done = false;
      gen.child.stdout?.setEncoding('utf8');
      this.lines(gen.child.stdout, (line) => {
        if (done) {
          this.log.debug({ childPid: gen.pid, stdout: line }, 'plugin stdout after the handshake');
          return;
        }
        const match = new RegExp(`^${HANDSHAKE_PREFIX} (\\S+) (\\S+)\\s*$`).exec(line);
        if (!match) {
          this.log.warn({ childPid: gen.pid, stdout: line }, 'plugin printed a line before its handshake; ignored');
          return;
        }
        done = true;
        if (match[1] !== String(PLUGIN_PROTOCOL_VERSION)) {
          reject(new UnavailableError(`${who} speaks plugin protocol version ${match[1]}; this worker speaks version ${PLUGIN_PROTOCOL_VERSION}`));
        } else {
          resolve(match[2]!);
        }
      });
    });
    handshake.catch(() => {});

    let timer: NodeJS.Timeout | undefined;
    const timeout = (what: string) =>
      new Promise<never>((_, reject) => {
        clearTimeout(timer);
        timer = setTimeout(() => reject(new UnavailableError(`${who} ${what} within ${startTimeoutMs} ms; ${this.stderrText(gen)}`)), Math.max(0, deadline - Date.now()));
      });

    let address: string;
    try {
      address = await Promise.race([handshake, died, timeout(`did not print its "${HANDSHAKE_PREFIX} ${PLUGIN_PROTOCOL_VERSION} <address>" line`)]);
    } finally {
      clearTimeout(timer);
    }
    gen.address = address;
    gen.client = createClient(ConnectorPluginService, address);
    gen.health = createClient(Health, address);
    const health = gen.health;

    const serving = (async () => {
      let last = 'no answer';
      while (Date.now() < deadline && gen.reason === undefined) {
        try {
          const res = await health.check({ service: '' }, { timeoutMs: Math.max(1, Math.min(1_000, deadline - Date.now())) });
          if (res.status === HealthCheckResponse_ServingStatus.SERVING) return;
          last = `status ${HealthCheckResponse_ServingStatus[res.status] ?? res.status}`;
        } catch (err) {
          last = err instanceof Error ? err.message : String(err);
        }
        await delay(50);
      }
      throw new UnavailableError(`${who} at ${address} did not report SERVING within ${startTimeoutMs} ms (last: ${last}); ${this.stderrText(gen)}`);
    })();
    await Promise.race([serving, died]);
    if (this.closed) throw new UnavailableError(`plugin "${name}" was closed while starting`);
    gen.ready = true;
    this.log.info({ childPid: gen.pid, address }, 'plugin process ready');
    return gen;
  }

  private onExited(gen: Generation, exit: { code: number | null; signal: NodeJS.Signals | null } | undefined): void {
    liveChildren.delete(gen.pid);
    this.generations.delete(gen);
    const how = gen.spawnError
      ? `could not be started: ${gen.spawnError.message}`
      : exit?.signal
        ? `exited with signal ${exit.signal}`
        : `exited with code ${exit?.code ?? 'unknown'}`;
    const when = gen.ready || gen.spawnError ? '' : ' before it was ready';
    gen.reason = `plugin "${this.opts.name}" (pid ${gen.pid}) ${how}${when}${gen.killReason ? ` (${gen.killReason})` : ''}; ${this.stderrText(gen)}`;
    gen.abort.abort(new UnavailableError(gen.reason));
    gen.client?.close();
    gen.health?.close();
    if (gen.address?.startsWith('unix://')) {
      // A killed child cannot remove its socket; do it for it (the dir only if it is then empty).
      const path = gen.address.slice('unix://'.length);
      rmSync(path, { force: true });
      try {
        rmdirSync(dirname(path));
      } catch {
        // Not empty or already gone.
      }
    }
    if (gen !== this.current) return;
    this.current = undefined;
    this.lastReason = gen.reason;
    if (this.closed) return;
    this.log.warn({ childPid: gen.pid, code: exit?.code, signal: exit?.signal, stderr: gen.stderr.slice(-10) }, 'plugin process died');
    this.crashed(new UnavailableError(gen.reason), Date.now() - gen.startedAt);
  }

  private crashed(reason: Error, ranForMs: number): void {
    for (const listener of [...this.crashListeners]) {
      try {
        listener(reason);
      } catch (err) {
        this.log.warn({ err }, 'onCrash listener failed');
      }
    }
    if (this.closed) return;
    if (ranForMs >= this.opts.restartResetAfterMs) this.restartAttempts = 0;
    const base = Math.min(this.opts.restartMaxMs, this.opts.restartInitialMs * 2 ** Math.min(this.restartAttempts, 30));
    const wait = Math.round(base / 2 + (Math.random() * base) / 2);
    this.restartAttempts++;
    this.log.info({ attempt: this.restartAttempts, delayMs: wait }, 'restarting plugin process');
    this.restartTimer = setTimeout(() => void this.restart(), wait);
  }

  private async restart(): Promise<void> {
    if (this.closed) return;
    try {
      const gen = await this.spawnGeneration();
      if (this.closed) {
        await this.stopGeneration(gen, 1_000);
        return;
      }
      this.current = gen;
      this.healthFailuresInARow = 0;
      for (const waiter of [...this.waiters]) waiter.resolve(gen);
    } catch (err) {
      if (this.closed) return;
      const reason = err instanceof Error ? err : new Error(String(err));
      this.lastReason = reason.message;
      this.log.warn({ err: reason }, 'plugin restart failed');
      this.crashed(reason instanceof UnavailableError ? reason : new UnavailableError(reason.message, { cause: reason }), 0);
    }
  }

  private startHealthChecks(): void {
    if (this.opts.healthIntervalMs <= 0) return;
    this.healthTimer = setInterval(() => void this.checkHealth(), this.opts.healthIntervalMs);
    this.healthTimer.unref();
  }

  private async checkHealth(): Promise<void> {
    const gen = this.current;
    if (!gen?.health || gen.reason !== undefined || this.healthChecking || this.closed) return;
    this.healthChecking = true;
    let problem: string | undefined;
    try {
      const res = await gen.health.check({ service: '' }, { timeoutMs: this.opts.healthTimeoutMs });
      if (res.status !== HealthCheckResponse_ServingStatus.SERVING) problem = `status ${HealthCheckResponse_ServingStatus[res.status] ?? res.status}`;
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    } finally {
      this.healthChecking = false;
    }
    if (gen !== this.current || gen.reason !== undefined) return;
    if (problem === undefined) {
      this.healthFailuresInARow = 0;
      return;
    }
    this.healthFailuresInARow++;
    this.log.warn({ childPid: gen.pid, problem, failures: this.healthFailuresInARow }, 'plugin health check failed');
    if (this.healthFailuresInARow >= this.opts.healthFailures) {
      gen.killReason = `killed after ${this.healthFailuresInARow} failed health checks, last: ${problem}`;
      this.healthFailuresInARow = 0;
      signalGroup(gen.pid, 'SIGKILL');
    }
  }

  // ---- routing calls ----

  /** The live generation; while down, waits for a restart up to `callWaitMs`. */
  private acquire(signal: AbortSignal | undefined): Promise<Generation> {
    if (this.closed) return Promise.reject(new UnavailableError(`plugin "${this.opts.name}" was closed`));
    const gen = this.current;
    if (gen && gen.reason === undefined) return Promise.resolve(gen);
    if (signal?.aborted) return Promise.reject(new CancelledError(`plugin "${this.opts.name}": cancelled while waiting for the plugin to restart`));
    return new Promise<Generation>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        resolve: (g) => {
          cleanup();
          resolve(g);
        },
        reject: (err) => {
          cleanup();
          reject(err);
        },
      };
      const onAbort = () => waiter.reject(new CancelledError(`plugin "${this.opts.name}": cancelled while waiting for the plugin to restart`));
      const timer = setTimeout(
        () => waiter.reject(new PluginProcessDownError(`plugin "${this.opts.name}" is not running and did not come back within ${this.opts.callWaitMs} ms; last failure: ${this.lastReason}`)),
        this.opts.callWaitMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  private callOptions(gen: Generation, options: CallOptions | undefined): CallOptions {
    const signal = options?.signal ? AbortSignal.any([options.signal, gen.abort.signal]) : gen.abort.signal;
    return options?.timeoutMs === undefined ? { signal } : { signal, timeoutMs: options.timeoutMs };
  }

  /** Names the exit as the cause when a call failed because the process died. */
  private async explain(err: unknown, gen: Generation, options: CallOptions | undefined, method: string): Promise<unknown> {
    if (options?.signal?.aborted) return err;
    if (gen.abort.signal.aborted || looksLikeTransportFailure(err)) await within(gen.exited, 1_000);
    if (gen.reason !== undefined) return new PluginProcessDownError(`${method} failed because ${gen.reason}`, { cause: err });
    return err;
  }

  private routingPlugin(): ConnectorPlugin {
    const plugin: Record<string, unknown> = {};
    for (const method of ConnectorPluginService.methods) {
      const local = method.localName;
      const call = (gen: Generation) => (gen.client as unknown as Record<string, (input: unknown, options: CallOptions) => unknown>)[local]!;
      if (method.methodKind === 'unary' || method.methodKind === 'client_streaming') {
        plugin[local] = async (input: unknown, options?: CallOptions) => {
          const gen = await this.acquire(options?.signal);
          try {
            return await (call(gen)(input, this.callOptions(gen, options)) as Promise<unknown>);
          } catch (err) {
            throw await this.explain(err, gen, options, method.name);
          }
        };
      } else {
        plugin[local] = (input: unknown, options?: CallOptions) => this.stream(call, method.name, input, options);
      }
    }
    return plugin as unknown as ConnectorPlugin;
  }

  private async *stream(call: (gen: Generation) => (input: unknown, options: CallOptions) => unknown, method: string, input: unknown, options: CallOptions | undefined): AsyncGenerator<unknown> {
    const gen = await this.acquire(options?.signal);
    try {
      yield* call(gen)(input, this.callOptions(gen, options)) as AsyncIterable<unknown>;
    } catch (err) {
      throw await this.explain(err, gen, options, method);
    }
  }

  // ---- helpers ----

  private stderrText(gen: Generation): string {
    const tail = gen.stderr.slice(-20);
    return tail.length === 0 ? 'no stderr output' : `last stderr:\n${tail.map((l) => `  ${l}`).join('\n')}`;
  }

  private lines(stream: NodeJS.ReadableStream | null | undefined, onLine: (line: string) => void): void {
    if (!stream) return;
    let buffer = '';
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, newline).replace(/\r$/, ''));
        buffer = buffer.slice(newline + 1);
      }
      if (buffer.length > 64 * 1024) {
        onLine(buffer);
        buffer = '';
      }
    });
    stream.on('end', () => {
      if (buffer.length > 0) onLine(buffer);
      buffer = '';
    });
  }
}
