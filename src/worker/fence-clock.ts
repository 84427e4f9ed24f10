/**
 * The self-fencing clock of one worker (invariant 1). A leader gives this worker's partitions
 * away once it has not heard from the worker for session.timeout; so the worker must stop its
 * tasks strictly earlier, at `deadline()` = (the latest moment it can prove no leader has been
 * silent towards it since) + session.timeout − heartbeat.interval.
 *
 * Only two kinds of evidence move that moment forward, never anything else (a refused
 * connection, a "not the leader" answer, a watch event, a leader still loading its snapshot):
 *
 * - **A live answer from a leader** on its session (welcome or heartbeat) to a request sent at
 *   `sentAt`. A process answers as leader only while its lease holds (it steps down on its own
 *   lease clock before etcd can expire it), so at `sentAt` it heard us and no successor had been
 *   elected yet.
 * - **A fresh (linearizable) read of the election** sent at `sentAt`:
 *   - showing *no leader*: nobody can act, and any later leader starts after `sentAt` (a new
 *     leader gives every worker a full session timeout from its start);
 *   - showing *the leader whose answers we hold*: no successor can have started before `sentAt`
 *     (that leader's own clock stays at its last answer);
 *   - showing *another* leader: the one we heard from can no longer write; the new one started
 *     after the moment we last knew there was no other, and gives us nothing more until it
 *     answers.
 *
 * Pure and clock-injected, so the unit tests drive it with a fake time.
 */
export class FenceClock {
  /** No leader we have not heard from can have started before this (ms). */
  private successorBound: number;
  /** The leader whose live answers hold the clock, and the send time of its latest answered request. */
  private heard: { leaderId: string; at: number } | undefined;

  constructor(
    private readonly fenceAfterMs: () => number,
    now: () => number,
  ) {
    // At start nothing of ours runs anywhere; a leader elected later gives us a full timeout.
    this.successorBound = now();
  }

  /** A welcome or heartbeat answer from `leaderId`, to the request this worker sent at `sentAt`. */
  answered(leaderId: string, sentAt: number): void {
    if (this.heard?.leaderId === leaderId) this.heard.at = Math.max(this.heard.at, sentAt);
    else this.heard = { leaderId, at: sentAt };
    this.successorBound = Math.max(this.successorBound, sentAt);
  }

  /** A fresh read of the election, sent at `sentAt`, showed `leaderId` (undefined: no leader). */
  electionRead(leaderId: string | undefined, sentAt: number): void {
    if (leaderId === undefined) {
      this.heard = undefined;
      this.successorBound = Math.max(this.successorBound, sentAt);
    } else if (this.heard?.leaderId === leaderId) {
      this.successorBound = Math.max(this.successorBound, sentAt);
    } else {
      // Someone we have not heard from leads: it started after successorBound, which stays put.
      this.heard = undefined;
    }
  }

  /** When the worker must have stopped every task (ms, same clock as `now`). */
  deadline(): number {
    const since = this.heard ? this.heard.at : this.successorBound;
    return since + this.fenceAfterMs();
  }

  /** The leader whose answers currently hold the clock, if any. */
  get heardFrom(): string | undefined {
    return this.heard?.leaderId;
  }
}
