import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import pino from 'pino';
import { openRun } from '../../src/engine/start.ts';
import { createSteps } from '../../src/engine/steps.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';
import { StateStore } from '../../src/state/store.ts';
import type { CompiledTable } from '../../src/engine/compile.ts';
import { benchPool } from './bench-db.ts';
import { procStatusKb, sleep, start, waitFor, type Child } from './proc.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'src/cli/bin.mjs');
export const PLAYBOOK_NAME = 'bench_abalance_bigint';

/** The playbook of issue 4: abalance int → bigint, with the backfill at the playbook defaults. */
export async function writePlaybook(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bellows-bench-'));
  const path = join(dir, `${PLAYBOOK_NAME}.yaml`);
  await writeFile(
    path,
    [
      `name: ${PLAYBOOK_NAME}`,
      'description: pgbench_accounts.abalance becomes bigint (benchmark)',
      'operations:',
      '  - alter_column:',
      '      table: pgbench_accounts',
      '      column: abalance',
      '      type: bigint',
      '      up: abalance::bigint',
      '      down: abalance::int',
      '',
    ].join('\n'),
  );
  return path;
}

/**
 * Runs bellows' own expand and dual-write steps in this process, so the shadow
 * column and the dual-write trigger are exactly what `bellows start` installs.
 * Returns the compiled table, whose backfill target is what a batch writes.
 */
export async function expandAndDualWrite(url: string, playbookPath: string): Promise<{ runId: string; table: CompiledTable }> {
  const pool = benchPool(url, 4);
  try {
    const store = new StateStore(pool);
    const playbook = await loadPlaybook(playbookPath);
    const { run } = await openRun(pool, store, { playbook, executor: 'local' });
    const steps = createSteps({ db: pool, store, log: pino({ level: 'silent' }) });
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    const table = run.plan.tables.find((t) => t.backfill.length > 0);
    if (!table) throw new Error('the playbook compiled to no backfill');
    return { runId: run.id, table };
  } finally {
    await pool.end();
  }
}

/** `bellows start` as a user runs it, in its own process, with its peak resident set sampled from /proc. */
export interface BellowsProcess extends Child {
  /** Highest VmHWM seen (the kernel's own peak RSS), in kB. */
  peakKb(): number | null;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startBellows(url: string, playbookPath: string, flags: string[] = []): BellowsProcess {
  const child = start(process.execPath, [BIN, 'start', playbookPath, '--no-progress', ...flags], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: url, BELLOWS_LOG_LEVEL: process.env.BELLOWS_LOG_LEVEL ?? 'warn' },
  });
  let peak: number | null = null;
  const sample = () => {
    const hwm = procStatusKb(child.pid, 'VmHWM');
    if (hwm !== null) peak = Math.max(peak ?? 0, hwm);
  };
  const timer = setInterval(sample, 100);
  void child.exited.finally(() => clearInterval(timer));
  return {
    ...child,
    peakKb: () => {
      sample();
      return peak;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return;
      sample();
      child.process.kill(signal);
      const timeout = sleep(60_000).then(() => 'timeout' as const);
      if ((await Promise.race([child.exited, timeout])) === 'timeout') child.process.kill('SIGKILL');
      await child.exited;
    },
  };
}

export interface RunView {
  id: string;
  phase: string;
  status: string;
  error: string | null;
  backfillStartedMs: number | null;
  backfillDoneMs: number | null;
}

export interface RangeView {
  rangeNo: number;
  rowsDone: number;
  batches: number;
  batchSize: number | null;
  done: boolean;
}

/** The latest run of the bench playbook, read from the state store's tables (null before `start` created it). */
export async function readRun(db: pg.Pool): Promise<RunView | null> {
  const { rows } = await db
    .query<RunView>(
      `SELECT id::text AS id, phase, status, error,
              extract(epoch FROM backfill_started_at) * 1000 AS "backfillStartedMs",
              extract(epoch FROM backfill_done_at) * 1000 AS "backfillDoneMs"
         FROM bellows.runs WHERE playbook_name = $1 ORDER BY id DESC LIMIT 1`,
      [PLAYBOOK_NAME],
    )
    .catch((err: { code?: string }) => {
      if (err.code === '42P01' || err.code === '3F000') return { rows: [] as RunView[] }; // state schema not made yet
      throw err;
    });
  const r = rows[0];
  if (!r) return null;
  return { ...r, backfillStartedMs: r.backfillStartedMs === null ? null : Number(r.backfillStartedMs), backfillDoneMs: r.backfillDoneMs === null ? null : Number(r.backfillDoneMs) };
}

export async function readRanges(db: pg.Pool, runId: string): Promise<RangeView[]> {
  const { rows } = await db.query<RangeView>(
    `SELECT range_no AS "rangeNo", rows_done::float8 AS "rowsDone", batches::float8 AS batches, batch_size AS "batchSize", done
       FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill' ORDER BY range_no`,
    [runId],
  );
  return rows;
}

export const sumRows = (ranges: RangeView[]) => ranges.reduce((n, r) => n + r.rowsDone, 0);

/** Fails fast when the bellows process died or the run failed, instead of waiting out a timeout. */
export function checkAlive(proc: BellowsProcess, run: RunView | null): void {
  if (run?.status === 'failed') throw new Error(`run ${run.id} failed: ${run.error}`);
  const exited = proc.process.exitCode !== null || proc.process.signalCode !== null;
  if (exited && !run?.backfillDoneMs) {
    const last = proc.output().trim().split('\n').slice(-3).join(' / ');
    throw new Error(`bellows start exited (${proc.process.exitCode ?? proc.process.signalCode}) before the backfill finished: ${last}`);
  }
}

/** Waits until the backfill of the bench run is done, failing if the process or the run fails first. */
export async function waitBackfillDone(db: pg.Pool, proc: BellowsProcess, timeoutMs: number): Promise<RunView> {
  return waitFor(
    'the backfill to finish',
    async () => {
      const run = await readRun(db);
      if (run?.backfillDoneMs) return run;
      checkAlive(proc, run);
      return undefined;
    },
    timeoutMs,
    100,
  );
}

/** Waits until bellows has no session left on the database: its transactions are over and its statistics flushed. */
export async function waitNoBellowsSessions(db: pg.Pool, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    'bellows sessions to end',
    async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'bellows'`,
      );
      return rows[0].n === 0 ? true : undefined;
    },
    timeoutMs,
    50,
  );
}

/** A generous bound for one backfill on a busy 2-core machine: 1,000 rows/s plus two minutes. */
export const backfillTimeout = (rows: number) => 120_000 + rows;
