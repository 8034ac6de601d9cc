import type { Logger } from '../log.ts';
import { allRunsStatus } from '../operator/index.ts';
import type { RunProgress } from '../state/progress.ts';
import { sleep } from '../util/sleep.ts';
import type { RateHistory } from './rates.ts';
import type { Target } from './targets.ts';

/** `/api/runs`: each run as `bellows status --json` prints it, with the target it belongs to. */
export type RunsAnswer = Array<{ target: string } & RunProgress>;

const TICK_MS = 1_000;

/**
 * Every target's recent runs. A target that cannot answer now is left out
 * rather than failing the others: /readyz names it and why.
 */
export async function runsOfAllTargets(targets: Map<string, Target>, seen?: (target: string, runs: RunProgress[]) => void): Promise<RunsAnswer> {
  const perTarget = await Promise.all(
    [...targets.values()].map(async (target) => {
      try {
        const runs = await allRunsStatus(target.context(target.store.actor), target.probes);
        seen?.(target.name, runs);
        return runs.map((run) => ({ target: target.name, ...run }));
      } catch (err) {
        target.log.warn({ target: target.name, err: String(err) }, 'runs not read');
        return [];
      }
    }),
  );
  return perTarget.flat();
}

/**
 * Reads every target's runs once a second: each run in motion gives the rate
 * history a sample, and the live stream a new `runs` answer when anything changed.
 */
export class RunsMonitor {
  private readonly listeners = new Set<(json: string) => void>();
  private readonly stopping = new AbortController();
  private last: string | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly targets: Map<string, Target>,
    private readonly rates: RateHistory,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** The answer now, read afresh: what a new stream sends at once. */
  async current(): Promise<string> {
    return JSON.stringify(await runsOfAllTargets(this.targets));
  }

  /** Calls `listener` with each changed answer; returns how to stop. */
  subscribe(listener: (json: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        const answer = await runsOfAllTargets(this.targets, (target, runs) => this.rates.record(target, runs));
        const json = JSON.stringify(answer);
        if (json !== this.last) {
          this.last = json;
          for (const listener of this.listeners) listener(json);
        }
      } catch (err) {
        this.log.warn({ err: String(err) }, 'runs monitor tick failed');
      }
      await sleep(TICK_MS, signal);
    }
  }
}
