import pino from 'pino';
import type pg from 'pg';
import { StateStore } from '../../src/state/store.ts';
import { parsePlaybook } from '../../src/playbook/load.ts';
import { openRun } from '../../src/engine/start.ts';
import { LocalExecutor } from '../../src/executors/local/local-executor.ts';
import type { RunRecord } from '../../src/state/types.ts';

export const silentLog = pino({ level: 'silent' });

export function engineFor(pool: pg.Pool) {
  const store = new StateStore(pool);
  const executor = new LocalExecutor({ db: pool, store, log: silentLog });
  return {
    store,
    executor,
    /** `directory`: where the files the playbook names are, as if it had been read from a file there. */
    async open(document: unknown, directory?: string): Promise<RunRecord> {
      const { run } = await openRun(pool, store, { playbook: parsePlaybook(document), executor: 'local', directory });
      return run;
    },
    /** Runs a playbook through every phase in this process. */
    async runToEnd(document: unknown, directory?: string): Promise<RunRecord> {
      const run = await this.open(document, directory);
      await executor.drive(run, { stopAtGate: true });
      await store.setDesired(run.id, { approved: true }, 'approve');
      await executor.drive(await store.getRun(run.id), { stopAtGate: true });
      return store.getRun(run.id);
    },
  };
}

/** The table's columns as the catalog shows them: what "exact original schema" means in the tests. */
export async function schemaSnapshot(pool: pg.Pool, table: string) {
  const { rows } = await pool.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table],
  );
  const idx = await pool.query(`SELECT indexdef FROM pg_indexes WHERE schemaname || '.' || tablename = $1 ORDER BY indexname`, [table]);
  const con = await pool.query(`SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY conname`, [table]);
  const trg = await pool.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname`, [table]);
  return { columns: rows, indexes: idx.rows, constraints: con.rows, triggers: trg.rows };
}
