import { describe, expect, it } from 'vitest';
import { linkUndone, type PlannedAction } from '../../src/engine/action.ts';

const add: PlannedAction = { id: 'expand:0:add_column', sql: 'ALTER TABLE t ADD COLUMN c int', lock: 'ACCESS EXCLUSIVE (brief: catalog only)', note: '' };
const drop = (undoes: PlannedAction): PlannedAction => ({ id: 'rollback:0:drop_column', sql: 'ALTER TABLE t DROP COLUMN IF EXISTS c', lock: 'none', note: '', undoes });

describe('undo links in a plan', () => {
  it('become the id of the action undone, which the run records', () => {
    expect(linkUndone([drop(add)], [add])).toEqual([{ ...drop(add), undoes: 'expand:0:add_column' }]);
  });

  it('stop the plan when the action undone is not in it, instead of skipping the rollback step', () => {
    const stray = { ...add, id: 'expand:1:add_column' };
    expect(() => linkUndone([drop(stray)], [add])).toThrow('plan: rollback:0:drop_column undoes expand:1:add_column, which this plan does not create');
  });
});
