import { z } from 'zod';
import { identifier } from '../playbook/spec-parts.ts';
import { InputError } from '../errors.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineSchemaOperation, type SchemaContext } from './operation.ts';

const SUMMARY = 'raw SQL with its `rollback`, the lock it takes as `plan` shows it, and `in_transaction: false` where it must';

const LOCKS = ['access_exclusive', 'exclusive', 'share_row_exclusive', 'share', 'share_update_exclusive', 'row_exclusive', 'row_share', 'access_share', 'none'] as const;

const spec = z.strictObject({
  schema: identifier.default('public').describe('The schema the statements work in (they should name their objects in full)'),
  up: z.string().min(1).describe('The statements to run'),
  rollback: z.string().min(1).optional().describe('Statements that undo `up`; required when it runs in expand'),
  lock: z.enum(LOCKS).describe('The strongest table lock `up` takes: plan shows it, and the operator judges it'),
  in_transaction: z.boolean().default(true).describe('false for statements that cannot run in a transaction block (CREATE INDEX CONCURRENTLY …); they must be safe to repeat (IF NOT EXISTS), as a resumed run may repeat them'),
  phase: z.enum(['expand', 'contract']).default('expand').describe('expand: additive, before the new version; contract: destructive, after the gate'),
});

type SqlSpec = z.infer<typeof spec>;

/** How plan notes raw SQL: lint knows its statements by these, as the playbook's own, not bellows'. */
export const RAW_SQL_NOTES = { up: 'raw SQL from the playbook', rollback: 'undo the raw SQL' } as const;

function lockLevel(spec: SqlSpec): PlannedAction['lock'] {
  return spec.lock === 'none' ? 'none' : `${spec.lock.replaceAll('_', ' ').toUpperCase()} (as the playbook declares)`;
}

function up(spec: SqlSpec, ctx: SchemaContext): PlannedAction {
  return {
    id: `${spec.phase}:${ctx.index}:sql`,
    sql: spec.up,
    lock: lockLevel(spec),
    note: RAW_SQL_NOTES.up,
    concurrent: !spec.in_transaction,
  };
}

/**
 * The escape hatch, with the same discipline as the rest: it runs under the
 * engine's lock_timeout and retries, in the phase it names, and a change made
 * before contract must say how it is undone. Its statements cannot be checked
 * before they run, so it declares its lock and `plan` shows it.
 */
export const sql = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema }),

  async validate(spec, ctx) {
    if (spec.phase === 'expand' && !spec.rollback) {
      throw new InputError(`operations[${ctx.index}].sql.rollback: Required when the SQL runs in expand: a rollback before contract must be able to undo it (or give phase: contract)`);
    }
    if (spec.phase === 'contract' && spec.rollback) {
      throw new InputError(`operations[${ctx.index}].sql.rollback: contract is final and never rolled back; leave rollback out, or run the SQL in expand`);
    }
  },

  expand: (spec, ctx) => (spec.phase === 'expand' ? [up(spec, ctx)] : []),
  contract: (spec, ctx) => (spec.phase === 'contract' ? [up(spec, ctx)] : []),

  rollback(spec, ctx) {
    if (spec.phase !== 'expand' || !spec.rollback) return [];
    return [
      {
        id: `rollback:${ctx.index}:sql`,
        sql: spec.rollback,
        lock: lockLevel(spec),
        note: RAW_SQL_NOTES.rollback,
        concurrent: !spec.in_transaction,
        undoes: up(spec, ctx),
      },
    ];
  },
});
