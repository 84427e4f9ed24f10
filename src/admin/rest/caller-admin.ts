/**
 * The REST API's view of the Admin API: an AdminClient to the worker's own gRPC address whose
 * every call carries the `authorization` header of the REST request being served, so a REST
 * caller is authenticated and authorised exactly as a gRPC caller with the same token, never
 * with the worker's authority. The request is tracked with AsyncLocalStorage, entered by
 * `requestScope` (pass it to connectRestPlugin).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as grpc from '@grpc/grpc-js';
import { AdminClient } from '../client.js';
import type { RestAdmin } from './routes.js';

export interface CallerScopedAdmin {
  admin: RestAdmin & { close(): void };
  requestScope: (request: { headers: Record<string, string | string[] | undefined> }, next: () => void) => void;
  /** The `authorization` header of the REST request being served (for calls to other workers). */
  callerAuthorization: () => string | undefined;
}

/**
 * @param address the worker's gRPC address, read on first use (the port is bound in start())
 * @param credentials the worker's gRPC client credentials (TLS), read on first use too
 */
export function callerScopedAdmin(address: () => string, credentials: () => grpc.ChannelCredentials | undefined): CallerScopedAdmin {
  const caller = new AsyncLocalStorage<string | undefined>();
  let client: AdminClient | undefined;
  const callMetadata = () => {
    const authorization = caller.getStore();
    return authorization === undefined ? undefined : { authorization };
  };
  const get = () => {
    const c = credentials();
    return (client ??= new AdminClient(address(), { ...(c ? { credentials: c } : {}), callMetadata }));
  };
  return {
    admin: {
      get connectors() {
        return get().connectors;
      },
      get offsets() {
        return get().offsets;
      },
      get plugins() {
        return get().plugins;
      },
      get config() {
        return get().config;
      },
      get cluster() {
        return get().cluster;
      },
      get logLevel() {
        return get().logLevel;
      },
      close: () => client?.close(),
    },
    callerAuthorization: () => caller.getStore(),
    requestScope: (request, next) => {
      const header = request.headers.authorization;
      caller.run(Array.isArray(header) ? header[0] : header, next);
    },
  };
}
