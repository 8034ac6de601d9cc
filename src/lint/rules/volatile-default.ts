import { alterCommands, createdEarlier, defineRule } from '../rule.ts';
import { volatileCalls } from '../volatility.ts';

/** Rows above which rewriting the table under ACCESS EXCLUSIVE is an outage rather than a blip. */
export const LARGE_TABLE_ROWS = 10_000;

/**
 * ADD COLUMN with a volatile default (random(), clock_timestamp(), gen_random_uuid())
 * must compute a value per row, so PostgreSQL rewrites the table under ACCESS
 * EXCLUSIVE; a constant or stable default is stored once and costs nothing.
 */
export const volatileDefault = defineRule({
  id: 'volatile-default',
  severity: 'error',
  description: 'ADD COLUMN with a volatile default rewrites a large table under ACCESS EXCLUSIVE',
  async check(subject) {
    const found = [];
    for (const { table, cmd } of alterCommands(subject.statement)) {
      const column = cmd.subtype === 'AT_AddColumn' ? cmd.def?.ColumnDef : undefined;
      const defaults = (column?.constraints ?? []).map((c: any) => c.Constraint).filter((c: any) => c?.contype === 'CONSTR_DEFAULT');
      if (!defaults.length || createdEarlier(subject, table)) continue;
      const volatile = await volatileCalls(defaults, subject.live);
      if (!volatile.length) continue;
      // Without a database (or a table it has not got yet) the size is unknown: a warning, not an error.
      const rows = subject.live ? await subject.live.rows(table) : null;
      if (rows !== null && rows < LARGE_TABLE_ROWS) continue; // small: the rewrite is quick
      found.push({
        severity: rows === null ? ('warning' as const) : undefined,
        message:
          rows === null
            ? `${table}.${column.colname} gets a volatile default (${volatile.join(', ')}()): a rewrite of the table, whose size lint reads only with --database-url`
            : `${table}.${column.colname} gets a volatile default (${volatile.join(', ')}()): a rewrite of ~${rows} rows under ACCESS EXCLUSIVE`,
        safe: 'the add_column operation (the column added without it, SET DEFAULT, a batched backfill)',
      });
    }
    return found;
  },
});
