/**
 * Offset and status reports the leader accepted into its state but has not persisted yet, kept
 * as dirty keys, not as values: a flush builds its writes from the state as it is when the flush
 * runs, and a key is clean again only if nothing changed it while the write was in flight. A
 * failed flush therefore loses nothing and a retry writes the newest value.
 */
import { partitionKey } from './assignment.js';
import type { StateWrite } from './backend.js';
import type { LeaderState } from './leader-state.js';

type Kind = 'offset' | 'status';

interface Dirty {
  kind: Kind;
  connector: string;
  partition: string;
  version: number;
}

export class ReportBuffer {
  private readonly dirty = new Map<string, Dirty>();
  private version = 0;
  /** Connectors being deleted: none of their keys is written any more. */
  private readonly fenced = new Set<string>();

  get size(): number {
    return this.dirty.size;
  }

  mark(kind: Kind, connector: string, partition: string): void {
    this.dirty.set(`${kind[0]}${partitionKey({ connector, partition })}`, { kind, connector, partition, version: ++this.version });
  }

  forget(kind: Kind, connector: string, partition: string): void {
    this.dirty.delete(`${kind[0]}${partitionKey({ connector, partition })}`);
  }

  /** Stops writing anything of `connector` (its delete is under way); `forgetConnector` drops its keys. */
  fence(connector: string): void {
    this.fenced.add(connector);
  }

  unfence(connector: string): void {
    this.fenced.delete(connector);
  }

  forgetConnector(connector: string): void {
    for (const [key, d] of this.dirty) if (d.connector === connector) this.dirty.delete(key);
  }

  /**
   * The writes for every dirty key of `kinds`, built from `state` now, and `settle()` to call once
   * they are persisted (it cleans the keys nobody touched meanwhile).
   */
  take(state: LeaderState, kinds: readonly Kind[] = ['offset', 'status']): { writes: StateWrite[]; settle(): void } {
    const writes: StateWrite[] = [];
    const taken: Array<[string, number]> = [];
    for (const [key, d] of this.dirty) {
      if (!kinds.includes(d.kind) || this.fenced.has(d.connector) || !state.connectors.has(d.connector)) continue;
      if (d.kind === 'offset') {
        const offset = state.offset(d.connector, d.partition);
        if (offset) writes.push({ type: 'commitOffset', connector: d.connector, partition: d.partition, offset });
      } else {
        const status = state.statuses.get(partitionKey(d));
        if (status) writes.push({ type: 'putStatus', status });
      }
      taken.push([key, d.version]);
    }
    return {
      writes,
      settle: () => {
        for (const [key, version] of taken) if (this.dirty.get(key)?.version === version) this.dirty.delete(key);
      },
    };
  }
}
