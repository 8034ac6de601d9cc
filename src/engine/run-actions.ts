import type pg from 'pg';
import type { Logger } from 'pino';
import { withLockRetry, type LockPolicy } from '../db/ddl.ts';
import { ident } from '../db/sql.ts';
import type { StateStore } from '../state/store.ts';
import type { RunRecord } from '../state/types.ts';
import type { Action } from './action.ts';

/**
 * Runs a phase's actions in order, skipping those already done. A transactional
 * action commits together with its "done" record, so a crash either did both or
 * neither. A concurrent index build cannot be in a transaction; it is written
 * to be safe to repeat instead (IF NOT EXISTS, after dropping an invalid leftover).
 */
export async function runActions(
  deps: { db: pg.Pool; store: StateStore; log: Logger },
  run: RunRecord,
  actions: Action[],
  policy: LockPolicy,
  /** Rollback's statements are all idempotent and are not recorded: it may run after any prefix of the plan. */
  record = true,
): Promise<void> {
  const done = new Set(record ? run.doneActions : []);
  const created = new Set(run.doneActions);
  for (const action of actions) {
    if (done.has(action.id)) continue;
    const client = await deps.db.connect();
    try {
      const onRetry = lockRetryNote(deps, run.id, action.id);
      if (action.undoes && !created.has(action.undoes)) {
        // The build it undoes never finished, but a failed CREATE INDEX CONCURRENTLY leaves its INVALID index behind.
        if (action.replacesInvalidIndex) await dropInvalidIndex(client, action.replacesInvalidIndex, policy, onRetry);
        continue;
      }
      if (action.concurrent) {
        if (action.replacesInvalidIndex) await dropInvalidIndex(client, action.replacesInvalidIndex, policy, onRetry);
        await withLockRetry(client, policy, (c) => c.query(action.sql), onRetry, false);
        if (record) await deps.store.markActionDone(run.id, action.id);
      } else {
        await withLockRetry(client, policy, async (c) => {
          await c.query(action.sql);
          if (record) await deps.store.markActionDone(run.id, action.id, c);
        }, onRetry);
      }
      await deps.store.appendEvent(run.id, 'action', { id: action.id });
      deps.log.info({ action: action.id }, 'action done');
    } finally {
      client.release();
    }
  }
}

/**
 * What a DDL statement's retry leaves behind: a warning, and a count and an
 * event in the store (`bellows_lock_timeout_retries_total`). Best effort: the
 * statement's retry matters more than its record.
 */
export function lockRetryNote(deps: { store: StateStore; log: Logger }, runId: string, action: string) {
  return async (attempt: number): Promise<void> => {
    deps.log.warn({ action, attempt }, 'lock not available; retrying');
    await deps.store.noteLockRetry(runId, { action, attempt }).catch(() => {});
  };
}

async function dropInvalidIndex(client: pg.ClientBase, index: { schema: string; name: string }, policy: LockPolicy, onRetry: (attempt: number) => Promise<void>) {
  const { rows } = await client.query<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [index.schema, index.name],
  );
  if (rows[0] && !rows[0].valid) {
    await withLockRetry(client, policy, (c) => c.query(`DROP INDEX CONCURRENTLY IF EXISTS ${ident(index.schema)}.${ident(index.name)}`), onRetry, false);
  }
}
