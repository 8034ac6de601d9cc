import { defineRule } from '../rule.ts';

/** VACUUM FULL rewrites the table under ACCESS EXCLUSIVE: nobody reads or writes it meanwhile. */
export const vacuumFull = defineRule({
  id: 'vacuum-full',
  severity: 'error',
  description: 'VACUUM FULL rewrites the table under ACCESS EXCLUSIVE, blocking reads and writes',
  check({ statement: { kind, node } }) {
    const full = kind === 'VacuumStmt' && (node.options ?? []).some((o: any) => o.DefElem?.defname === 'full');
    return full ? [{ message: 'VACUUM FULL holds ACCESS EXCLUSIVE while it rewrites the table', safe: 'plain VACUUM, or pg_repack outside the playbook' }] : [];
  },
});
