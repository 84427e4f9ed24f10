/**
 * The main of a plugin child process (the child side of the handshake in
 * docs/connector-protocol.md): binds a gRPC server on a unix socket in a fresh temp dir, serves
 * the connector service and gRPC health (SERVING), prints exactly one line on stdout,
 * `TRIBUTARY_PLUGIN 1 unix:///abs/path.sock`, and then:
 *
 * - on SIGTERM/SIGINT lets in-flight calls finish for a short grace, then exits 0;
 * - when stdin closes (the worker died, even by SIGKILL) exits at once, so no orphan outlives
 *   its worker;
 * - removes its socket dir on the way out.
 *
 * stdout carries the handshake only; logs go to stderr (the worker keeps their tail).
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';
import { ConnectorPluginService } from '../gen/tributary/connector/v1/connector_pb.js';
import { addService, bindServer, defaultServerOptions, shutdownServer } from '../grpc/index.js';
import type { ConnectorPluginImplementation } from './types.js';

/** The protocol version printed in the handshake line. */
export const PLUGIN_PROTOCOL_VERSION = 1;
/** The handshake line's first word. */
export const HANDSHAKE_PREFIX = 'TRIBUTARY_PLUGIN';

export interface ServeOptions {
  /** Logs to stderr; default: pino at `$TRIBUTARY_PLUGIN_LOG_LEVEL` (default `info`) on fd 2. */
  logger?: pino.Logger;
  /** How long in-flight calls may run after SIGTERM (default 2000 ms). */
  shutdownGraceMs?: number;
  /** Exit when stdin ends (default true; the worker keeps stdin open for the child's lifetime). */
  exitOnStdinClose?: boolean;
}

export interface ServedPlugin {
  /** `unix:///abs/path.sock` */
  readonly address: string;
  /** Stops serving (grace for in-flight calls) and removes the socket dir. Does not exit. */
  stop(graceMs?: number): Promise<void>;
}

/** Health for the plugin process: SERVING for the whole server and any service name. */
export const servingHealth = {
  async check() {
    return { status: HealthCheckResponse_ServingStatus.SERVING };
  },
  async *watch(_request: unknown, context: { signal: AbortSignal }) {
    yield { status: HealthCheckResponse_ServingStatus.SERVING };
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) resolve();
      else context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  },
};

/**
 * Serves `implementation` as a plugin child process and prints the handshake line. Installs the
 * process's SIGTERM/SIGINT and stdin handlers (they exit the process).
 */
export async function servePlugin(implementation: ConnectorPluginImplementation, options: ServeOptions = {}): Promise<ServedPlugin> {
  const logger = options.logger ?? pino({ level: process.env.TRIBUTARY_PLUGIN_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const graceMs = options.shutdownGraceMs ?? 2000;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-plugin-'));
  const socket = join(dir, 'plugin.sock');
  const address = `unix://${socket}`;
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);

  const server = new grpc.Server(defaultServerOptions);
  addService(server, ConnectorPluginService, implementation);
  addService(server, Health, servingHealth);
  try {
    await bindServer(server, address);
  } catch (err) {
    removeDir();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = (ms = graceMs) => {
    stopping ??= shutdownServer(server, ms).finally(removeDir);
    return stopping;
  };
  const exit = (why: string, ms: number) => {
    logger.info({ why }, 'plugin shutting down');
    void stop(ms).finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => exit('SIGTERM', graceMs));
  process.once('SIGINT', () => exit('SIGINT', graceMs));
  if (options.exitOnStdinClose ?? true) {
    // The worker holds our stdin open; it closes when the worker is gone, however it died.
    process.stdin.on('end', () => exit('stdin closed (the worker is gone)', 0));
    process.stdin.on('error', () => exit('stdin failed (the worker is gone)', 0));
    process.stdin.resume();
  }

  process.stdout.write(`${HANDSHAKE_PREFIX} ${PLUGIN_PROTOCOL_VERSION} ${address}\n`);
  logger.info({ address }, 'plugin serving');
  return { address, stop };
}
