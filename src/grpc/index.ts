export { serviceDefinition, methodPath } from './definition.js';
export { createClient, type ClientOptions } from './client.js';
export { addService, bindServer, shutdownServer, defaultServerOptions } from './server.js';
export { toServiceError, fromServiceError } from './status.js';
export type { CallOptions, CallContext, Client, ServiceImplementation } from './types.js';
export { TlsFiles, peerIdentity, type ClientAuth, type PeerIdentity, type TlsFilesOptions } from './tls.js';
