import type pg from 'pg';
import { ident, parseTableRef, qualified } from '../db/sql.ts';
import { describeTable } from '../catalog/introspect.ts';
import type { LiveFacts } from './rule.ts';

/** Rows read to check down(up(x)) = x: enough to meet the values that break it, few enough to stay instant. */
export const ROUND_TRIP_SAMPLE = 1000;

/** What lint reads of a live database, read-only: sizes, volatility, and sample rows. */
export function liveFacts(pool: pg.Pool): LiveFacts {
  return {
    async rows(table) {
      const info = await describeTable(pool, parseTableRef(table));
      return info ? Math.max(0, info.estimatedRows) : null;
    },
    async volatile(name) {
      const { rows } = await pool.query<{ volatile: boolean }>(`SELECT bool_or(provolatile = 'v') AS volatile FROM pg_proc WHERE proname = $1`, [name]);
      return rows[0]?.volatile ?? null;
    },
    async roundTrip(table, column, newName, up, down) {
      const ref = parseTableRef(table);
      const info = await describeTable(pool, ref);
      if (!info?.columns.some((c) => c.name === column)) return null;
      // The new row: every other column as it is, the changed one as up gives it, and the original beside it.
      const others = info.columns.filter((c) => c.name !== column && c.name !== newName).map((c) => ident(c.name));
      const sample = `SELECT ${[...others, `(${up}) AS ${ident(newName)}`, `${ident(column)} AS "bellows original"`].join(', ')} FROM ${qualified(ref)} LIMIT ${ROUND_TRIP_SAMPLE}`;
      const client = await pool.connect();
      try {
        // Read-only whatever the expressions call, and rolled back.
        await client.query('BEGIN READ ONLY');
        const { rows } = await client.query<{ sampled: string; mismatched: string; example: string | null }>(
          `SELECT count(*) AS sampled, count(*) FILTER (WHERE (${down}) IS DISTINCT FROM "bellows original") AS mismatched,
                  (array_agg("bellows original"::text) FILTER (WHERE (${down}) IS DISTINCT FROM "bellows original"))[1] AS example
             FROM (${sample}) AS s`,
        );
        return { sampled: Number(rows[0].sampled), mismatched: Number(rows[0].mismatched), example: rows[0].example };
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
      }
    },
  };
}
