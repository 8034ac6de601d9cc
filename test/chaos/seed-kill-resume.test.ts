import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { catalogSnapshot, describe as show, runCli, scratchDir, spawnCli, startedRunId, waitFor } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';
import { RATE_CAP_THROTTLE } from '../../src/backfill/rate-limit.ts';
import { StateStore } from '../../src/state/store.ts';

/**
 * A seed of 50,000 rows from a file, through the CLI: the driver is killed with
 * SIGKILL mid-seed, then the run is resumed from another process, or rolled
 * back. Each batch's upsert, the rows it replaced and its checkpoint commit in
 * one transaction, so after the kill the resumed process must write exactly the
 * lines the killed one had not: not one twice, not one missed. Who wrote a row
 * is read from its xmin: every transaction before the kill has an xid below K
 * (taken once the killed session is gone), every one after it above.
 *
 * The file gives p00001…p50000: the first 2,000 replace a row with other
 * values, the next 3,000 are given as they are (and must not be written at
 * all), the rest are new.
 */

const LINES = 50_000;
const EXISTING = 5_000;
const CHANGED = 2_000;
const HOLD_AT = 15_000;
const SEED = (table: string) => `public.${table} (operations[0].seed_data)`;

let db: TestDatabase;
const files = scratchDir();

async function postcodesTable(table: string) {
  await db.query(`CREATE TABLE ${table} (code text PRIMARY KEY, city text NOT NULL, population int)`);
  await db.query(`INSERT INTO ${table} SELECT 'p' || lpad(g::text, 5, '0'), 'city ' || g, g FROM generate_series(1, ${EXISTING}) g`);
}

function playbook(name: string, table: string): string {
  return files.write(`${name}.yaml`, `name: ${name}\noperations:\n  - seed_data:\n      table: ${table}\n      key: [code]\n      file: postcodes.jsonl\n`);
}

beforeAll(async () => {
  db = await freshDatabase();
  await postcodesTable('postcodes');
  await postcodesTable('postcodes_rb');
  const lines: string[] = [];
  for (let g = 1; g <= LINES; g++) {
    lines.push(JSON.stringify({ code: `p${String(g).padStart(5, '0')}`, city: g <= CHANGED ? `City ${g}` : `city ${g}`, population: g }));
  }
  files.write('postcodes.jsonl', lines.join('\n') + '\n');
});

async function xidNow(): Promise<bigint> {
  const { rows } = await db.query(`SELECT (txid_current() % 4294967296)::text AS x`);
  return BigInt(rows[0].x);
}

async function range(runId: string) {
  const { rows } = await db.query<{ rows_done: number; last_line: number; done: boolean }>(
    `SELECT rows_done::int, (last_key->>0)::int AS last_line, done FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`,
    [runId],
  );
  expect(rows).toHaveLength(1);
  return rows[0];
}

async function tableRows(table: string): Promise<string[]> {
  return (await db.query(`SELECT row_to_json(t)::text AS r FROM ${table} t ORDER BY code`)).rows.map((r) => r.r as string);
}

