import { tableKey } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { where } from './validation.ts';
import { dropHistoryStatements, historyNames, historySpec } from './history-objects.ts';

const SUMMARY = 'the history add_history made (trigger, functions, history table) kept until contract, then dropped';
const KIND = 'drop_history';

/**
 * The history keeps being written until contract (the old application's
 * changes still get their versions), then its trigger, functions and table go
 * in contract's one short transaction. Found by the names add_history gave them.
 */
export const dropHistory = defineOperation({
  spec: historySpec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    const names = historyNames(spec, ctx.table.ref);
    if (!(await probe.table(names.history))) {
      throw new InputError(`${where(ctx, KIND, 'history_table')}: table ${tableKey(ctx.table.ref)} has no history: ${tableKey(names.history)} does not exist`);
    }
  },

  contract(spec, ctx) {
    return dropHistoryStatements(ctx.table.ref, historyNames(spec, ctx.table.ref)).map(({ what, sql }) => ({
      id: `contract:${ctx.index}:drop_history:${what}`,
      sql,
      lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
      note: `drop the history's ${what}`,
    }));
  },
});
