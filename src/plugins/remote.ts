/**
 * A plugin served by someone else at `grpc://host:port`, or over TLS at `grpcs://host:port`
 * (a sidecar, a service in another language; the worker verifies it against its cluster CA
 * and presents its own certificate, docs/security.md). Nothing to spawn or restart: we check it answers gRPC health with SERVING at start
 * (failing with an UnavailableError that names the URL if it does not within the bound), then
 * every call goes straight to it; grpc-js reconnects by itself if the endpoint comes back.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import { Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';
import { ConnectorPluginService } from '../gen/tributary/connector/v1/connector_pb.js';
import { createClient } from '../grpc/index.js';
import type { ConnectorPlugin } from './types.js';

export interface RemotePluginOptions {
  name: string;
  /** `grpc://host:port`, or `grpcs://host:port` for TLS */
  url: string;
  /** Channel credentials for `grpcs://` (the worker's TLS); required for it. */
  credentials?: grpc.ChannelCredentials;
  logger?: Logger;
  /** How long the endpoint has to report SERVING (default 10000 ms). */
  connectTimeoutMs?: number;
}

export interface RemotePlugin {
  readonly plugin: ConnectorPlugin;
  readonly address: string;
  close(): void;
}

/** `grpc://host:port` or `grpcs://host:port` → its address and whether it is TLS; throws InvalidArgumentError naming the URL otherwise. */
export function remoteEndpoint(url: string): { address: string; tls: boolean } {
  const match = /^grpc(s?):\/\/(\[[0-9a-fA-F:.]+\]|[^/:\s]+):(\d{1,5})\/?$/.exec(url);
  if (!match || Number(match[3]) > 65535) {
    throw new InvalidArgumentError(`plugin URL "${url}" is not of the form grpc://host:port or grpcs://host:port`, [{ key: 'url', message: 'must be grpc://host:port or grpcs://host:port' }]);
  }
  return { address: `${match[2]}:${match[3]}`, tls: match[1] === 's' };
}

/** `grpc://host:port` (or `grpcs://`) → `host:port`. */
export function remoteAddress(url: string): string {
  return remoteEndpoint(url).address;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Connects to a remote plugin and waits until it reports SERVING. */
export async function connectRemotePlugin(options: RemotePluginOptions): Promise<RemotePlugin> {
  const { address, tls } = remoteEndpoint(options.url);
  if (tls && !options.credentials) {
    throw new InvalidArgumentError(`plugin "${options.name}" at ${options.url} uses TLS, but this worker has no TLS settings`, [{ key: 'url', message: 'grpcs:// needs the worker\'s grpc.tls.cert.file, grpc.tls.key.file and grpc.tls.ca.file' }]);
  }
  const credentials = tls ? options.credentials : undefined;
  const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'plugin-remote', plugin: options.name, url: options.url });
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const client = createClient(ConnectorPluginService, address, { credentials });
  const health = createClient(Health, address, { credentials });
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
