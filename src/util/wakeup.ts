/**
 * A sleep that can be cut short: `wait` resolves after `ms`, on `signal`, or
 * when someone calls `ring`, whichever comes first. For a poll that should also
 * answer an event at once, without relying on the event ever arriving.
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();

  ring(): void {
    for (const wake of [...this.waiters]) wake();
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
