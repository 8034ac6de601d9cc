import { FINISHED_STATUSES, type RunRecord } from '../state/types.ts';
import type { DriverProbe } from '../state/liveness.ts';
import type { Executor } from './executor.ts';
import { createExecutor, type ExecutorDeps } from './index.ts';

/**
 * Asks each run's own executor whether something drives it, for `status` and
 * `watch`: one executor per name however many runs are listed, and only for runs
 * that are not finished (a finished run needs no Temporal connection).
 */
export class DriverProbes {
  private readonly executors = new Map<string, Promise<Executor | null>>();

  constructor(private readonly deps: ExecutorDeps) {}

  async probe(run: RunRecord): Promise<DriverProbe> {
    if (FINISHED_STATUSES.includes(run.status)) return 'unknown';
    const executor = await this.executorFor(run.executor);
    return executor ? executor.probe(run) : 'unknown';
  }

  private executorFor(name: string): Promise<Executor | null> {
    let executor = this.executors.get(name);
    if (!executor) {
      // A run recorded by a newer bellows may name an executor this one lacks: the heartbeat still answers.
      executor = createExecutor(name, this.deps).catch(() => null);
      this.executors.set(name, executor);
    }
    return executor;
  }

  async close(): Promise<void> {
    for (const executor of this.executors.values()) await (await executor)?.close();
    this.executors.clear();
  }
}
