import type pg from 'pg';
import { ident, literal, parseTableRef, qualified } from '../db/sql.ts';
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
    async roundTrip(table, { olds, news }) {
      const ref = parseTableRef(table);
      const info = await describeTable(pool, ref);
      if (!info || olds.some((o) => !info.columns.some((c) => c.name === o.column))) return null;
      // The row as the new version has it (the other columns as they are, each new one as up gives it), with the old values beside it.
      const replaced = new Set([...olds.map((o) => o.column), ...news.map((n) => n.name)]);
      const others = info.columns.filter((c) => !replaced.has(c.name)).map((c) => ident(c.name));
      const original = (i: number) => ident(`bellows original ${i}`);
      const select = [...others, ...news.map((n) => `(${n.up}) AS ${ident(n.name)}`), ...olds.map((o, i) => `${ident(o.column)} AS ${original(i)}`)];
      const sample = `SELECT ${select.join(', ')} FROM ${qualified(ref)} LIMIT ${ROUND_TRIP_SAMPLE}`;
      const differs = olds.map((o, i) => `(${o.down}) IS DISTINCT FROM ${original(i)}`).join(' OR ');
      const shown = `concat_ws(', ', ${olds.map((o, i) => `${literal(o.column + ' ')} || coalesce(quote_literal(${original(i)}), 'NULL')`).join(', ')})`;
      const client = await pool.connect();
      try {
        // Read-only whatever the expressions call, and rolled back.
        await client.query('BEGIN READ ONLY');
        const { rows } = await client.query<{ sampled: string; mismatched: string; example: string | null }>(
          `SELECT count(*) AS sampled, count(*) FILTER (WHERE ${differs}) AS mismatched, (array_agg(${shown}) FILTER (WHERE ${differs}))[1] AS example
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
