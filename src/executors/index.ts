import type pg from 'pg';
import type { Logger } from 'pino';
import { InputError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import type { Executor } from './executor.ts';
import { LocalExecutor } from './local/local-executor.ts';
import { TemporalExecutor } from './temporal/temporal-executor.ts';
import { temporalSettings } from './temporal/config.ts';
import { BullmqExecutor } from './bullmq/bullmq-executor.ts';
import { bullmqSettings } from './bullmq/config.ts';
import { runBullmqWorkerCommand } from './bullmq/run-worker.ts';
import { runTemporalWorker } from './temporal/run-worker.ts';
import type { WorkerRun } from './worker-run.ts';

export const EXECUTORS = ['local', 'temporal', 'bullmq'] as const;

export interface ExecutorDeps {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
  signal?: AbortSignal;
}

export async function createExecutor(name: string, deps: ExecutorDeps): Promise<Executor> {
  switch (name) {
    case 'local':
      return new LocalExecutor(deps);
    case 'temporal':
      return new TemporalExecutor(deps, temporalSettings());
    case 'bullmq':
      return new BullmqExecutor(deps, bullmqSettings());
    default:
      throw new InputError(`unknown executor "${name}" (choose one of: ${EXECUTORS.join(', ')})`);
  }
}

/** The executors whose work `bellows worker --executor <name>` takes, and how. */
export const WORKERS: Record<string, (run: WorkerRun) => Promise<void>> = {
  temporal: runTemporalWorker,
  bullmq: runBullmqWorkerCommand,
};
