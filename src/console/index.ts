/**
 * The web console (docs/console.md): a hub per worker that follows the cluster through the Admin
 * API and Kafka, the `/ui` routes serving the built front end and its server-sent events, and
 * the per-caller admin clients the REST API shares.
 */
export { ConsoleHub, type ConsoleHubOptions, type HubAdmin, type WorkerAdmin, type HubUpdate, type HubListener } from './hub.js';
export { consoleRoutes, defaultAssetsDir, visibleUpdate, type ConsoleRoutesOptions } from './routes.js';
export { CallerAdmins, bearerToken, principalOf } from './caller-admin.js';
export { consoleToken } from './token.js';
export type * from './types.js';
