import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ident } from '../../src/db/sql.ts';
import { benchPool, type BenchDatabases } from '../lib/bench-db.ts';
import type { TypeChange } from '../lib/bellows.ts';
import { requireFilled } from '../lib/check.ts';
import { outputTail, run } from '../lib/proc.ts';

/** pgroll 0.16's own default for `--backfill-batch-size`. */
export const PGROLL_DEFAULT_BATCH_SIZE = 1000;

export interface PgrollResult {
  batchSize: number;
  rows: number;
  ms: number;
  rowsPerSec: number;
}

/**
 * pgroll speaks to PostgreSQL through lib/pq, which asks for TLS unless told
 * otherwise; node-pg (bellows, the bench) does not. Without an explicit
 * sslmode in DATABASE_URL, pgroll gets the same: none.
 */
function pgrollUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
  return u.toString();
}

/** The table's column types by name, from the catalog. */
async function columnTypes(url: string, table: string): Promise<Map<string, string>> {
  const db = benchPool(url, 1);
  try {
    const { rows } = await db.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
      [table],
    );
    return new Map(rows.map((r) => [r.name, r.type]));
  } finally {
    await db.end();
  }
}

/**
 * Optional side-by-side column: pgroll, if PGROLL_BIN points at a binary already
 * on this machine (the bench never downloads or builds it). The same change as
 * bellows', as a pgroll migration: `init`, then `baseline` (pgroll 0.16's
 * `start` on a non-empty schema without history prints "Run `pgroll baseline`
 * first", changes nothing and exits 0), then `start`.
 *
 * What is timed: `pgroll start` without --complete. It adds pgroll's shadow
 * column and triggers and backfills every row, so it is pgroll's counterpart of
 * bellows' backfill phase plus its (short) DDL and process start, a slight
 * handicap stated in the table. `complete` drops the old column and renames the
 * new one, bellows' contract, which bellows' figure does not include either, so
 * it runs after the clock stops, only to check the outcome.
 *
 * A figure is reported only once pgroll is seen to have changed the column:
 * after `start`, its shadow column holds up(old) in every row; after
 * `complete`, the column's type in the catalog is the new one. Anything else
 * throws, and the section reports the failure.
 */
export async function pgrollBackfill(dbs: BenchDatabases, scale: number, bin: string, change: TypeChange, batchSize: number): Promise<PgrollResult> {
  const url = await dbs.fresh(scale);
  const pgroll = (args: string[]) => run(bin, [...args, '--postgres-url', pgrollUrl(url)]);
  const dir = await mkdtemp(join(tmpdir(), 'bellows-bench-pgroll-'));
  try {
    const up = `${change.column}::${change.to}`;
    // pgroll 0.16 takes the migration's name from its file name and rejects a `name` field.
    const file = join(dir, `01_${change.name}.json`);
    await writeFile(
      file,
      JSON.stringify({ operations: [{ alter_column: { table: change.table, column: change.column, type: change.to, up, down: `${change.column}::${change.from}` } }] }),
    );
    await pgroll(['init']);
    // The baseline's placeholder file goes into the same throwaway directory.
    await pgroll(['baseline', '00_bench_baseline', dir, '--yes']);
    await dbs.checkpoint();
    const started = performance.now();
    const output = await pgroll(['start', file, '--backfill-batch-size', String(batchSize)]);
    const ms = performance.now() - started;

    const shadow = `_pgroll_new_${change.column}`;
    if (!(await columnTypes(url, change.table)).has(shadow)) {
      throw new Error(`pgroll start exited 0 but made no column ${shadow}: ${outputTail(output)}`);
    }
    const db = benchPool(url, 1);
    const rows = await requireFilled(db, { table: ident(change.table), column: shadow, expression: up }, 'pgroll start').finally(() => db.end());

    await pgroll(['complete']);
    const type = (await columnTypes(url, change.table)).get(change.column);
    if (type !== change.to) throw new Error(`after pgroll complete, ${change.table}.${change.column} is ${type ?? 'missing'}, not ${change.to}`);
    return { batchSize, rows, ms, rowsPerSec: (rows * 1000) / ms };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
