import { z } from 'zod';
import { ident, literal, qualified, type TableRef } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import type { ColumnInfo } from '../catalog/introspect.ts';
import { identifier, tableName } from '../playbook/spec-parts.ts';
import type { OpContext, RowCopy, VerifyCheck } from './operation.ts';

/**
 * The objects of a table's system-versioned history, by name: the history
 * table, the trigger (and its function) that writes versions, and the as-of
 * function. add_history makes them; drop_history finds them by the same names.
 */
export const historySpec = z.strictObject({
  table: tableName,
  history_table: identifier.optional().describe('The history table, in the table\'s schema; defaults to <table>_history'),
  as_of_function: identifier.optional().describe('The function returning the rows as they were at a time; defaults to <table>_as_of'),
});

export type HistorySpec = z.infer<typeof historySpec>;

/** The period of a version: `[valid_from, valid_to)`; the open (current) version ends at 'infinity'. */
export const VALID_FROM = 'valid_from';
export const VALID_TO = 'valid_to';

export interface HistoryNames {
  history: TableRef;
  asOf: TableRef;
  /** The trigger, and its function, share this name. */
  writer: TableRef;
}

export function historyNames(spec: HistorySpec, table: TableRef): HistoryNames {
  return {
    history: { schema: table.schema, name: spec.history_table ?? `${table.name}_history` },
    asOf: { schema: table.schema, name: spec.as_of_function ?? `${table.name}_as_of` },
    writer: { schema: table.schema, name: `${table.name}_history_write` },
  };
}

export const asOfSignature = (names: HistoryNames) => `${qualified(names.asOf)}(timestamp with time zone)`;
export const writerSignature = (names: HistoryNames) => `${qualified(names.writer)}()`;

/** The physical table as it is when the run starts: what the history mirrors. */
function shape(ctx: OpContext): { columns: ColumnInfo[]; key: string[] } {
  return { columns: ctx.table.original.columns, key: ctx.table.original.key!.columns.map((k) => k.name) };
}

// record_image_eq: equal bytes, NULLs equal, for every type (json has no = operator); a
// comparison of two ROW(...) constructors would compare column by column with `=` instead.
const list = (prefix: string, names: string[]) => names.map((n) => `${prefix}${ident(n)}`).join(', ');

export function createHistoryTable(ctx: OpContext, names: HistoryNames): PlannedAction {
  const { columns } = shape(ctx);
  const definitions = [
    ...columns.map((c) => `${ident(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}`),
    `${VALID_FROM} timestamptz NOT NULL`,
    `${VALID_TO} timestamptz NOT NULL`,
  ];
  return {
    id: `expand:${ctx.index}:add_history:table`,
    sql: `CREATE TABLE ${qualified(names.history)} (${definitions.join(', ')})`,
    lock: 'none',
    note: `history table ${names.history.name}: the columns of ${ctx.table.ref.name}, each version with its period`,
  };
}

/**
 * Unique on (key, valid_to): one open version per key (valid_to = 'infinity'),
 * which makes a redone backfill batch insert nothing; and the as-of lookup of a
 * key is one index range. Closed versions of a key end at distinct times (the
 * trigger never leaves an empty version).
 */
export function createHistoryIndex(ctx: OpContext, names: HistoryNames): PlannedAction {
  const { key } = shape(ctx);
  return {
    id: `expand:${ctx.index}:add_history:index`,
    sql: `CREATE UNIQUE INDEX ${ident(`${names.history.name}_key_valid_to`)} ON ${qualified(names.history)} (${list('', key)}, ${VALID_TO})`,
    lock: 'none', // the history table is new and empty
    note: 'one open version per key; versions of a key by their end',
  };
}

export function createAsOfFunction(ctx: OpContext, names: HistoryNames): PlannedAction {
  return {
    id: `expand:${ctx.index}:add_history:as_of`,
    sql: `CREATE FUNCTION ${qualified(names.asOf)}(ts timestamptz) RETURNS SETOF ${qualified(names.history)} LANGUAGE sql STABLE AS $as_of$ SELECT * FROM ${qualified(names.history)} WHERE ${VALID_FROM} <= ts AND ts < ${VALID_TO} $as_of$`,
    lock: 'none',
    note: `${names.asOf.name}(ts): each key's version valid at ts`,
  };
}

/**
 * The versions, written AFTER each row change. Times are clock_timestamp(),
 * read after the row lock is held: versions of one key then follow each other
 * without overlap even when an older transaction writes the row after a younger
 * one committed (transaction timestamps would close a version before it
 * opened). The price: as_of(ts) may see part of a transaction that ran across ts.
 *
 * A row that predates the history and that the backfill has not reached yet has
 * no open version: its old values are kept as a version since -infinity.
 * SECURITY DEFINER: the application's role writes the table, not the history.
 */
