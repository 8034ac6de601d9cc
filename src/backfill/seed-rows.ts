import { dollarQuoted, ident, literal, qualified, tableKey, type TableRef } from '../db/sql.ts';
import type { SeedRows, VerifyCheck } from '../operations/operation.ts';

/**
 * The SQL of a seed from a file: its staging table in the state schema, the
 * statements of one batch, and the rollback. Values travel as text in a jsonb
 * object by column, and `jsonb_populate_record(NULL::table, …)` reads each with
 * its column's input function: exactly as a quoted literal in an INSERT would
 * be read, for every type, with no cast to write.
 */

type Seed = SeedRows['seed'];

/** The staging table's key: the line of the file. Named so that it cannot be mistaken for a column of the seeded table. */
export const SEED_LINE = '_bellows_line';

/** Lines a rollback restores per transaction. */
const ROLLBACK_LINES = 1000;

/**
 * One row per line of the file: `row`, the values to write; `existed` and
 * `before`, written by the batch that upserts the line, in its transaction:
 * whether its key had a row, and that row's values, which a rollback puts back.
 */
export function stagingTable(seed: Seed): string {
  return `CREATE TABLE ${qualified(seed.staging)} (${ident(SEED_LINE)} bigint PRIMARY KEY, row jsonb NOT NULL, existed boolean, before jsonb)`;
}

/** The staged lines matching `where`, each with its values read as a row of the seeded table: `b.line`, `b.r`. */
function lines(seed: Seed, where: string, values: 'row' | 'before' = 'row'): string {
  return `(SELECT s.${ident(SEED_LINE)} AS line, jsonb_populate_record(NULL::${qualified(seed.into)}, s.${values}) AS r FROM ${qualified(seed.staging)} s WHERE ${where})`;
}

const keyOf = (seed: Seed, row: string) => `(${seed.key.map((k) => `${row}.${ident(k)}`).join(', ')})`;

/**
 * The ON CONFLICT clause of a seed's upsert into a table aliased `t`: the row of
 * the key takes the given values, unless it already has them, so a row written
 * again is left alone (no new row version, no trigger fired).
 */
export function upsertConflict(columns: string[], key: string[]): string {
  const others = columns.filter((c) => !key.includes(c)).map(ident);
  const update = others.length
    ? `DO UPDATE SET ${others.map((c) => `${c} = EXCLUDED.${c}`).join(', ')} WHERE (${others.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${others.map((c) => `EXCLUDED.${c}`).join(', ')})`
    : 'DO NOTHING';
  return `ON CONFLICT (${key.map(ident).join(', ')}) ${update}`;
}

/**
 * Whether the seeded table lacks `r` (a row of its type) as given: no row of its key,
 * or one whose given columns differ. Read by the key's index: one row per seeded row.
 */
export function seedRowMissing(into: TableRef, columns: string[], key: string[], r: string): string {
  const row = (prefix: string, names: string[]) => `(${names.map((c) => `${prefix}.${ident(c)}`).join(', ')})`;
  return `NOT EXISTS (SELECT FROM ${qualified(into)} x WHERE ${row('x', key)} = ${row(`(${r})`, key)} AND ${row('x', columns)} IS NOT DISTINCT FROM ${row(`(${r})`, columns)})`;
}

/**
 * Verify walks the staged lines as the backfill did, range by range: each line's row
 * must be in the table as the file gives it (a write after the seed may have changed it).
 */
export function seedCheck(seed: Seed): VerifyCheck {
  return {
    column: `the row ${seed.file.split('/').at(-1)} gives on this line (the key shown) is not in ${tableKey(seed.into)} as given`,
    wrongWhen: seedRowMissing(seed.into, seed.columns.map((c) => c.physical), seed.key, `jsonb_populate_record(NULL::${qualified(seed.into)}, t.row)`),
  };
}

/** Upserts the lines by the key. */
function upsert(seed: Seed, from: string): string {
  const columns = seed.columns.map((c) => c.physical);
  return (
    `INSERT INTO ${qualified(seed.into)} AS t (${columns.map(ident).join(', ')}) ` +
    `SELECT ${columns.map((c) => `(b.r).${ident(c)}`).join(', ')} FROM ${from} b ORDER BY b.line ${upsertConflict(columns, seed.key)}`
  );
}

/**
 * One batch of lines (`where` bounds the staging table's key), in the batch's
 * transaction: lock the rows their keys already have, keep those rows beside
 * the lines, then upsert. The seed writes as the old application would: the
 * dual-write triggers of the playbook's other operations on the table translate
 * its rows like any other write, so no new row misses their new columns.
 * The second statement's count is the batch's lines.
 */
export function seedBatchStatements(seed: Seed, where: string): string[] {
  const into = qualified(seed.into);
  const columns = seed.columns.map((c) => c.physical);
  const image = `jsonb_build_object(${columns.map((c) => `${literal(c)}, t.${ident(c)}::text`).join(', ')})`;
  return [
    `SELECT set_config('bellows.backfill', 'off', true) FROM (SELECT count(*) FROM (SELECT FROM ${into} t WHERE ${keyOf(seed, 't')} IN (SELECT ${keyOf(seed, '(b.r)')} FROM ${lines(seed, where)} b) FOR UPDATE OF t) l) locked`,
    `UPDATE ${qualified(seed.staging)} s SET existed = o.existed, before = o.before ` +
      `FROM (SELECT b.line, t.ctid IS NOT NULL AS existed, CASE WHEN t.ctid IS NULL THEN NULL ELSE ${image} END AS before ` +
      `FROM ${lines(seed, where)} b LEFT JOIN ${into} t ON ${keyOf(seed, 't')} = ${keyOf(seed, '(b.r)')}) o ` +
      `WHERE s.${ident(SEED_LINE)} = o.line AND s.existed IS NULL`,
    upsert(seed, lines(seed, where)),
  ];
}

/**
 * Puts the seeded table back as it was, batch by batch, each batch its own
 * transaction (a DO block that commits, so it runs outside any transaction):
 * a line whose key had no row loses the row it added, a line whose key had one
 * gets that row's values back. Lines no batch reached have nothing to undo.
 * Safe to repeat: what is already put back stays as it is, and once the
 * staging table is dropped (after this) there is nothing left to do.
 */
export function seedRollback(seed: Seed): string {
  const staging = qualified(seed.staging);
  const into = qualified(seed.into);
  const line = ident(SEED_LINE);
  const batch = (condition: string) => `s.${line} > lo AND s.${line} <= lo + ${ROLLBACK_LINES} AND ${condition}`;
  return `DO ${dollarQuoted(`
DECLARE
  lo bigint := 0;
  last bigint;
BEGIN
  IF to_regclass(${literal(staging)}) IS NULL OR to_regclass(${literal(into)}) IS NULL THEN
    RETURN;
  END IF;
  SELECT max(${line}) INTO last FROM ${staging} WHERE existed IS NOT NULL;
  WHILE lo < coalesce(last, 0) LOOP
    DELETE FROM ${into} t USING ${lines(seed, batch('NOT s.existed'))} b WHERE ${keyOf(seed, 't')} = ${keyOf(seed, '(b.r)')};
    ${upsert(seed, lines(seed, batch('s.existed'), 'before'))};
    COMMIT;
    lo := lo + ${ROLLBACK_LINES};
  END LOOP;
END `)}`;
}
