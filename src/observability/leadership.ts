/**
 * Times the leader's coordinator writes (batched offset and status reports) without the leader
 * knowing about metrics: the Leadership it is given writes through this wrapper.
 */
import type { Leadership } from '../coordinator/index.js';
import type { WorkerMetrics } from './metrics.js';

export function observeLeadership(leadership: Leadership, metrics: WorkerMetrics): Leadership {
  return {
    get term() {
      return leadership.term;
    },
    get lost() {
      return leadership.lost;
    },
    resign: () => leadership.resign(),
    async write(writes) {
      const started = performance.now();
      try {
        await leadership.write(writes);
        if (writes.some((w) => w.type === 'commitOffset')) metrics.offsetCommit((performance.now() - started) / 1000, true);
      } catch (err) {
        if (writes.some((w) => w.type === 'commitOffset')) metrics.offsetCommit(0, false);
        throw err;
      }
    },
  };
}
