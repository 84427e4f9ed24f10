/**
 * Roles and grants of admin principals (docs/security.md). A grant is a role, optionally limited
 * to connectors whose name matches a glob: `"operator"` (every connector) or
 * `"operator:team-a-*"` (only connectors matching `team-a-*`, picomatch syntax). The same grant
 * strings are used by the token file, JWT role claims and certificate identity mappings, so a
 * principal means the same thing whichever way it authenticated.
 *
 * Invariant: a role includes the roles below it (admin ⊃ operator ⊃ viewer), and a limited grant
 * never counts for a call that is not about one connector, except the calls whose answer is
 * filtered down to the connectors the principal may see (CALL_SCOPES below).
 */
import picomatch from 'picomatch';

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

export function rank(role: Role): number {
  return ROLES.indexOf(role);
}

export interface Grant {
  role: Role;
  /** Glob over connector names; undefined: every connector and the cluster-wide calls. */
  connectors?: string;
}

/** How an admin caller proved who it is. */
export type AuthMethod = 'token' | 'jwt' | 'certificate';

export interface Principal {
  name: string;
  /** The distinct roles of `grants` (what the console shows). */
  roles: readonly Role[];
  grants: readonly Grant[];
  via: AuthMethod;
}

/** `"role"` or `"role:glob"`; undefined when the role is not one of ROLES or the glob is empty. */
export function parseGrant(text: string): Grant | undefined {
  const colon = text.indexOf(':');
  const role = (colon < 0 ? text : text.slice(0, colon)).trim() as Role;
  if (!ROLES.includes(role)) return undefined;
  if (colon < 0) return { role };
  const connectors = text.slice(colon + 1).trim();
  return connectors ? { role, connectors } : undefined;
}

export function makePrincipal(name: string, grants: readonly Grant[], via: AuthMethod): Principal {
  return { name, grants, via, roles: ROLES.filter((r) => grants.some((g) => g.role === r)) };
}

export function describeGrant(g: Grant): string {
  return g.connectors === undefined ? g.role : `${g.role}:${g.connectors}`;
}

/**
 * What a call is about, which decides which grants count:
 * - `connector`: one named connector (the request's `name`); a limited grant counts when the name matches;
 * - `filtered`: every connector, answered with only those the principal may see (list, watch all);
 * - `global`: reveals no connector (plugins, validate, cluster id, log level): any grant counts;
 * - `cluster`: about every connector at once (workers and their assignments, the worker's log
 *   level): only an unlimited grant counts.
 */
export type CallScope = 'connector' | 'filtered' | 'global' | 'cluster';

/** The role each Admin call needs (a higher role includes the lower ones), and its scope. */
export const CALLS: Record<string, { role: Role; scope: CallScope }> = {
  listConnectors: { role: 'viewer', scope: 'filtered' },
  getConnector: { role: 'viewer', scope: 'connector' },
  getConnectorStatus: { role: 'viewer', scope: 'connector' },
  getOffsets: { role: 'viewer', scope: 'connector' },
  listPlugins: { role: 'viewer', scope: 'global' },
  validateConfig: { role: 'viewer', scope: 'global' },
  listWorkers: { role: 'viewer', scope: 'cluster' },
  getCluster: { role: 'viewer', scope: 'global' },
  getConnectorTopics: { role: 'viewer', scope: 'connector' },
  getLogLevel: { role: 'viewer', scope: 'global' },
  // Counters of every connector on the worker: only for grants that may see them all.
  getRecordCounters: { role: 'viewer', scope: 'cluster' },
  // With a name it is about that connector; without, every connector, filtered.
  watchStatus: { role: 'viewer', scope: 'connector' },
  pauseConnector: { role: 'operator', scope: 'connector' },
  resumeConnector: { role: 'operator', scope: 'connector' },
  stopConnector: { role: 'operator', scope: 'connector' },
  restartConnector: { role: 'operator', scope: 'connector' },
  restartPartition: { role: 'operator', scope: 'connector' },
  alterOffsets: { role: 'operator', scope: 'connector' },
  resetOffsets: { role: 'operator', scope: 'connector' },
  resetConnectorTopics: { role: 'operator', scope: 'connector' },
  createConnector: { role: 'admin', scope: 'connector' },
  putConnectorConfig: { role: 'admin', scope: 'connector' },
  deleteConnector: { role: 'admin', scope: 'connector' },
  setLogLevel: { role: 'admin', scope: 'cluster' },
};

/** The role each Admin call needs (kept for callers that only need the role). */
export const REQUIRED_ROLE: Record<string, Role> = Object.fromEntries(Object.entries(CALLS).map(([k, v]) => [k, v.role]));

const matchers = new Map<string, (name: string) => boolean>();

function matches(glob: string, connector: string): boolean {
  let m = matchers.get(glob);
  if (!m) {
    m = picomatch(glob, { dot: true });
    matchers.set(glob, m);
  }
  return m(connector);
}

/** Whether `principal` holds `role` (or a higher one) for `connector` (undefined: for every connector). */
export function holds(principal: Principal, role: Role, connector: string | undefined): boolean {
  return principal.grants.some((g) => rank(g.role) >= rank(role) && (g.connectors === undefined || (connector !== undefined && matches(g.connectors, connector))));
}

/** Whether `principal` holds `role` (or higher) through any grant, limited or not. */
export function holdsAnywhere(principal: Principal, role: Role): boolean {
  return principal.grants.some((g) => rank(g.role) >= rank(role));
}
