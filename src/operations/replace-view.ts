import { z } from 'zod';
import { identifier } from '../playbook/spec-parts.ts';
import { tableKey } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import type { OutputColumn, ViewInfo } from '../catalog/views.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineSchemaOperation, type SchemaContext } from './operation.ts';
import { where } from './validation.ts';
import { materializedPhases, planReplacement, type MaterializedReplacement } from './replace-materialized-view.ts';
import { claim, dropViewSql, requireQuery, requireView, viewFields, viewQuery, viewSql } from './views.ts';

const SUMMARY =
  "a view's new query: in the new version schema from dual-write on, in place at contract; a plain view keeps its columns and adds new ones at the end (CREATE OR REPLACE VIEW's rule); a materialized one is built beside the old (populated, its indexes built again concurrently where their columns remain, or as `indexes` declares) and takes its name at contract";

const spec = z.strictObject({
  ...viewFields,
  query: viewQuery,
  indexes: z
    .array(
      z.strictObject({
        columns: z.array(identifier).min(1).describe('Its columns, of the new query'),
        unique: z.boolean().default(false),
      }),
    )
    .optional()
    .describe("Materialized views: indexes the new view gets besides the old view's own (those whose columns the new query still has), built concurrently before it takes the old one's place"),
});

type ReplaceViewSpec = z.infer<typeof spec>;

const ref = (spec: ReplaceViewSpec) => ({ schema: spec.schema, name: spec.name });

/** What validate found: the live view, and for a materialized one what its replacement is built with. */
type Found = { view: ViewInfo; materialized: null } | { view: ViewInfo; materialized: MaterializedReplacement };

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
function versionView(spec: ReplaceViewSpec, ctx: SchemaContext, view: ViewInfo): PlannedAction {
  return {
    id: `dual_write:${ctx.index}:replace_view`,
    sql: viewSql('CREATE', { schema: ctx.versionSchema, name: spec.name }, view.options, spec.query),
    lock: 'ACCESS SHARE (reads only)',
    note: `${spec.name} as the new application sees it until contract`,
  };
}

/**
 * The old application reads the view as it is until contract, the new one
 * reads the new definition from its version schema; contract puts the new
 * definition in place (grants, comment and dependent views stay). Replacing
 * it in expand would leave no way back: CREATE OR REPLACE VIEW cannot take
 * the added columns away again. A materialized view is built anew beside
 * the old one instead (replace-materialized-view.ts).
 */
export const replaceView = defineSchemaOperation<typeof spec, Found>({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`${spec.schema}.${spec.name}`] }),

  async validate(spec, ctx, probe) {
    claim(ctx, 'replace_view', 'name', ref(spec));
    // Two replaced views of one name (in two schemas) would meet in the one version schema.
    claim(ctx, 'replace_view', 'name', { schema: ctx.versionSchema, name: spec.name });
    const view = await requireView(ctx, 'replace_view', probe, ref(spec));
    if (!view.materialized && spec.indexes) throw new InputError(`${where(ctx, 'replace_view', 'indexes')}: only for materialized views, and ${tableKey(view)} is a plain view`);
    const columns = await requireQuery(ctx, 'replace_view', probe, spec.query);
    // A materialized view is built anew: its columns may change, as long as no other view reads it.
    if (view.materialized) return { view, materialized: await planReplacement(spec, view, columns, ctx, probe) };
    const why = incompatibility(view.columns, columns);
    if (why) throw new InputError(`${where(ctx, 'replace_view', 'query')}: ${why}; a view keeps its columns, in order, and may only add new ones at the end`);
    return { view, materialized: null };
  },

  expand: (spec, ctx, found) => (found.materialized ? materializedPhases.expand(spec, ctx, found.materialized) : []),

  dualWrite: (spec, ctx, found) => (found.materialized ? materializedPhases.dualWrite(spec, ctx) : [versionView(spec, ctx, found.view)]),

  contract(spec, ctx, found) {
    if (found.materialized) return materializedPhases.contract(spec, ctx, found.materialized);
    const { view } = found;
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

  rollback(spec, ctx, found) {
    if (found.materialized) return materializedPhases.rollback(spec, ctx);
    // The view itself was never touched.
    return [
      {
        id: `rollback:${ctx.index}:replace_view`,
        sql: dropViewSql({ schema: ctx.versionSchema, name: spec.name }, false, true),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove the new version's ${spec.name}`,
        undoes: versionView(spec, ctx, found.view),
      },
    ];
  },
});
