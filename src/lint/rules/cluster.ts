import { defineRule } from '../rule.ts';

/** CLUSTER rewrites the table in index order under ACCESS EXCLUSIVE. */
export const cluster = defineRule({
  id: 'cluster',
  severity: 'error',
  description: 'CLUSTER rewrites the table under ACCESS EXCLUSIVE, blocking reads and writes',
  check: ({ statement: { kind } }) =>
    kind === 'ClusterStmt' ? [{ message: 'CLUSTER holds ACCESS EXCLUSIVE while it rewrites the table', safe: 'pg_repack outside the playbook, or leave the order to the planner' }] : [],
});
