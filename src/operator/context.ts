import type pg from 'pg';
import type { ExecutorDeps } from '../executors/index.ts';
import type { Logger } from '../log.ts';
import type { StateStore } from '../state/store.ts';

/**
 * What every operator action needs: the target database, its state store, a
 * log, and who acts. The CLI acts as `user@host pid N` (state/actor.ts), the
 * server as `web <remote address>`; every intent an action writes is an event
 * in the actor's name, whoever then drives the run.
 */
export interface OperatorContext {
  pool: pg.Pool;
  store: StateStore;
  log: Logger;
  actor: string;
}

/** What an executor needs from an operator's context. */
export function executorDeps(ctx: Pick<OperatorContext, 'pool' | 'store' | 'log'>, signal?: AbortSignal): ExecutorDeps {
  return { db: ctx.pool, store: ctx.store, log: ctx.log, signal };
}

/** The state store writing in the actor's name. */
export function actingStore(ctx: OperatorContext): StateStore {
  return ctx.store.actor === ctx.actor ? ctx.store : ctx.store.withActor(ctx.actor);
}
