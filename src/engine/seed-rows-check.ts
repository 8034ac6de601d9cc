import type pg from 'pg';
import { ident } from '../db/sql.ts';
import type { Probe } from '../operations/operation.ts';

type Chunk = Array<{ line: number; row: Record<string, string | null> }>;

/**
 * Probe.seedRowsProblem, on a connection whose transaction the caller rolls
 * back: a temporary table of the seeded columns' types (a type the playbook
 * makes before is there: the caller has rehearsed it), filled chunk by chunk as
 * start would stage the rows, through each type's input function as a quoted
 * literal is read. A chunk PostgreSQL refuses is tried again one value at a
 * time, only then, to name the line and the column. Keys are compared as their
 * types compare them: '01' and '1' are one integer.
 */
export async function seedRowsProblem(
  client: pg.ClientBase,
  columns: ReadonlyArray<{ name: string; type: string }>,
  key: string[],
  chunks: AsyncIterable<Chunk>,
): ReturnType<Probe['seedRowsProblem']> {
  const scratch = 'pg_temp._bellows_seed';
  const line = ident('_bellows_line');
  await client.query(`CREATE TEMP TABLE _bellows_seed (${line} bigint, ${columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ')})`);
  const load = (rows: Chunk) =>
    client.query(`INSERT INTO ${scratch} SELECT * FROM jsonb_populate_recordset(NULL::${scratch}, $1)`, [JSON.stringify(rows.map((r) => ({ ...r.row, _bellows_line: r.line })))]);
  const attempt = async (work: () => Promise<unknown>): Promise<string | null> => {
    await client.query('SAVEPOINT seed_rows');
    try {
      await work();
      await client.query('RELEASE SAVEPOINT seed_rows');
      return null;
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT seed_rows');
      return (err as Error).message;
    }
  };
  for await (const chunk of chunks) {
    const refused = await attempt(() => load(chunk));
    if (refused === null) continue;
    for (const r of chunk) {
      for (const c of columns) {
        const value = r.row[c.name];
        if (value === null) continue;
        const message = await attempt(() => client.query(`SELECT jsonb_populate_record(NULL::${scratch}, jsonb_build_object($1::text, $2::text))`, [c.name, value]));
        if (message !== null) return { line: r.line, column: c.name, message };
      }
    }
    return { line: chunk[0].line, message: refused };
  }
  const { rows } = await client.query<{ line: string; first: string }>(
    `SELECT ${line}::text AS line, first::text FROM (SELECT ${line}, min(${line}) OVER (PARTITION BY ${key.map(ident).join(', ')}) AS first FROM ${scratch}) d
      WHERE ${line} <> first ORDER BY ${line} LIMIT 1`,
  );
  return rows[0] ? { line: Number(rows[0].line), message: `the same key as line ${rows[0].first}` } : null;
}
