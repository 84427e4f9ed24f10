/**
 * Admin calls made on behalf of a console caller: each call carries
 * the caller's own `authorization: Bearer …`, so the worker (and the leader it forwards to)
 * authorises the caller, not the worker. One AdminClient per distinct token, to this worker's own
 * gRPC address. Only tokens the authenticator accepted get a client (others are refused
 * before any call), and at most MAX_CLIENTS are kept (JWTs change with every login).
 */
import * as grpc from '@grpc/grpc-js';
import type { FastifyRequest } from 'fastify';
import { AdminClient, type AdminAuthenticator, type Principal } from '../admin/index.js';

/** The bearer token of a request's `authorization` header, if it has one. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m ? m[1] : undefined;
}

/** The principal of `token` (UnauthenticatedError when the worker does not know it or it does not verify). */
export function principalOf(auth: AdminAuthenticator, token: string | undefined): Promise<Principal> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return auth.authenticate({ metadata });
}

/**
 * Bound on cached clients: static tokens are few, but every JWT is a new string, so the
 * least recently used client is closed beyond this.
 */
const MAX_CLIENTS = 64;

export class CallerAdmins {
  private readonly clients = new Map<string, AdminClient>();

  /**
   * @param address this worker's gRPC address (read on first use: the port is bound in start())
   * @param credentials the worker's gRPC client credentials (TLS), read on first use too
   */
  constructor(
    private readonly address: () => string,
    private readonly credentials: () => grpc.ChannelCredentials | undefined = () => undefined,
  ) {}

  /** The client that calls with `token` (none: without credentials). */
  client(token: string | undefined): AdminClient {
    const key = token ?? '';
    let client = this.clients.get(key);
    if (client) {
      // Most recently used last: Map keeps insertion order.
      this.clients.delete(key);
    } else {
      const credentials = this.credentials();
      client = new AdminClient(this.address(), { ...(credentials ? { credentials } : {}), ...(token === undefined ? {} : { token }) });
    }
    this.clients.set(key, client);
    if (this.clients.size > MAX_CLIENTS) {
      const [oldestKey, oldest] = this.clients.entries().next().value as [string, AdminClient];
      this.clients.delete(oldestKey);
      // grpc-js lets calls already started on a closed channel finish.
      oldest.close();
    }
    return client;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
