import { ident, literal, qualified, tableKey } from '../db/sql.ts';
import type { ModelTable } from '../operations/model.ts';
import type { PlannedAction } from './action.ts';

/** PUBLIC is a keyword, every other grantee a role name. */
function grantee(name: string): string {
  return name === 'PUBLIC' ? 'PUBLIC' : ident(name);
}

/**
 * The new version's schema: one view per table the run touches, showing the
 * table as the new application sees it (new names, new columns, dropped ones
 * gone), writable, checked with the caller's own privileges and row-level
 * security (security_invoker), and granted to the roles that have the table.
 * The schema is made first in dual-write and dropped last in contract and
 * rollback: schema operations put their own new-version objects in it
 * (replace_view) and remove them in their own steps, between the two.
 */
export function versionSchemaActions(versionSchema: string, models: ModelTable[]) {
  const schema = ident(versionSchema);
  const createSchema: PlannedAction = {
    id: 'dual_write:version_schema',
    sql: `CREATE SCHEMA ${schema}`,
    lock: 'none',
    note: `the new version: applications with search_path=${versionSchema},public see the new shape`,
  };
  const shown = models.filter((m) => m.droppedBy === null);
  const createViews: PlannedAction[] = [];
  const dropViews: PlannedAction[] = [];
  hideDroppedTables(schema, models.filter((m) => m.droppedBy !== null), createViews, dropViews);
  const roles = [...new Set(shown.flatMap((m) => m.original.grants.map((g) => g.grantee)))];
  if (roles.length) {
    createViews.push({
      id: 'dual_write:version_schema_usage',
      sql: `GRANT USAGE ON SCHEMA ${schema} TO ${roles.map(grantee).join(', ')}`,
      lock: 'none',
      note: 'the roles that use the tables may use their views',
    });
  }
  for (const model of shown) {
    const view = `${schema}.${ident(model.versionName)}`;
    const columns = model.columns.map((c) => (c.physical === c.name ? ident(c.name) : `${ident(c.physical)} AS ${ident(c.name)}`));
    createViews.push({
      id: `dual_write:view:${tableKey(model.ref)}`,
      sql: `CREATE OR REPLACE VIEW ${view} WITH (security_invoker = true) AS SELECT ${columns.join(', ')} FROM ${qualified(model.ref)}`,
      lock: 'ACCESS SHARE (reads only)',
      note: `${model.versionName} as the new application sees it`,
    });
    // The view is checked with the privileges of whoever queries it (security_invoker), and its own
    // privileges are checked first: each role gets on the view what it has on the table.
    for (const grant of model.original.grants) {
      createViews.push({
        id: `dual_write:view_grant:${tableKey(model.ref)}:${grant.grantee}`,
        sql: `GRANT ${grant.privileges.join(', ')} ON ${view} TO ${grantee(grant.grantee)}`,
        lock: 'none',
        note: `${grant.grantee} may do through the view what it may do to the table`,
      });
    }
    dropViews.push({ id: `drop_view:${tableKey(model.ref)}`, sql: `DROP VIEW IF EXISTS ${view}`, lock: 'none', note: 'remove the version view' });
  }
  const dropSchema: PlannedAction = {
    id: 'drop_version_schema',
    sql: `DROP SCHEMA IF EXISTS ${schema}`,
    lock: 'none',
    note: 'remove the version schema',
    undoes: createSchema,
  };
  const phased = (phase: 'contract' | 'rollback', actions: PlannedAction[]) => actions.map((a) => ({ ...a, id: `${phase}:${a.id}` }));
  return {
    createSchema,
    createViews,
    contract: { views: phased('contract', dropViews), schema: phased('contract', [dropSchema]) },
    rollback: { views: phased('rollback', dropViews), schema: phased('rollback', [dropSchema]) },
  };
}

/**
 * A table dropped at contract stays in its schema for the old application, so
 * a new application whose search_path falls through to that schema would still
 * find it. A view of the same name in the version schema comes first on that
 * path and fails every use with "undefined table" (42P01), as the table will
 * once it is dropped: the new version cannot come to depend on it.
 */
function hideDroppedTables(schema: string, dropped: ModelTable[], createViews: PlannedAction[], dropViews: PlannedAction[]): void {
  if (dropped.length === 0) return;
  const fail = `${schema}.${ident('_bellows_dropped')}`;
  createViews.push({
    id: 'dual_write:dropped_table_function',
    sql:
      `CREATE FUNCTION ${fail}(relation text) RETURNS boolean LANGUAGE plpgsql AS $bellows$ BEGIN ` +
      `RAISE EXCEPTION 'relation "%" does not exist in this version (dropped by a playbook)', relation USING ERRCODE = 'undefined_table'; END $bellows$`,
    lock: 'none',
    note: 'what a dropped table answers to the new version',
  });
  for (const model of dropped) {
    const view = `${schema}.${ident(model.versionName)}`;
    createViews.push({
      id: `dual_write:dropped_table:${tableKey(model.ref)}`,
      sql: `CREATE VIEW ${view} AS SELECT ${fail}(${literal(model.versionName)}) AS dropped`,
      lock: 'none',
      note: `${model.versionName} is gone for the new version`,
    });
    dropViews.push({ id: `drop_view:${tableKey(model.ref)}`, sql: `DROP VIEW IF EXISTS ${view}`, lock: 'none', note: 'remove the dropped table’s stand-in' });
  }
  dropViews.push({ id: 'drop_dropped_table_function', sql: `DROP FUNCTION IF EXISTS ${fail}(text)`, lock: 'none', note: 'remove what the stand-ins called' });
}
