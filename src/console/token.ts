/**
 * The credential the console hub reads with on a secured worker. The hub is shared by every
 * browser, so it cannot use one browser's token; it reads (and only reads: the hub never writes)
 * with a token of the worker's own token file, preferring the least privileged principal that
 * may view every connector (each browser's view is then cut down to its caller's grants). Every
 * worker is given the same file (docs/security.md), so the leader accepts it when forwarded.
 */
import { holds, readTokenFile, type Role } from '../admin/index.js';

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** The token of the file's least privileged principal (the first one among equals). */
export function consoleToken(tokensFile: string): string {
  const tokens = [...readTokenFile(tokensFile)];
  // Limited to some connectors, a principal would show every browser only those: last resort.
  const score = (p: (typeof tokens)[number][1]) => Math.max(...p.grants.map((g) => rank[g.role])) + (holds(p, 'viewer', undefined) ? 0 : 10);
  const best = tokens.reduce<[string, number] | undefined>((acc, [token, p]) => {
    const r = score(p);
    return acc === undefined || r < acc[1] ? [token, r] : acc;
  }, undefined);
  // readTokenFile accepts an empty list; such a worker refuses every call, the console's too.
  return best?.[0] ?? '';
}
