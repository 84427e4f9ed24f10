export { createAdminService, type AdminServiceOptions } from './service.js';
export { LeaderAdmin } from './leader-admin.js';
