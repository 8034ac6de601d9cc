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
import { qualified } from '../../src/db/sql.ts';
import { columnFills } from '../../src/backfill/backfill-work.ts';
import { benchPool } from './bench-db.ts';
import type { FillTarget } from './check.ts';
import { outputTail, procStatusKb, sleep, start, waitFor, type Child } from './proc.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'src/cli/bin.mjs');

/** One alter_column of a benchmark: `column` of `table` changes type from `from` to `to`, by a cast each way. */
export interface TypeChange {
  /** The playbook's name, also its file name. */
  name: string;
  table: string;
  column: string;
  from: string;
  to: string;
}

/** The change of issue 4: pgbench_accounts.abalance int → bigint. */
export const ABALANCE_BIGINT: TypeChange = { name: 'bench_abalance_bigint', table: 'pgbench_accounts', column: 'abalance', from: 'int', to: 'bigint' };

/** The playbook of a type change, with the backfill at the playbook defaults, in a directory of its own (the caller removes it). */
export async function writePlaybook(change: TypeChange): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bellows-bench-'));
  const path = join(dir, `${change.name}.yaml`);
  await writeFile(
    path,
    [
      `name: ${change.name}`,
      `description: ${change.table}.${change.column} becomes ${change.to} (benchmark)`,
      'operations:',
      '  - alter_column:',
      `      table: ${change.table}`,
      `      column: ${change.column}`,
      `      type: ${change.to}`,
      `      up: ${change.column}::${change.to}`,
      `      down: ${change.column}::${change.from}`,
      '',
    ].join('\n'),
  );
  return path;
}

type SetupStep = 'expand' | 'dualWrite';

/**
 * Runs bellows' own setup steps in this process, so the schema is exactly what
 * `bellows start` leaves before its backfill. Returns the compiled table, whose
 * backfill target is what a batch writes.
 */
async function setUp(url: string, playbookPath: string, stepsToRun: SetupStep[]): Promise<{ runId: string; table: CompiledTable }> {
  const pool = benchPool(url, 4);
  try {
    const store = new StateStore(pool);
    const playbook = await loadPlaybook(playbookPath);
    const { run } = await openRun(pool, store, { playbook, executor: 'local' });
    const steps = createSteps({ db: pool, store, log: pino({ level: 'silent' }) });
    for (const step of stepsToRun) await steps[step](run.id);
    const table = run.plan.tables.find((t) => t.backfill.length > 0);
    if (!table) throw new Error('the playbook compiled to no backfill');
    return { runId: run.id, table };
  } finally {
    await pool.end();
  }
}

/** The shadow column added, nothing else: no trigger yet (the table the bare UPDATE of the physical limit runs on). */
export const expandOnly = (url: string, playbookPath: string) => setUp(url, playbookPath, ['expand']);

/** The shadow column and the dual-write trigger, as the backfill finds them. */
export const expandAndDualWrite = (url: string, playbookPath: string) => setUp(url, playbookPath, ['expand', 'dualWrite']);

/** What a batch writes into the table (the bench's playbooks have one backfilled column). */
export function fillTargetOf(table: CompiledTable): FillTarget {
  const [target] = columnFills(table.backfill);
  return { table: qualified(table.ref), column: target.column, expression: target.expression };
}

/** The fill target of a run, from the plan it stored. */
export async function runFillTarget(db: pg.Pool, runId: string): Promise<FillTarget> {
  const run = await new StateStore(db).getRun(runId);
  const table = run.plan.tables.find((t) => t.backfill.length > 0);
  if (!table) throw new Error(`run ${runId} has no backfill`);
  return fillTargetOf(table);
}

