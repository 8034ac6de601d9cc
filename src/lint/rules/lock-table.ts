import { defineRule } from '../rule.ts';

/** An explicit LOCK TABLE holds its lock until the transaction ends, not just for one statement. */
export const lockTable = defineRule({
  id: 'lock-table',
  severity: 'error',
  description: 'LOCK TABLE holds a lock until the end of the transaction',
  check: ({ statement: { kind } }) =>
    kind === 'LockStmt'
      ? [{ message: 'LOCK TABLE holds its lock until the transaction ends, and every query on the table queues behind it', safe: 'let each statement take the lock it needs; bellows bounds the wait with lock_timeout' }]
      : [],
});
