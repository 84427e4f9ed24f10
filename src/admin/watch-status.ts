/**
 * WatchStatus on the leader: the current status of the watched connectors first, then each one
 * again whenever it changed, and `deleted` when one goes away. Polls the leader's view (cheap:
 * in memory) and sends only changes. NOT_FOUND at once when the one watched connector is unknown.
 */
import { create, equals } from '@bufbuild/protobuf';
import { ConnectorStatusSchema } from '../gen/tributary/admin/v1/admin_pb.js';
import { sleep } from '../util/iterate.js';
import type { LeaderAdmin } from './leader-admin.js';

export async function* watchStatus(admin: LeaderAdmin, name: string, signal: AbortSignal, intervalMs = 200) {
  const last = new Map<string, ReturnType<typeof create<typeof ConnectorStatusSchema>>>();
  // Watching one connector that does not exist is a mistake to report, not a silent stream.
  if (name) await admin.status(name);
  while (!signal.aborted) {
    const names = name ? [name] : (await admin.list(false, false)).names;
    for (const gone of [...last.keys()].filter((n) => !names.includes(n))) {
      last.delete(gone);
      yield { status: { name: gone }, deleted: true };
    }
    for (const n of names) {
      let status;
      try {
        status = create(ConnectorStatusSchema, await admin.status(n));
      } catch {
        if (last.delete(n)) yield { status: { name: n }, deleted: true };
        continue;
      }
      const previous = last.get(n);
      if (previous && equals(ConnectorStatusSchema, previous, status)) continue;
      last.set(n, status);
      yield { status };
    }
    await sleep(intervalMs, signal);
  }
}
