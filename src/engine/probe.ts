import type pg from 'pg';
import { ident, qualified } from '../db/sql.ts';
import { shown } from '../util/printable.ts';
import { describeTable, schemaExists, typeExists } from '../catalog/introspect.ts';
import { describeView, queryColumns } from '../catalog/views.ts';
import { objectPrivileges, roleExists } from '../catalog/privileges.ts';
import type { ColumnDependent, Probe } from '../operations/operation.ts';
import { oneStatement, schemaRehearsal, type SchemaRehearsal } from './schema-rehearsal.ts';
import { seedRowsProblem } from './seed-rows-check.ts';

/**
 * Answers validation's questions by asking PostgreSQL to plan, not run, a query.
 * The extended protocol accepts exactly one statement, so an expression cannot
 * smuggle a second one in.
 */
export function databaseProbe(db: pg.Pool, rehearsal: SchemaRehearsal = schemaRehearsal(db)): Probe {
  return {
    // Types and expressions are checked where the playbook's earlier DDL has been rehearsed:
    // a column may have the type a create_enum before it makes, a default one of its values.
    typeExists: (type) => rehearsal.within((client) => typeExists(client, type)),
    async relationExists(schema, name) {
      const { rowCount } = await db.query(
        `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [schema, name],
      );
      return (rowCount ?? 0) > 0;
    },
    async tableDependents(ref) {
      const { rows } = await db.query<{ what: string }>(
        `WITH t AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)
         SELECT DISTINCT pg_describe_object('pg_class'::regclass, r.ev_class, 0) AS what
           FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid, t
          WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = t.oid AND r.ev_class <> t.oid
         UNION
         SELECT format('constraint %I on %s', k.conname, k.conrelid::regclass) FROM pg_constraint k, t
          WHERE k.contype = 'f' AND k.confrelid = t.oid AND k.conrelid <> t.oid
         ORDER BY 1`,
        [ref.schema, ref.name],
      );
      return rows.map((r) => r.what);
    },
    async columnDependents(table, column, historyWriter = null) {
      const { rows } = await db.query<ColumnDependent>(
        `WITH col AS (
           SELECT a.attrelid AS rel, a.attnum FROM pg_attribute a
            WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)
              AND a.attname = $3
         ), rebuilt AS (
           SELECT i.indexrelid FROM pg_index i, col
            WHERE i.indrelid = col.rel AND i.indisvalid AND NOT i.indisprimary AND i.indexprs IS NULL AND i.indpred IS NULL
         )
         SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS what,
                bool_or(d.deptype = 'a') AS auto,
                bool_or(CASE d.classid
                          WHEN 'pg_class'::regclass THEN d.objid IN (SELECT indexrelid FROM rebuilt)
                          WHEN 'pg_constraint'::regclass THEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.oid = d.objid AND k.contype = 'u' AND k.conindid IN (SELECT indexrelid FROM rebuilt))
                          ELSE false END) AS rebuilt,
                false AS history
           FROM pg_depend d, col
          WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = col.rel AND d.refobjsubid = col.attnum
            AND d.deptype IN ('n', 'a')
            AND NOT (d.classid = 'pg_attrdef'::regclass AND (SELECT adnum FROM pg_attrdef WHERE oid = d.objid) = col.attnum)
          GROUP BY 1
         UNION ALL
         -- The history writer names the columns in its body, which pg_depend does not see;
         -- one the playbook adds before ($4) counts the same.
         SELECT format('trigger %I on %s (the history it writes names the table''s columns: drop_history first, add_history again after)', w.name, col.rel::regclass),
                false, false, true
           FROM col, (SELECT t.tgname AS name FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid, col
                       WHERE t.tgrelid = col.rel AND NOT t.tgisinternal AND p.proname = $2 || '_history_write'
                      UNION
                      SELECT $4::name WHERE $4::name IS NOT NULL) w
          ORDER BY 1`,
        [table.schema, table.name, column, historyWriter],
      );
      return rows;
    },
    async expressionError(expression, columns, castTo) {
      const row = columns.map((c) => `NULL::${c.type} AS ${ident(c.name)}`).join(', ');
      const value = castTo ? `(${expression})::${castTo}` : `(${expression})`;
      try {
        await rehearsal.within((client) => client.query({ text: `SELECT ${value} FROM (SELECT ${row}) AS row WHERE false`, queryMode: 'extended' } as pg.QueryConfig));
        return null;
      } catch (err) {
        return `invalid expression ${shown(expression, 60)}: ${(err as Error).message}`;
      }
    },
    async physicalCondition(condition, columns) {
      // PostgreSQL stores a CHECK by column number: renaming a scratch table's columns from
      // the names to the physical ones, then reading the CHECK back, renames exactly the
      // column references. Through a stop name first, as two columns may trade names.
      // NOT VALID: the scratch table is only a shape, never a check of rows. Temporary,
      // and rolled back with the rest: nothing of it outlives the look.
      const scratch = 'pg_temp._bellows_names';
      const moved = columns.filter((c) => c.name !== c.physical);
      try {
        return await rehearsal.within(async (client) => {
          await client.query(`CREATE TEMP TABLE _bellows_names (${columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ')})`);
          await oneStatement(client, `ALTER TABLE ${scratch} ADD CONSTRAINT condition CHECK (${condition}) NOT VALID`);
          for (const [i, c] of moved.entries()) await client.query(`ALTER TABLE ${scratch} RENAME COLUMN ${ident(c.name)} TO ${ident(`_bellows_names_${i}`)}`);
          for (const [i, c] of moved.entries()) await client.query(`ALTER TABLE ${scratch} RENAME COLUMN ${ident(`_bellows_names_${i}`)} TO ${ident(c.physical)}`);
          const { rows } = await client.query<{ condition: string }>(
            `SELECT pg_get_expr(conbin, conrelid) AS condition FROM pg_constraint WHERE conrelid = '${scratch}'::regclass AND conname = 'condition'`,
          );
          return { condition: rows[0].condition };
        });
      } catch (err) {
        return { error: `invalid condition ${shown(condition, 60)}: ${(err as Error).message}` };
      }
    },
    table: (ref) => describeTable(db, ref),
    view: (ref) => describeView(db, ref),
    queryColumns: (query) => rehearsal.within((client) => queryColumns(client, query)),
    async rowsWhere(table, condition, key, limit) {
      // The condition holds a playbook's expression: a READ ONLY transaction keeps a
      // volatile function in it from writing, and the extended protocol (a parameter)
      // from smuggling in a second statement. It reads under ACCESS SHARE only.
      const client = await db.connect();
      try {
        await client.query('BEGIN READ ONLY');
        const keys = key.map((k) => `t.${ident(k)}::text`).join(', ');
        const { rows } = await client.query<{ key: string[] }>(
          `SELECT ARRAY[${keys}] AS key FROM ${qualified(table)} AS t WHERE ${condition} LIMIT $1`,
          [limit],
        );
        return { keys: rows.map((r) => r.key) };
      } catch (err) {
        return { error: (err as Error).message };
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
      }
    },
    schemaExists: (schema) => rehearsal.within((client) => schemaExists(client, schema)),
    rehearse: (ddl) => rehearsal.attempt(ddl),
    async functionShape(create) {
      try {
        return await rehearsal.within(async (client) => {
          await oneStatement(client, create);
          // Rolled back each time, so the session's temporary schema holds only this function.
          const { rows } = await client.query<{ argTypes: string; result: string }>(
            `SELECT oidvectortypes(p.proargtypes) AS "argTypes", pg_get_function_result(p.oid) AS result FROM pg_proc p WHERE p.pronamespace = pg_my_temp_schema()`,
          );
          return rows[0];
        });
      } catch (err) {
        return { error: (err as Error).message };
      }
    },
    existingFunction: (signature) =>
      rehearsal.within(async (client) => {
        const { rows } = await client.query<{ definition: string; result: string }>(
          `SELECT pg_get_functiondef(p.oid) AS definition, pg_get_function_result(p.oid) AS result FROM pg_proc p WHERE p.oid = to_regprocedure($1) AND p.prokind = 'f'`,
          [signature],
        );
        return rows[0] ?? null;
      }),
    functionDependents: (signature) =>
      rehearsal.within(async (client) => {
        // A view depends through its rule: name the view. An extension's member goes only with it.
        const { rows } = await client.query<{ what: string }>(
          `WITH f AS (SELECT to_regprocedure($1) AS oid)
           SELECT DISTINCT CASE WHEN d.classid = 'pg_rewrite'::regclass
                                THEN (SELECT pg_describe_object('pg_class'::regclass, r.ev_class, 0) FROM pg_rewrite r WHERE r.oid = d.objid)
                                ELSE pg_describe_object(d.classid, d.objid, d.objsubid) END AS what
             FROM pg_depend d, f WHERE d.refclassid = 'pg_proc'::regclass AND d.refobjid = f.oid AND d.deptype = 'n'
           UNION
           SELECT pg_describe_object(d.refclassid, d.refobjid, 0) FROM pg_depend d, f
            WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid AND d.deptype = 'e'
           ORDER BY 1`,
          [signature],
        );
        return rows.map((r) => r.what);
      }),
    namedType: (schema, name) =>
      rehearsal.within(async (client) => {
        const { rows } = await client.query<{ labels: string[] | null }>(
          `SELECT CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS labels
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = $2`,
          [schema, name],
        );
        return rows[0] ?? null;
      }),
    roleExists: (role) => roleExists(db, role),
    privileges: (object, role) => objectPrivileges(db, object, role),
    seedRowsProblem: (columns, key, chunks) => rehearsal.within((client) => seedRowsProblem(client, columns, key, chunks)),
    async rowsByKey(table, key, keys, columns) {
      // One text[] parameter per key column, read back as the column's type: the
      // same equality an upsert's ON CONFLICT uses.
      const wanted = key.map((k, i) => `u.k${i}::${k.type}`).join(', ');
      const unnest = key.map((_, i) => `$${i + 1}::text[]`).join(', ');
      const names = key.map((_, i) => `k${i}`).join(', ');
      const match = key.map((k) => `t.${ident(k.name)}`).join(', ');
      const client = await db.connect();
      try {
        await client.query('BEGIN READ ONLY');
        const { rows } = await client.query<{ row: Array<string | null> }>(
          `SELECT ARRAY[${columns.map((c) => `t.${ident(c)}::text`).join(', ')}] AS row FROM ${qualified(table)} AS t
            WHERE (${match}) IN (SELECT ${wanted} FROM unnest(${unnest}) AS u(${names}))`,
          key.map((_, i) => keys.map((k) => k[i])),
        );
        return rows.map((r) => r.row);
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
      }
    },
  };
}
