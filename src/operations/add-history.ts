import { tableKey } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineOperation } from './operation.ts';
import { where } from './validation.ts';
import {
  asOfSignature,
  createAsOfFunction,
  createHistoryIndex,
  createHistoryTable,
  createTrigger,
  createWriter,
  dropHistoryStatements,
  historyBackfill,
  historyCheck,
  historyNames,
  historySpec,
  VALID_FROM,
  VALID_TO,
  verifyHistory,
} from './history-objects.ts';

const SUMMARY =
  'system-versioned history: a history table written by a trigger, the existing rows backfilled as current versions and verified range by range, and <table>_as_of(ts); the columns its trigger names cannot be dropped, renamed or replaced under it';
const KIND = 'add_history';

/**
 * Keeps every version of every row of a table: expand makes the history table,
 * its as-of function and the trigger that writes a version on each change; the
 * backfill copies the rows the trigger has not seen as open versions; verify
 * checks each row against its open version. Contract has nothing to do: the
 * history stays. Rollback drops it all.
 */
export const addHistory = defineOperation({
  spec: historySpec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    const table = ctx.table;
    if (table.created) throw new InputError(`${where(ctx, KIND, 'table')}: the table is created by this same playbook; add its history in a later playbook`);
    if (!table.original.key) {
      throw new InputError(`${where(ctx, KIND, 'table')}: table ${tableKey(table.ref)} has no primary key or unique index over NOT NULL columns; its history keeps versions by key`);
    }
    const period = table.original.columns.find((c) => c.name === VALID_FROM || c.name === VALID_TO);
    if (period) throw new InputError(`${where(ctx, KIND, 'table')}: table ${tableKey(table.ref)} has a column "${period.name}", which the history uses for its period`);
    const names = historyNames(spec, table.ref);
    if (await probe.relationExists(names.history.schema, names.history.name)) {
      throw new InputError(`${where(ctx, KIND, 'history_table')}: ${tableKey(names.history)} already exists`);
    }
    if (await probe.existingFunction(asOfSignature(names))) {
      throw new InputError(`${where(ctx, KIND, 'as_of_function')}: function ${tableKey(names.asOf)}(timestamptz) already exists`);
    }
    // A later operation of this playbook must not drop, rename or replace a column under it.
    table.historyWriter = names.writer.name;
  },

  expand(spec, ctx) {
    const names = historyNames(spec, ctx.table.ref);
    return [createHistoryTable(ctx, names), createHistoryIndex(ctx, names), createAsOfFunction(ctx, names), createWriter(ctx, names), createTrigger(ctx, names)];
  },

  backfill: (spec, ctx) => [historyBackfill(ctx, historyNames(spec, ctx.table.ref))],

  verify(spec, ctx) {
    const names = historyNames(spec, ctx.table.ref);
    return { checks: [historyCheck(ctx, names)], actions: [verifyHistory(ctx, names)] };
  },

  rollback(spec, ctx) {
    const names = historyNames(spec, ctx.table.ref);
    const made = { trigger: createTrigger, writer: createWriter, as_of: createAsOfFunction, table: createHistoryTable };
    return dropHistoryStatements(ctx.table.ref, names).map(({ what, sql }): PlannedAction => ({
      id: `rollback:${ctx.index}:add_history:${what}`,
      sql,
      lock: what === 'trigger' ? 'ACCESS EXCLUSIVE (brief: catalog only)' : 'none',
      note: `remove the history's ${what}`,
      undoes: made[what as keyof typeof made](ctx, names),
    }));
  },
});
