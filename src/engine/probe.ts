import type pg from 'pg';
import { ident } from '../db/sql.ts';
import { typeExists } from '../catalog/introspect.ts';
import type { Probe } from '../operations/operation.ts';

/**
 * Answers validation's questions by asking PostgreSQL to plan, not run, a query.
 * The extended protocol accepts exactly one statement, so an expression cannot
 * smuggle a second one in.
 */
export function databaseProbe(db: pg.Pool): Probe {
  return {
    typeExists: (type) => typeExists(db, type),
    async relationExists(schema, name) {
      const { rowCount } = await db.query(
        `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [schema, name],
      );
      return (rowCount ?? 0) > 0;
    },
    async expressionError(expression, columns, castTo) {
      const row = columns.map((c) => `NULL::${c.type} AS ${ident(c.name)}`).join(', ');
      const value = castTo ? `(${expression})::${castTo}` : `(${expression})`;
      try {
        await db.query({ text: `SELECT ${value} FROM (SELECT ${row}) AS row WHERE false`, queryMode: 'extended' } as pg.QueryConfig);
        return null;
      } catch (err) {
        return `invalid expression ${JSON.stringify(expression)}: ${(err as Error).message}`;
      }
    },
  };
}
