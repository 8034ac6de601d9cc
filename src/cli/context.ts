import type pg from 'pg';
import { connect } from '../db/pool.ts';
import { InputError } from '../errors.ts';
import { commandLogger, createLogger, type Logger } from '../log.ts';
import { StateStore } from '../state/store.ts';

export interface GlobalOptions {
  databaseUrl?: string;
  stateSchema?: string;
}

export interface CliContext {
  pool: pg.Pool;
  store: StateStore;
  log: Logger;
}

/** What an executor needs from a command's context. */
export function executorDeps(ctx: CliContext, signal?: AbortSignal) {
  return { db: ctx.pool, store: ctx.store, log: ctx.log, signal };
}

/** The connection comes from --database-url, else DATABASE_URL; there is no implicit default. */
export function databaseUrl(options: GlobalOptions): string {
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  if (!url) throw new InputError('no database: pass --database-url or set DATABASE_URL (or try `bellows demo`)');
  return url;
}

/** Opens the database for one command and always releases it, whatever the command does. */
export async function withDatabase<T>(
  options: GlobalOptions,
  work: (ctx: CliContext) => Promise<T>,
  /** `daemon`: a long-running process (the worker) whose stderr is its log. */
  { poolSize = 10, migrate = true, daemon = false }: { poolSize?: number; migrate?: boolean; daemon?: boolean } = {},
): Promise<T> {
  const pool = await connect(databaseUrl(options), poolSize);
  const store = new StateStore(pool, options.stateSchema);
  try {
    // `plan` passes migrate: false, because it must not change the database at all.
    if (migrate) await store.migrate();
    return await work({ pool, store, log: daemon ? createLogger() : commandLogger() });
  } finally {
    await pool.end().catch(() => {});
  }
}
