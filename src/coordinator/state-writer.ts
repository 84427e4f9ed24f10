/**
 * The leader's one path to persistent state. Every write of the leader goes through one
 * StateWriter, which runs them strictly one after another: a batch is built from the leader's
 * current state only when its turn comes (see ReportBuffer), so an older offset can never be
 * written after a newer one, and a connector's delete cannot be overtaken by a flush of its
 * buffered reports.
 */
import type { Leadership, StateWrite } from './backend.js';

export class StateWriter {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly leadership: Leadership) {}

  /** Writes `writes` (or what `build` returns when this write's turn comes) in one transaction. */
  write(writes: StateWrite[] | (() => StateWrite[])): Promise<void> {
    const run = this.chain.then(async () => {
      const batch = typeof writes === 'function' ? writes() : writes;
      if (batch.length > 0) await this.leadership.write(batch);
    });
    this.chain = run.catch(() => {});
    return run;
  }
}
