import { z } from 'zod';
import { tableKey } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import type { OutputColumn, ViewInfo } from '../catalog/views.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineSchemaOperation, type SchemaContext } from './operation.ts';
import { where } from './validation.ts';
import { claim, dropViewSql, requireQuery, requireView, viewFields, viewQuery, viewSql } from './views.ts';

const SUMMARY =
  "a view's new query: in the new version schema from dual-write on, in place at contract; its columns stay and new ones come at the end (CREATE OR REPLACE VIEW's rule); plain views only";

const spec = z.strictObject({ ...viewFields, query: viewQuery });

type ReplaceViewSpec = z.infer<typeof spec>;

const ref = (spec: ReplaceViewSpec) => ({ schema: spec.schema, name: spec.name });

/** The live view, read at validate: compile fills it in before any phase is planned. */
const current = new WeakMap<ReplaceViewSpec, ViewInfo>();

function live(spec: ReplaceViewSpec): ViewInfo {
  const view = current.get(spec);
  if (!view) throw new Error('replace_view: planned before it was validated');
  return view;
}

const column = (c: OutputColumn | undefined) => (c ? `"${c.name}" ${c.type}` : 'missing');

/** Why CREATE OR REPLACE VIEW would refuse the new columns, or null: the old ones unchanged, in order, and any new ones after them. */
function incompatibility(before: OutputColumn[], after: OutputColumn[]): string | null {
  for (const [i, old] of before.entries()) {
    const now = after[i];
    if (now?.name !== old.name || now.type !== old.type) return `column ${i + 1} would be ${column(now)}, and is ${column(old)}`;
  }
  return null;
}

/** The new definition as the new application sees it until contract: in its version schema, with the view's own options. */
function versionView(spec: ReplaceViewSpec, ctx: SchemaContext): PlannedAction {
  return {
    id: `dual_write:${ctx.index}:replace_view`,
    sql: viewSql('CREATE', { schema: ctx.versionSchema, name: spec.name }, live(spec).options, spec.query),
    lock: 'ACCESS SHARE (reads only)',
    note: `${spec.name} as the new application sees it until contract`,
  };
}

/**
 * The old application reads the view as it is until contract, the new one
 * reads the new definition from its version schema; contract puts the new
 * definition in place (grants, comment and dependent views stay). Replacing
 * it in expand would leave no way back: CREATE OR REPLACE VIEW cannot take
 * the added columns away again.
 */
export const replaceView = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`${spec.schema}.${spec.name}`] }),

  async validate(spec, ctx, probe) {
    claim(ctx, 'replace_view', 'name', ref(spec));
    // Two replaced views of one name (in two schemas) would meet in the one version schema.
    claim(ctx, 'replace_view', 'name', { schema: ctx.versionSchema, name: spec.name });
    const view = await requireView(ctx, 'replace_view', probe, ref(spec));
    if (view.materialized) {
      throw new InputError(`${where(ctx, 'replace_view', 'name')}: ${tableKey(view)} is a materialized view; replace_view replaces plain views only (create_view the new one under another name, then drop_view this one)`);
    }
    const columns = await requireQuery(ctx, 'replace_view', probe, spec.query);
    const why = incompatibility(view.columns, columns);
    if (why) throw new InputError(`${where(ctx, 'replace_view', 'query')}: ${why}; a view keeps its columns, in order, and may only add new ones at the end`);
    current.set(spec, view);
  },

  dualWrite: (spec, ctx) => [versionView(spec, ctx)],

  contract(spec, ctx) {
    const view = live(spec);
    return [
      {
        id: `contract:${ctx.index}:replace_view`,
        sql: viewSql('CREATE OR REPLACE', ref(spec), view.options, spec.query),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `the new definition in place; it was: ${printableLine(view.definition, 400)}`,
      },
      {
        id: `contract:${ctx.index}:replace_view:version`,
        sql: dropViewSql({ schema: ctx.versionSchema, name: spec.name }, false, true),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: 'the new application reads the view in place from now on',
      },
    ];
  },

  rollback(spec, ctx) {
    // The view itself was never touched.
    return [
      {
        id: `rollback:${ctx.index}:replace_view`,
        sql: dropViewSql({ schema: ctx.versionSchema, name: spec.name }, false, true),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove the new version's ${spec.name}`,
        undoes: versionView(spec, ctx),
      },
    ];
  },
});