/** Starts the seed of `table` rate-capped and held at HOLD_AT rows, kills its driver with SIGKILL there; returns the run and its checkpoint. */
async function killMidSeed(name: string, table: string) {
  const hold = await backfillHold(db, SEED(table), HOLD_AT);
  // At 2,000 rows/s a batch of 500 has 250 ms of the cap's time: the cap makes it wait unless
  // writing it took that long (at 5,000 it had 100 ms, which a loaded machine can spend on the batch).
  const driver = spawnCli(
    ['start', playbook(name, table), '--no-progress', '--batch-size', '500', '--max-batch-size', '500', '--max-rows-per-sec', '2000', '--throttle-query', hold.query],
    { db: db.url, timeoutMs: 300_000 },
  );
  const runId = await startedRunId(driver, 120_000);
  await hold.held(runId);
  driver.kill('SIGKILL');
  expect((await driver.exited).signal).toBe('SIGKILL');
  await waitFor('the killed session to end', async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'bellows'`);
    return rows[0].n === 0;
  }, 30_000);
  const atKill = await range(runId);
  expect(atKill.done).toBe(false);
  expect(atKill.rows_done).toBeGreaterThanOrEqual(HOLD_AT);
  expect(atKill.rows_done).toBeLessThan(LINES);
  // Lines are walked in order: the checkpoint is the last line done.
  expect(atKill.last_line).toBe(atKill.rows_done);
  return { runId, atKill, hold };
}

describe('kill -9 mid-seed of 50,000 rows from a file', () => {
  it('resumes from the checkpoint: every line written exactly once, the rows exact', async () => {
    const x0 = await xidNow();
    const { runId, atKill, hold } = await killMidSeed('seed_postcodes', 'postcodes');
    const k = await xidNow();
    // The rate cap held the seed's batches back, as it does a backfill's.
    const capped = await db.query(`SELECT count(*)::int AS n FROM bellows.events WHERE run_id = $1 AND kind = 'throttle_engaged' AND detail->>'reason' = $2 AND detail->>'table' = $3`, [
      runId,
      RATE_CAP_THROTTLE,
      SEED('postcodes'),
    ]);
    expect(capped.rows[0].n).toBeGreaterThan(0);

    await hold.release();
    const tuned = await runCli(['tune', runId, '--max-rows-per-sec', '0', '--max-batch-size', '5000'], { db: db.url });
    expect(tuned.code, show(tuned)).toBe(0);
    const resumed = await runCli(['resume', runId, '--no-progress'], { db: db.url });
    expect(resumed.code, show(resumed)).toBe(0);
    expect(resumed.stdout).toContain(`bellows approve ${runId}`);
    expect(await range(runId)).toMatchObject({ rows_done: LINES, done: true });

    // At the gate the staged lines are still there, each with what its batch replaced.
    const { rows: accounting } = await db.query(
      `SELECT count(*) FILTER (WHERE s._bellows_line <= $1 AND x >= $3)::int AS rewritten,
              count(*) FILTER (WHERE s._bellows_line <= $1 AND changed AND x >= $2 AND x < $3)::int AS before_kill,
              count(*) FILTER (WHERE s._bellows_line > $1 AND changed AND x >= $3)::int AS after_kill,
              count(*) FILTER (WHERE NOT changed AND x >= $2)::int AS equal_written,
              count(*) FILTER (WHERE s.existed)::int AS replaced,
              count(*) FILTER (WHERE s.existed IS NOT NULL)::int AS staged
         FROM bellows.seed_seed_postcodes_0 s
         JOIN LATERAL (SELECT p.xmin::text::bigint AS x, s._bellows_line <= ${CHANGED} OR s._bellows_line > ${EXISTING} AS changed
                         FROM postcodes p WHERE p.code = s.row->>'code') p ON true`,
      [atKill.last_line, String(x0), String(k)],
    );
    const changedUpTo = (line: number) => Math.min(line, CHANGED) + Math.max(0, line - EXISTING);
    expect(accounting[0]).toEqual({
      rewritten: 0,
      before_kill: changedUpTo(atKill.last_line),
      after_kill: changedUpTo(LINES) - changedUpTo(atKill.last_line),
      equal_written: 0,
      replaced: EXISTING,
      staged: LINES,
    });

    const approved = await runCli(['approve', runId], { db: db.url });
    expect(approved.code, show(approved)).toBe(0);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE e.code IS NULL OR (p.city, p.population) IS DISTINCT FROM (e.city, e.population))::int AS wrong
         FROM postcodes p FULL JOIN (SELECT 'p' || lpad(g::text, 5, '0') AS code, CASE WHEN g <= ${CHANGED} THEN 'City ' ELSE 'city ' END || g AS city, g AS population
                                      FROM generate_series(1, ${LINES}) g) e ON e.code = p.code`,
    );
    expect(rows[0]).toEqual({ n: LINES, wrong: 0 });
    expect((await db.query(`SELECT to_regclass('bellows.seed_seed_postcodes_0') AS staging`)).rows).toEqual([{ staging: null }]);
  });

  it('rolled back after the kill: the table exactly as before, nothing of the seed left', async () => {
    // What exists before the run besides the table: the state schema, and the test's own hold.
    await new StateStore(db.pool).migrate();
    await backfillHold(db, SEED('postcodes_rb'), HOLD_AT);
    const before = { rows: await tableRows('postcodes_rb'), catalog: await catalogSnapshot(db.pool) };
    const { runId } = await killMidSeed('seed_postcodes_rb', 'postcodes_rb');
    expect(await tableRows('postcodes_rb')).not.toEqual(before.rows);
    const rolledBack = await runCli(['rollback', runId], { db: db.url });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    expect(await tableRows('postcodes_rb')).toEqual(before.rows);
    expect(await catalogSnapshot(db.pool)).toEqual(before.catalog);
  });
});
