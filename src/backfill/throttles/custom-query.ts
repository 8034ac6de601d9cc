import type pg from 'pg';
import { readOnlyQuery } from '../../db/read-only.ts';
import { SQLSTATE, sqlstateOf } from '../../db/sqlstate.ts';
import { printableLine } from '../../util/printable.ts';
import { ThrottleStop, type Throttle } from './throttle.ts';

const MULTIPLE_STATEMENTS = /cannot insert multiple commands into a prepared statement/;

/**
 * Asks the operator's query (read-only, see db/read-only.ts). Its answer must be
 * one row with one boolean column: true means wait, false or NULL go on. A query
 * that answers anything else is refused rather than guessed at: `SELECT count(*)`
 * or no row at all would otherwise mean "go on" or "wait" by accident.
 */
async function ask(db: pg.Pool, sql: string): Promise<{ wait: boolean } | { problem: string }> {
  let result;
  try {
    result = await readOnlyQuery(db, sql);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const reason = printableLine(message, 120);
    if (sqlstateOf(err) === SQLSTATE.syntaxError && MULTIPLE_STATEMENTS.test(message)) return { problem: 'it is more than one statement' };
    // PostgreSQL names the statement (`SELECT` for a data-modifying WITH), not the write in it.
    if (sqlstateOf(err) === SQLSTATE.readOnlyTransaction) return { problem: `it writes (${reason})` };
    return { problem: reason };
  }
  const { columns, rows } = result;
  if (columns.length !== 1) return { problem: `it returned ${columns.length} columns` };
  if (columns[0].type !== 'boolean') return { problem: `it returned a column of type ${printableLine(columns[0].type, 40)}` };
  if (rows.length !== 1) return { problem: `it returned ${rows.length === 0 ? 'no row' : `${rows.length} rows`}` };
  return { wait: rows[0][0] === true };
}

/** The operator's own rule: SQL answering true while the backfill must wait. */
export const customQueryThrottle: Throttle = {
  name: 'throttle query',
  enabled: (s) => Boolean(s.throttleQuery),
  async preflight(db, settings) {
    if (!settings.throttleQuery) return null;
    const answer = await ask(db, settings.throttleQuery);
    if (!('problem' in answer)) return null;
    return `throttleQuery: ${answer.problem}; it must be one read-only statement returning one row with one boolean column (true while the backfill must wait)`;
  },
  probe: ({ db }) => ({
    async check(settings) {
      const answer = await ask(db, settings.throttleQuery!);
      if ('problem' in answer) {
        throw new ThrottleStop(
          `throttleQuery failed: ${answer.problem}`,
          (run) => `correct it with bellows tune ${run} --throttle-query '<sql>', then bellows resume ${run}`,
        );
      }
      return answer.wait ? 'throttle query returned true' : null;
    },
  }),
};
