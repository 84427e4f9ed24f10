/**
 * A plugin served by someone else at `grpc://host:port` (a sidecar, a service in another
 * language). Nothing to spawn or restart: we check it answers gRPC health with SERVING at start
 * (failing with an UnavailableError that names the URL if it does not within the bound), then
 * every call goes straight to it; grpc-js reconnects by itself if the endpoint comes back.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import { Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';
import { ConnectorPluginService } from '../gen/tributary/connector/v1/connector_pb.js';
import { createClient } from '../grpc/index.js';
import type { ConnectorPlugin } from './types.js';

export interface RemotePluginOptions {
  name: string;
  /** `grpc://host:port` */
  url: string;
  logger?: Logger;
  /** How long the endpoint has to report SERVING (default 10000 ms). */
  connectTimeoutMs?: number;
}

export interface RemotePlugin {
  readonly plugin: ConnectorPlugin;
  readonly address: string;
  close(): void;
}

/** `grpc://host:port` → `host:port`; throws InvalidArgumentError naming the URL otherwise. */
export function remoteAddress(url: string): string {
  const match = /^grpc:\/\/(\[[0-9a-fA-F:.]+\]|[^/:\s]+):(\d{1,5})\/?$/.exec(url);
  if (!match || Number(match[2]) > 65535) {
    throw new InvalidArgumentError(`plugin URL "${url}" is not of the form grpc://host:port`, [{ key: 'url', message: 'must be grpc://host:port' }]);
  }
  return `${match[1]}:${match[2]}`;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Connects to a remote plugin and waits until it reports SERVING. */
export async function connectRemotePlugin(options: RemotePluginOptions): Promise<RemotePlugin> {
  const address = remoteAddress(options.url);
  const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'plugin-remote', plugin: options.name, url: options.url });
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const client = createClient(ConnectorPluginService, address);
  const health = createClient(Health, address);
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const res = await health.check({ service: '' }, { timeoutMs: Math.max(1, Math.min(1_000, left)) });
        if (res.status === HealthCheckResponse_ServingStatus.SERVING) {
          log.info('remote plugin serving');
          return { plugin: client, address, close: () => client.close() };
        }
        last = `health status ${HealthCheckResponse_ServingStatus[res.status] ?? res.status}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await delay(Math.min(100, Math.max(0, deadline - Date.now())));
    }
  } finally {
    health.close();
  }
  client.close();
  throw new UnavailableError(`plugin "${options.name}" at ${options.url} is not reachable: it did not report SERVING within ${timeoutMs} ms (last: ${last})`);
}
