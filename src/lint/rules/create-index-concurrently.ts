import { createdEarlier, defineRule, tableOf } from '../rule.ts';

/** A plain CREATE INDEX (or REINDEX) holds a SHARE lock for the whole build: every write to the table waits. */
export const createIndexConcurrently = defineRule({
  id: 'create-index-concurrently',
  severity: 'error',
  description: 'CREATE INDEX or REINDEX without CONCURRENTLY blocks writes for the whole build',
  check({ statement, ...subject }) {
    const { kind, node } = statement;
    if (kind === 'IndexStmt' && !node.concurrent && !createdEarlier({ statement, ...subject }, tableOf(node.relation))) {
      return [{ message: `CREATE INDEX on ${tableOf(node.relation)} without CONCURRENTLY blocks writes until the index is built`, safe: 'CREATE INDEX CONCURRENTLY (in_transaction: false), or the create_index operation' }];
    }
    const concurrently = (node.params ?? []).some((p: any) => p.DefElem?.defname === 'concurrently');
    if (kind === 'ReindexStmt' && !concurrently) {
      return [{ message: 'REINDEX without CONCURRENTLY blocks writes (and reads through the index) until it is done', safe: 'REINDEX ... CONCURRENTLY (in_transaction: false)' }];
    }
    return [];
  },
});
