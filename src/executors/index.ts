import type pg from 'pg';
import type { Logger } from 'pino';
import { InputError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import type { Executor } from './executor.ts';
import { LocalExecutor } from './local/local-executor.ts';
import { TemporalExecutor } from './temporal/temporal-executor.ts';
import { temporalSettings } from './temporal/config.ts';

export const EXECUTORS = ['local', 'temporal'] as const;

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
    default:
      throw new InputError(`unknown executor "${name}" (choose one of: ${EXECUTORS.join(', ')})`);
  }
}
