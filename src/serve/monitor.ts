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
 * Reads every target's runs once a second while at least one client listens
 * (a dashboard's /api/stream): each run in motion gives the rate history a
 * sample, and the listeners a new `runs` answer when anything changed. With
 * nobody listening it reads nothing: a server left running beside a busy
 * database costs it no query a second per target. /api/runs and /metrics read
 * on each request instead.
 */
export class RunsMonitor {
  private readonly listeners = new Set<(json: string) => void>();
  private last: string | null = null;
  /** The polling loop while a client listens; null otherwise. */
  private loop: { stop: AbortController; done: Promise<void> } | null = null;
  /** Loops told to stop that may still be finishing a read. */
  private ending: Promise<unknown> = Promise.resolve();
  private closed = false;
  private reads = 0;

  constructor(
    private readonly targets: Map<string, Target>,
    private readonly rates: RateHistory,
    private readonly log: Logger,
    private readonly tickMs = TICK_MS,
  ) {}

  /** How many times the loop has read every target: it stands still while no client listens. */
  get polls(): number {
    return this.reads;
  }

  /** The answer now, read afresh: what a new stream sends at once. */
  async current(): Promise<string> {
    return JSON.stringify(await runsOfAllTargets(this.targets));
  }

  /** Calls `listener` with each changed answer, polling from now on; returns how to stop (the last to stop ends the polling). */
  subscribe(listener: (json: string) => void): () => void {
    this.listeners.add(listener);
    if (!this.loop && !this.closed) {
      const stop = new AbortController();
      this.loop = { stop, done: this.run(stop.signal) };
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopPolling();
    };
  }

  /** Resolves once no loop is reading: every client has gone and the last read ended. */
  async idle(): Promise<void> {
    await this.ending;
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.stopPolling();
    await this.idle();
  }

  private stopPolling(): void {
    if (!this.loop) return;
    const { stop, done } = this.loop;
    this.loop = null;
    // The next client gets a fresh answer from current(); the next loop compares with nothing old.
    this.last = null;
    stop.abort();
    this.ending = Promise.all([this.ending, done]);
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const answer = await runsOfAllTargets(this.targets, (target, runs) => this.rates.record(target, runs));
        this.reads++;
        const json = JSON.stringify(answer);
        if (json !== this.last && !signal.aborted) {
          this.last = json;
          for (const listener of this.listeners) listener(json);
        }
      } catch (err) {
        this.log.warn({ err: String(err) }, 'runs monitor tick failed');
      }
      await sleep(this.tickMs, signal);
    }
  }
}
