/**
 * The admin plane: the Admin service every worker serves (the leader answers, others forward),
 * server reflection, and the AdminClient library the CLI is built on.
 */
export { createAdminService, type AdminServiceOptions } from './service.js';
export { registerAdminServices } from './register.js';
export { AdminAuthenticator, FORWARDED_IDENTITY, holds, readTokenFile, REQUIRED_ROLE, type AdminAuthSources, type AuthMethod, type Credentials, type Grant, type Principal, type Role } from './auth.js';
export { CALLS, makePrincipal, parseGrant } from './auth-grants.js';
export { CertificateIdentities, certificateIdentities } from './auth-certs.js';
export { JwtVerifier, DEFAULT_PRINCIPAL_CLAIM, DEFAULT_ROLES_CLAIM, type JwtSettings } from './auth-jwt.js';
export { addReflection, ReflectionIndex, reflectionServices } from './reflection.js';
export { LeaderAdmin } from './leader-admin.js';
export { AdminClient, type AdminClientOptions, type AdminRpcClient, type OffsetChanges } from './client.js';
export * from './model.js';
export { callerScopedAdmin, connectRestPlugin, connectRestRoutes, openApiDocument, taskIds, toRestError, type CallerScopedAdmin, type ConnectRestOptions, type RestAdmin } from './rest/index.js';
