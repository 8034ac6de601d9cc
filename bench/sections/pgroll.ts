import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchDatabases } from '../lib/bench-db.ts';
import { run } from '../lib/proc.ts';

/**
 * Optional side-by-side column: pgroll, if PGROLL_BIN points at a binary already
 * on this machine (the bench never downloads or builds it). pgroll backfills
 * inside `pgroll start`, so its rate is rows ÷ that command's wall time, which
 * also includes its (short) DDL: a slight handicap, stated in the table.
 */
export async function pgrollBackfill(dbs: BenchDatabases, scale: number, bin: string): Promise<{ rows: number; ms: number; rowsPerSec: number }> {
  const url = await dbs.fresh(scale);
  const dir = await mkdtemp(join(tmpdir(), 'bellows-bench-pgroll-'));
  const file = join(dir, '01_bench_abalance_bigint.json');
  await writeFile(
    file,
    JSON.stringify({
      name: '01_bench_abalance_bigint',
      operations: [{ alter_column: { table: 'pgbench_accounts', column: 'abalance', type: 'bigint', up: 'abalance::bigint', down: 'abalance::int' } }],
    }),
  );
  await run(bin, ['init', '--postgres-url', url]);
  await dbs.checkpoint();
  const started = performance.now();
  await run(bin, ['start', file, '--postgres-url', url]);
  const ms = performance.now() - started;
  const rows = scale * 100_000;
  return { rows, ms, rowsPerSec: (rows * 1000) / ms };
}
