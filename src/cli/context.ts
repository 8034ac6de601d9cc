import { connect } from '../db/pool.ts';
import { InputError } from '../errors.ts';
import { commandLogger, createLogger } from '../log.ts';
import type { OperatorContext } from '../operator/index.ts';
import { currentActor } from '../state/actor.ts';
import { StateStore } from '../state/store.ts';

export interface GlobalOptions {
  databaseUrl?: string;
  stateSchema?: string;
}

/** A command acts on one database as the user who runs it (user@host pid N, in the event log). */
export type CliContext = OperatorContext;

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
    return await work({ pool, store, log: daemon ? createLogger() : commandLogger(), actor: currentActor() });
  } finally {
    await pool.end().catch(() => {});
  }
}