export function createWriter(ctx: OpContext, names: HistoryNames): PlannedAction {
  const { columns, key } = shape(ctx);
  const h = qualified(names.history);
  const cols = columns.map((c) => c.name);
  const target = `${list('', cols)}, ${VALID_FROM}, ${VALID_TO}`;
  const oldKey = key.map((k) => `${ident(k)} = OLD.${ident(k)}`).join(' AND ');
  const body = `
DECLARE
  at timestamptz := clock_timestamp();
BEGIN
  IF TG_OP = 'UPDATE' AND pg_catalog.record_image_eq(ROW(${list('OLD.', cols)}), ROW(${list('NEW.', cols)})) THEN
    RETURN NULL; -- no column of the history changed (another operation's backfill)
  END IF;
  IF TG_OP <> 'INSERT' THEN
    -- A version opened at this very instant is replaced, never left empty.
    DELETE FROM ${h} WHERE ${oldKey} AND ${VALID_TO} = 'infinity' AND ${VALID_FROM} = at;
    IF NOT FOUND THEN
      UPDATE ${h} SET ${VALID_TO} = at WHERE ${oldKey} AND ${VALID_TO} = 'infinity';
      IF NOT FOUND THEN
        INSERT INTO ${h} (${target}) VALUES (${list('OLD.', cols)}, '-infinity', at);
      END IF;
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO ${h} (${target}) VALUES (${list('NEW.', cols)}, at, 'infinity');
  END IF;
  RETURN NULL;
END`;
  return {
    id: `expand:${ctx.index}:add_history:writer`,
    sql: `CREATE FUNCTION ${writerSignature(names)} RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $writer$${body}\n$writer$`,
    lock: 'none',
    note: `write a version of ${ctx.table.ref.name} on every change`,
  };
}

export function createTrigger(ctx: OpContext, names: HistoryNames): PlannedAction {
  return {
    id: `expand:${ctx.index}:add_history:trigger`,
    sql: `CREATE TRIGGER ${ident(names.writer.name)} AFTER INSERT OR UPDATE OR DELETE ON ${qualified(ctx.table.ref)} FOR EACH ROW EXECUTE FUNCTION ${writerSignature(names)}`,
    lock: 'SHARE ROW EXCLUSIVE (brief: catalog only)',
    note: 'from here on, every change writes its version',
  };
}

/** The existing rows as open versions since -infinity, batch by batch; a key with an open version already is skipped. */
export function historyBackfill(ctx: OpContext, names: HistoryNames): RowCopy {
  const { columns, key } = shape(ctx);
  const cols = columns.map((c) => c.name);
  return {
    copy: {
      into: qualified(names.history),
      columns: [...cols.map(ident), VALID_FROM, VALID_TO],
      select: [...cols.map(ident), `'-infinity'::timestamptz`, `'infinity'::timestamptz`],
      onConflict: `(${list('', key)}, ${VALID_TO})`,
    },
  };
}

/**
 * Every row has an open version equal to it: checked as verify walks the table, range
 * by range (the row aliased `t`), so memory stays flat whatever the table's size.
 */
export function historyCheck(ctx: OpContext, names: HistoryNames): VerifyCheck {
  const { columns, key } = shape(ctx);
  const cols = columns.map((c) => c.name);
  return {
    column: `history of ${ctx.table.ref.name}: a row has no open version equal to it`,
    wrongWhen: `NOT EXISTS (SELECT FROM ${qualified(names.history)} h WHERE ${sameKey(key)} AND h.${VALID_TO} = 'infinity' AND record_image_eq(ROW(${list('h.', cols)}), ROW(${list('t.', cols)})))`,
  };
}

const sameKey = (key: string[]) => key.map((k) => `h.${ident(k)} = t.${ident(k)}`).join(' AND ');

/**
 * And every open version has a row: with the walk's check (and one open version per key,
 * which the history's unique index keeps), as many open versions as rows. Two counts,
 * in one snapshot, flat in memory; only when they differ is a version without a row looked for, to name it.
 */
export function verifyHistory(ctx: OpContext, names: HistoryNames): PlannedAction {
  const { key } = shape(ctx);
  const h = qualified(names.history);
  const keyText = key.map((k) => `h.${ident(k)}::text`).join(` || ', ' || `);
  const message = literal(`history of ${ctx.table.ref.name}: %; key (%)`);
  return {
    id: `verify:${ctx.index}:add_history`,
    sql: `DO $verify$ DECLARE k text; BEGIN
  IF (SELECT count(*) FROM ${qualified(ctx.table.ref)}) <> (SELECT count(*) FROM ${h} WHERE ${VALID_TO} = 'infinity') THEN
    SELECT ${keyText} INTO k FROM ${h} h WHERE h.${VALID_TO} = 'infinity' AND NOT EXISTS (SELECT FROM ${qualified(ctx.table.ref)} t WHERE ${sameKey(key)}) LIMIT 1;
    RAISE EXCEPTION ${message}, 'an open version has no row', coalesce(k, 'none found: rows and open versions differ in number');
  END IF;
END $verify$`,
    lock: 'ACCESS SHARE (reads only)',
    note: `every open version in ${names.history.name} has its row of ${ctx.table.ref.name}`,
  };
}

/** Drops, in the order that leaves nothing dangling: trigger, its function, the as-of function, the history table. */
export function dropHistoryStatements(table: TableRef, names: HistoryNames): Array<{ what: string; sql: string }> {
  return [
    { what: 'trigger', sql: `DROP TRIGGER IF EXISTS ${ident(names.writer.name)} ON ${qualified(table)}` },
    { what: 'writer', sql: `DROP FUNCTION IF EXISTS ${writerSignature(names)}` },
    { what: 'as_of', sql: `DROP FUNCTION IF EXISTS ${asOfSignature(names)}` },
    { what: 'table', sql: `DROP TABLE IF EXISTS ${qualified(names.history)}` },
  ];
}
