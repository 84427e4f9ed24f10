/**
 * Wakes every waiter when something changed (an ack, a failure, a drain). Waiters re-check their
 * own condition after waking, so a notify between two checks is never lost as long as they wait
 * before checking again.
 */
export class Notifier {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next notify, or after `timeoutMs` when given. */
  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      if (timeoutMs !== undefined) timer = setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
    });
  }
}
