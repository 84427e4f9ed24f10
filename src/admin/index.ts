/**
 * The admin plane: the Admin service every worker serves (the leader answers, others forward),
 * server reflection, and the AdminClient library the CLI is built on.
 */
export { createAdminService, type AdminServiceOptions } from './service.js';
export { registerAdminServices } from './register.js';
export { addReflection, ReflectionIndex, reflectionServices } from './reflection.js';
export { LeaderAdmin } from './leader-admin.js';
export { AdminClient, type AdminClientOptions, type AdminRpcClient, type OffsetChanges } from './client.js';
export * from './model.js';
