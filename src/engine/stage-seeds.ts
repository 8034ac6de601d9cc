import type pg from 'pg';
import { ident, qualified } from '../db/sql.ts';
import { advisoryXactLock } from '../db/advisory.ts';
import { inTransaction } from '../db/pool.ts';
import { ConflictError, InputError } from '../errors.ts';
import { isSeedRows, type SeedRows } from '../operations/operation.ts';
import { asText, openSeedFile } from '../operations/seed-file.ts';
import { stagingTable, SEED_LINE } from '../backfill/seed-rows.ts';
import type { StateStore } from '../state/store.ts';
import type { RunRecord } from '../state/types.ts';
import type { CompiledPlan } from './compile.ts';

/**
 * Creates a run whose seeds read files: only the process that `start`s it has
 * the files, so it stages their rows in the state store first, one table per
 * seed, for the backfill to walk wherever it runs. Each seed's table is filled
 * in one transaction, from the file as a stream, and only if the file is still
 * the one the plan checked; the run is created once all are. A crash before
 * leaves no run, and the next start stages again (the table of a run that
 * never came to be is replaced). Two starts of the playbook would stage into
 * the same tables: the second waits for the first here, then finds its run.
 */
export async function createRunWithSeeds(db: pg.Pool, store: StateStore, playbookName: string, plan: CompiledPlan, create: () => Promise<RunRecord>): Promise<RunRecord> {
  const seeds = plan.tables.flatMap((t) => t.backfill.filter(isSeedRows));
  if (seeds.length === 0) return create();
  return inTransaction(db, async (lock) => {
    await advisoryXactLock(lock, `stage:${playbookName}`);
    const active = await store.activeRunOf(playbookName);
    if (active) throw new ConflictError(`playbook ${playbookName} was started meanwhile by run ${active.id}; start it again to attach to that run`);
    for (const seed of seeds) await stage(db, seed);
    return create();
  });
}

async function stage(db: pg.Pool, { seed }: SeedRows): Promise<void> {
  const staging = qualified(seed.staging);
  await inTransaction(db, async (c) => {
    await c.query(`DROP TABLE IF EXISTS ${staging}`);
    await c.query(stagingTable(seed));
    const file = openSeedFile(seed.file, `seed file ${seed.file}`);
    for await (const chunk of file.chunks()) {
      const rows = chunk.map(({ line, values }) => ({ line, row: Object.fromEntries(seed.columns.map((c) => [c.physical, asText(values[c.name] ?? null)])) }));
      await c.query(`INSERT INTO ${staging} (${ident(SEED_LINE)}, row) SELECT (e->>'line')::bigint, e->'row' FROM jsonb_array_elements($1::jsonb) e`, [JSON.stringify(rows)]);
    }
    if (file.digest() !== seed.digest) throw new InputError(`seed file ${seed.file} changed since the plan was made (its SHA-256 differs); start again`);
    // The backfill splits its ranges from the planner's estimate and a sample.
    await c.query(`ANALYZE ${staging}`);
  });
}
