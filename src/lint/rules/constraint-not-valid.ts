import { alterCommands, createdEarlier, defineRule } from '../rule.ts';

/**
 * Adding a CHECK or FOREIGN KEY scans the whole table under a lock that blocks
 * writes; NOT VALID adds it at once, and VALIDATE CONSTRAINT scans later under
 * SHARE UPDATE EXCLUSIVE, which lets reads and writes go on. A UNIQUE or
 * PRIMARY KEY builds its index under the lock unless it adopts one built concurrently.
 */
export const constraintNotValid = defineRule({
  id: 'constraint-not-valid',
  severity: 'error',
  description: 'a CHECK or FOREIGN KEY added without NOT VALID, or a UNIQUE/PRIMARY KEY that builds its index under the lock',
  check(subject) {
    const found = [];
    for (const { table, cmd } of alterCommands(subject.statement)) {
      const c = cmd.subtype === 'AT_AddConstraint' ? cmd.def?.Constraint : undefined;
      if (!c || createdEarlier(subject, table)) continue;
      if ((c.contype === 'CONSTR_CHECK' || c.contype === 'CONSTR_FOREIGN') && !c.skip_validation) {
        found.push({
          message: `constraint ${c.conname ?? ''} on ${table} is checked against every row while writes wait`,
          safe: 'ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT (or the create_constraint operation)',
        });
      }
      if ((c.contype === 'CONSTR_UNIQUE' || c.contype === 'CONSTR_PRIMARY') && !c.indexname) {
        found.push({
          message: `constraint ${c.conname ?? ''} on ${table} builds its index while writes wait`,
          safe: 'CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX (or the create_constraint operation)',
        });
      }
    }
    return found;
  },
});
