import type pg from 'pg';
import { ident, qualified } from '../db/sql.ts';

export interface ForeignKey {
  child: { schema: string; name: string };
  childColumns: string[];
  parent: { schema: string; name: string };
  parentColumns: string[];
}

/** The target's foreign keys between user tables (outside the state schema). */
export async function foreignKeys(target: pg.Pool, stateSchema: string): Promise<ForeignKey[]> {
  const { rows } = await target.query<{ cs: string; cn: string; cc: string[]; ps: string; pn: string; pc: string[] }>(
    `SELECT cn.nspname AS cs, cr.relname AS cn, pn.nspname AS ps, pr.relname AS pn,
            ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.i)::text[] AS cc,
            ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.i)::text[] AS pc
       FROM pg_constraint c
       JOIN pg_class cr ON cr.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cr.relnamespace
       JOIN pg_class pr ON pr.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = pr.relnamespace
      WHERE c.contype = 'f' AND cn.nspname <> $1 AND pn.nspname <> $1`,
    [stateSchema],
  );
  return rows.map((r) => ({ child: { schema: r.cs, name: r.cn }, childColumns: r.cc, parent: { schema: r.ps, name: r.pn }, parentColumns: r.pc }));
}

/**
 * Sampled children whose parents were not sampled would make the copy's foreign
 * keys fail to build. They are deleted (the copy's keys then hold, validated, as
 * on the target), until no deletion orphans another row: a deleted parent's
 * own children go in the next round. Returns how many rows went.
 */
export async function removeOrphans(copy: pg.Pool, keys: ForeignKey[]): Promise<number> {
  let removed = 0;
  for (;;) {
    let round = 0;
    for (const key of keys) {
      // MATCH SIMPLE, PostgreSQL's default: a row with a NULL in its key references nothing.
      const present = key.childColumns.map((c) => `c.${ident(c)} IS NOT NULL`).join(' AND ');
      const joined = key.childColumns.map((c, i) => `p.${ident(key.parentColumns[i])} = c.${ident(c)}`).join(' AND ');
      const { rowCount } = await copy.query(
        `DELETE FROM ${qualified(key.child)} c WHERE ${present} AND NOT EXISTS (SELECT 1 FROM ${qualified(key.parent)} p WHERE ${joined})`,
      );
      round += rowCount ?? 0;
    }
    removed += round;
    if (round === 0) return removed;
  }
}