/** A bellows command as a user runs it, in its own process, with its peak resident set sampled from /proc. */
export interface BellowsProcess extends Child {
  /** What it is, for messages: `bellows start`, `bellows worker`. */
  name: string;
  /** Highest VmHWM seen (the kernel's own peak RSS), in kB. */
  peakKb(): number | null;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function spawnBellows(url: string, args: string[], env: NodeJS.ProcessEnv = {}): BellowsProcess {
  const child = start(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env, DATABASE_URL: url, BELLOWS_LOG_LEVEL: process.env.BELLOWS_LOG_LEVEL ?? 'warn' },
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
    name: `bellows ${args[0]}`,
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

/** `bellows start <playbook> --no-progress` with these flags (and environment, e.g. REDIS_URL). */
export function startBellows(url: string, playbookPath: string, flags: string[] = [], env: NodeJS.ProcessEnv = {}): BellowsProcess {
  return spawnBellows(url, ['start', playbookPath, '--no-progress', ...flags], env);
}

/** `bellows worker --executor bullmq` on the database, returned once it says it serves it; stopped (SIGTERM: it drains) by the caller. */
export async function startBullmqWorker(url: string, redisUrl: string, concurrency: number): Promise<BellowsProcess> {
  const worker = spawnBellows(url, ['worker', '--executor', 'bullmq', '--concurrency', String(concurrency)], { REDIS_URL: redisUrl });
  try {
    await waitFor(
      'the BullMQ worker to serve the database',
      async () => {
        checkAlive(worker, null);
        return worker.output().includes('worker serving') ? true : undefined;
      },
      60_000,
      50,
    );
  } catch (err) {
    await worker.stop('SIGKILL');
    throw err;
  }
  return worker;
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
  /** The range's last checkpoint (clock_timestamp() of its last batch), in ms since the epoch. */
  checkpointMs: number;
}

/**
 * The latest run in the bench database, read from the state store's tables (null
 * before `start` created it). Every measurement has a fresh database and one
 * playbook, so the latest run is that playbook's.
 */
export async function readRun(db: pg.Pool): Promise<RunView | null> {
  const { rows } = await db
    .query<RunView>(
      `SELECT id::text AS id, phase, status, error,
              extract(epoch FROM backfill_started_at) * 1000 AS "backfillStartedMs",
              extract(epoch FROM backfill_done_at) * 1000 AS "backfillDoneMs"
         FROM bellows.runs ORDER BY id DESC LIMIT 1`,
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
    `SELECT range_no AS "rangeNo", rows_done::float8 AS "rowsDone", batches::float8 AS batches, batch_size AS "batchSize", done,
            extract(epoch FROM updated_at)::float8 * 1000 AS "checkpointMs"
       FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill' ORDER BY range_no`,
    [runId],
  );
  return rows;
}

export const sumRows = (ranges: RangeView[]) => ranges.reduce((n, r) => n + r.rowsDone, 0);

/** Fails fast when a bellows process died or the run failed, instead of waiting out a timeout. */
export function checkAlive(procs: BellowsProcess | BellowsProcess[], run: RunView | null): void {
  if (run?.status === 'failed') throw new Error(`run ${run.id} failed: ${run.error}`);
  for (const proc of [procs].flat()) {
    const exited = proc.process.exitCode !== null || proc.process.signalCode !== null;
    if (!exited || run?.backfillDoneMs) continue;
    // A crash's stack trace ends in "Node.js v…": the line naming the error says more than the last lines.
    const lines = proc.output().trim().split('\n');
    const error = [...lines].reverse().find((l) => /^\w*Error\b|"err"|\berror:/i.test(l.trim()));
    const said = error ? outputTail(error) : outputTail(lines.slice(-3).join('\n'));
    throw new Error(`${proc.name} exited (${proc.process.exitCode ?? proc.process.signalCode}) before the backfill finished: ${said}`);
  }
}

/** Waits until the backfill of the bench run is done, failing if one of the processes or the run fails first. */
export async function waitBackfillDone(db: pg.Pool, procs: BellowsProcess | BellowsProcess[], timeoutMs: number): Promise<RunView> {
  return waitFor(
    'the backfill to finish',
    async () => {
      const run = await readRun(db);
      if (run?.backfillDoneMs) return run;
      checkAlive(procs, run);
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
