/** Figures from issue 4, measured earlier on this machine's PostgreSQL 15; printed for context, never compared as if measured now. */
export const REFERENCE = [
  'pgroll v0.16.2 backfill: ~25–45k rows/s at 1M rows, ~32k rows/s at 5M rows',
  'single UPDATE over the whole table: ~116–210k rows/s',
  'pgbench TPS during pgroll’s backfill: 41–56% of baseline',
  'pgbench TPS with pgroll’s triggers installed, no backfill: ~15% below baseline',
];
