import type pg from 'pg';
import type { Logger } from 'pino';
import { InputError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import type { Executor } from './executor.ts';
import type { WorkerRun } from './worker-run.ts';
import { LocalExecutor } from './local/local-executor.ts';
import { TemporalExecutor } from './temporal/temporal-executor.ts';
import { temporalSettings } from './temporal/config.ts';
import { runTemporalWorker } from './temporal/run-worker.ts';
import { BullmqExecutor } from './bullmq/bullmq-executor.ts';
import { bullmqSettings } from './bullmq/config.ts';
import { runBullmqWorkerCommand } from './bullmq/run-worker.ts';

export interface ExecutorDeps {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
  signal?: AbortSignal;
}

interface Registered {
  create(deps: ExecutorDeps): Executor;
  /** How `bellows worker --executor <name>` takes its work; none for an executor that drives in the CLI's process. */
  worker?: (run: WorkerRun) => Promise<void>;
}

/** Every executor, by the name runs record: adding one is a folder beside these and a line here. */
const REGISTRY: Record<string, Registered> = {
  local: { create: (deps) => new LocalExecutor(deps) },
  temporal: { create: (deps) => new TemporalExecutor(deps, temporalSettings()), worker: runTemporalWorker },
  bullmq: { create: (deps) => new BullmqExecutor(deps, bullmqSettings()), worker: runBullmqWorkerCommand },
};

export const EXECUTORS = Object.keys(REGISTRY);

export async function createExecutor(name: string, deps: ExecutorDeps): Promise<Executor> {
  const registered = Object.hasOwn(REGISTRY, name) ? REGISTRY[name] : undefined;
  if (!registered) throw new InputError(`unknown executor "${name}" (choose one of: ${EXECUTORS.join(', ')})`);
  return registered.create(deps);
}

/** The executors whose work `bellows worker --executor <name>` takes, and how. */
export const WORKERS = Object.fromEntries(
  Object.entries(REGISTRY).flatMap(([name, r]) => (r.worker ? [[name, r.worker] as const] : [])),
);
