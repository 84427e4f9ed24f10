/**
 * The Kafka Connect-compatible REST API (docs/rest-api.md): register it on a worker's HTTP
 * server with `connectRestPlugin(options)`.
 */
import type { FastifyPluginAsync } from 'fastify';
import { connectRestRoutes, type ConnectRestOptions } from './routes.js';

export { connectRestRoutes, openApiDocument, type ConnectRestOptions, type RestAdmin } from './routes.js';
export { toRestError, RestError, type RestErrorBody } from './errors.js';
export { taskIds } from './shapes.js';
export { callerScopedAdmin, type CallerScopedAdmin } from './caller-admin.js';

/** The REST API as a fastify plugin (its error handler and authenticator apply to its routes only). */
export function connectRestPlugin(options: ConnectRestOptions): FastifyPluginAsync {
  return async (app) => connectRestRoutes(app, options);
}
