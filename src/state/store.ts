import type pg from 'pg';
import { ident } from '../db/sql.ts';
import { withoutPasswords } from '../db/url-password.ts';
import { advisoryXactLock } from '../db/advisory.ts';
import { inTransaction } from '../db/pool.ts';
import { ConflictError, InputError, NotFoundError } from '../errors.ts';
import type { Playbook, Settings } from '../playbook/schema.ts';
import type { CompiledPlan } from '../engine/compile.ts';
import { isSeedRows } from '../operations/operation.ts';
import { DEFAULT_STATE_SCHEMA, migrateState } from './migrate.ts';
import { currentActor } from './actor.ts';
import { batchBucket } from './batch-buckets.ts';
import {
  FINISHED_STATUSES,
  type DesiredState,
  type KeyValue,
  type Phase,
  type RangeRecord,
  type RunRecord,
  type RunStatus,
} from './types.ts';

type Db = pg.Pool | pg.ClientBase;

/**
 * history.run_id of a playbook applied by another tool and imported: the column
 * is NOT NULL without a foreign key, and run ids start at 1, so 0 is no run.
 */
const IMPORTED_RUN_ID = 0;
const runIdOf = (column: string) => `NULLIF(${column}, ${IMPORTED_RUN_ID})::text`;

/** rows/s are the rows committed over this many seconds (0006_rate_window.ts); a batch's buckets are kept a little longer. */
export const RATE_WINDOW_S = 10;
const KEEP_BUCKETS_S = RATE_WINDOW_S + 2;

/**
 * A range's rows/s: the rows of the per-second buckets in the window over the
 * time they cover (the current second only partly), or since its walker claimed
 * it if that is more recent. Null for a range no walker ever claimed.
 */
function windowRate(): string {
  const now = `extract(epoch FROM clock_timestamp())`;
  return `CASE WHEN walk_started_at IS NULL THEN NULL ELSE
    (SELECT coalesce(sum(value::float8), 0) FROM jsonb_each_text(recent) WHERE key::bigint > floor(${now}) - ${RATE_WINDOW_S})
    / greatest(least(${RATE_WINDOW_S - 1} + ${now} - floor(${now}), ${now} - extract(epoch FROM walk_started_at)), 0.5) END`;
}

/** This statement's second, as the key of its bucket; statement_timestamp() is the same wherever the statement reads it. */
const BUCKET = `floor(extract(epoch FROM statement_timestamp()))::bigint::text`;

const RUN_COLUMNS = `id::text AS id, playbook_name AS "playbookName", checksum, playbook, plan, tables, executor, phase, status,
  desired, settings, done_actions AS "doneActions", backfill_started_at AS "backfillStartedAt",
  backfill_done_at AS "backfillDoneAt", verify_started_at AS "verifyStartedAt", verified_at AS "verifiedAt", error, created_at AS "createdAt",
  updated_at AS "updatedAt", finished_at AS "finishedAt", driver, driver_seen_at AS "driverSeenAt",
  (extract(epoch FROM clock_timestamp() - driver_seen_at) * 1000)::float8 AS "driverAgeMs"`;

const RANGE_COLUMNS = `run_id::text AS "runId", task, table_name AS "table", range_no AS "rangeNo", lower_key AS "lowerKey",
  upper_key AS "upperKey", last_key AS "lastKey", rows_done::float8 AS "rowsDone", rows_estimate::float8 AS "rowsEstimate",
  batches::float8 AS batches, batch_size AS "batchSize", throttle, done, error, updated_at AS "updatedAt",
  ${windowRate()} AS "windowRowsPerSec"`;

export interface NewRun {
  playbook: Playbook;
  checksum: string;
  plan: CompiledPlan;
  executor: string;
  settings: Settings;
}

export interface DualWriteFailures {
  rows: number;
  first: { table: string; key: unknown; opIndex: number; message: string } | null;
}

export interface EventRecord {
  id: string;
  runId: string | null;
  at: Date;
  kind: string;
  actor: string;
  detail: Record<string, unknown>;
}

/**
 * The control schema inside the target database: the truth about every run.
 * Executors, the CLI and the dashboard all read and write runs through here.
 */
export class StateStore {
  /** The schema's name quoted for SQL text. */
  readonly schema: string;

  constructor(
    readonly pool: pg.Pool,
    readonly schemaName = DEFAULT_STATE_SCHEMA,
    /** Who the events this store writes name: this process, unless an operator acts through it (withActor). */
    readonly actor = currentActor(),
  ) {
    this.schema = ident(schemaName);
  }

  /** The same store, writing its events in another's name: the server acts for `web <address>`, not for itself. */
  withActor(actor: string): StateStore {
    return new StateStore(this.pool, this.schemaName, actor);
  }

  async migrate(): Promise<void> {
    await migrateState(this.pool, this.schemaName);
  }

  /**
   * Creates a run, or refuses: a playbook already applied with another checksum,
   * or a table that another unfinished run is changing. The check and the insert
   * are one critical section, so two `start`s cannot both win. Passwords in the
   * settings' URLs stay out of the store (db/url-password.ts).
   */
  async createRun(input: NewRun): Promise<RunRecord> {
    return inTransaction(this.pool, async (client) => {
      await advisoryXactLock(client, 'create-run');
      await this.refuseApplied(input.playbook.name, input.checksum, client);
      // The tables it migrates, and the other objects its schema operations change (plans made before claims have none).
      // A seed's staged lines are bellows' own table, not one of the database's: its target is claimed by name already.
      const tables = input.plan.tables.filter((t) => !t.backfill.some(isSeedRows));
      const claimed = [...tables.map((t) => t.name), ...(input.plan.claims ?? [])];
      await this.refuseBusyTables(claimed, client);
      const { rows } = await client.query<RunRecord>(
        `INSERT INTO ${this.schema}.runs (playbook_name, checksum, playbook, plan, tables, executor, phase, status, settings)
         VALUES ($1, $2, $3, $4, $5, $6, 'expand', 'running', $7)
         RETURNING ${RUN_COLUMNS}`,
        [
          input.playbook.name,
          input.checksum,
          { ...input.playbook, settings: withoutPasswords(input.playbook.settings) },
          input.plan,
          claimed,
          input.executor,
          withoutPasswords(input.settings),
        ],
      );
      await this.appendEvent(rows[0].id, 'run_created', { playbook: input.playbook.name, executor: input.executor }, client);
      return rows[0];
    });
  }

  async getRun(id: string, db: Db = this.pool): Promise<RunRecord> {
    const { rows } = await db.query<RunRecord>(`SELECT ${RUN_COLUMNS} FROM ${this.schema}.runs WHERE id = $1`, [id]);
    if (!rows[0]) throw new NotFoundError(`no run ${id}`);
    return rows[0];
  }

  /** A run by id, or the latest run of a playbook by its name. */
  async findRun(ref: string): Promise<RunRecord> {
    const byId = /^\d+$/.test(ref);
    const { rows } = await this.pool.query<RunRecord>(
      byId
        ? `SELECT ${RUN_COLUMNS} FROM ${this.schema}.runs WHERE id = $1`
        : `SELECT ${RUN_COLUMNS} FROM ${this.schema}.runs WHERE playbook_name = $1 ORDER BY id DESC LIMIT 1`,
      [ref],
    );
    if (!rows[0]) throw new NotFoundError(`no run ${byId ? ref : `of playbook ${ref}`} (see bellows status)`);
    return rows[0];
  }

  /** The unfinished run of this playbook, if any: `start` attaches to it instead of starting anew. */
  async activeRunOf(playbookName: string): Promise<RunRecord | null> {
    const { rows } = await this.pool.query<RunRecord>(
      `SELECT ${RUN_COLUMNS} FROM ${this.schema}.runs WHERE playbook_name = $1 AND status <> ALL($2) ORDER BY id DESC LIMIT 1`,
      [playbookName, FINISHED_STATUSES],
    );
    return rows[0] ?? null;
  }

  /** The runs of one executor that should be moving: not finished, and not failed (those wait for the operator's resume). */
  async runsToDrive(executor: string): Promise<RunRecord[]> {
    const { rows } = await this.pool.query<RunRecord>(
      `SELECT ${RUN_COLUMNS} FROM ${this.schema}.runs WHERE executor = $1 AND status <> ALL($2) ORDER BY id`,
      [executor, [...FINISHED_STATUSES, 'failed']],
    );
    return rows;
  }

  async listRuns(limit = 50): Promise<RunRecord[]> {
    const { rows } = await this.pool.query<RunRecord>(
      `SELECT ${RUN_COLUMNS} FROM ${this.schema}.runs ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return rows;
  }

  /** The runs not finished, and those that finished in the last `finishedWithinS` seconds (so their end is seen), oldest first. */
  async recentRuns(finishedWithinS: number): Promise<RunRecord[]> {
    const { rows } = await this.pool.query<RunRecord>(
      `SELECT ${RUN_COLUMNS} FROM ${this.schema}.runs
        WHERE status <> ALL($1) OR finished_at > clock_timestamp() - make_interval(secs => $2) ORDER BY id`,
      [FINISHED_STATUSES, finishedWithinS],
    );
    return rows;
  }

  async setPhase(id: string, phase: Phase, status: RunStatus = 'running', db: Db = this.pool): Promise<void> {
    const { rows } = await db.query<{ phase: Phase; status: RunStatus }>(
      `UPDATE ${this.schema}.runs r SET phase = $2, status = $3, error = NULL, updated_at = now(),
              finished_at = CASE WHEN $3 = ANY($4) THEN now() END
         FROM (SELECT phase, status FROM ${this.schema}.runs WHERE id = $1) old
        WHERE r.id = $1 RETURNING old.phase, old.status`,
      [id, phase, status, FINISHED_STATUSES],
    );
    const before = rows[0];
    if (before && (before.phase !== phase || before.status !== status)) {
      await this.appendEvent(id, 'phase', { from: before.phase, to: phase, status }, db);
    }
  }

  /** A run marked failed counts as one more error (`bellows_errors_total`). */
  async setStatus(id: string, status: RunStatus, error: string | null = null): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.schema}.runs SET status = $2, error = $3, updated_at = now(), errors = errors + CASE WHEN $2 = 'failed' THEN 1 ELSE 0 END
        WHERE id = $1`,
      [id, status, error],
    );
    await this.appendEvent(id, status === 'failed' ? 'failed' : 'status', error ? { status, error } : { status });
  }

  /**
   * The driver's heartbeat: `driver` works on the run now. Ages are measured by the
   * database's clock alone, so clocks that differ between hosts do not matter.
   */
  async beatDriver(id: string, driver: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.schema}.runs SET driver = $2, driver_seen_at = clock_timestamp() WHERE id = $1`, [id, driver]);
  }

  /** The driver lets go (stopped, interrupted, finished); the last time it was seen stays. */
  async releaseDriver(id: string, driver: string): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.schema}.runs SET driver = NULL, driver_seen_at = clock_timestamp() WHERE id = $1 AND driver = $2`,
      [id, driver],
    );
  }

  /** Hands the run to another executor; the old driver's heartbeat no longer speaks for it. */
  async setExecutor(id: string, executor: string): Promise<RunRecord> {
    const before = await this.getRun(id);
    await this.pool.query(`UPDATE ${this.schema}.runs SET executor = $2, driver = NULL, updated_at = now() WHERE id = $1`, [id, executor]);
    await this.appendEvent(id, 'executor_moved', { from: before.executor, to: executor });
    return this.getRun(id);
  }

  /**
   * Reserves `rows` of the run's rows/s cap and returns how long to wait before
   * writing them. The cap is one virtual clock on the run's row, shared by every
   * walker in every process: each reservation moves it on by rows/cap, and starts
   * no earlier than now, so time nobody used is not saved up into a burst.
   */
  async reserveRows(runId: string, rows: number, rowsPerSec: number): Promise<number> {
    const { rows: slot } = await this.pool.query<{ waitMs: number }>(
      `WITH slot AS (
         SELECT greatest(coalesce(rate_budget_at, clock_timestamp()), clock_timestamp()) AS at FROM ${this.schema}.runs WHERE id = $1 FOR UPDATE)
       UPDATE ${this.schema}.runs r SET rate_budget_at = slot.at + make_interval(secs => $2::float8 / $3::float8) FROM slot
        WHERE r.id = $1 RETURNING (extract(epoch FROM slot.at - clock_timestamp()) * 1000)::float8 AS "waitMs"`,
      [runId, rows, rowsPerSec],
    );
    return Math.max(0, slot[0]?.waitMs ?? 0);
  }

  async markActionDone(id: string, actionId: string, db: Db = this.pool): Promise<void> {
    await db.query(
      `UPDATE ${this.schema}.runs SET done_actions = array_append(done_actions, $2), updated_at = now()
        WHERE id = $1 AND NOT ($2 = ANY(done_actions))`,
      [id, actionId],
    );
  }

  async markTimestamp(id: string, column: 'backfill_started_at' | 'backfill_done_at' | 'verify_started_at' | 'verified_at', db: Db = this.pool): Promise<void> {
    await db.query(`UPDATE ${this.schema}.runs SET ${ident(column)} = clock_timestamp(), updated_at = now() WHERE id = $1`, [id]);
  }

  async clearTimestamps(id: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.schema}.runs SET verified_at = NULL WHERE id = $1`, [id]);
  }

  /** Records an operator's intent; drivers read it between batches. */
  async setDesired(id: string, intent: DesiredState, kind: string, detail: Record<string, unknown> = {}): Promise<RunRecord> {
    const patch = intent.tuning ? { ...intent, tuning: withoutPasswords(intent.tuning) } : intent;
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.schema}.runs
          SET desired = desired || $2::jsonb
                        || CASE WHEN $3::jsonb IS NULL THEN '{}'::jsonb
                                ELSE jsonb_build_object('tuning', coalesce(desired->'tuning', '{}'::jsonb) || $3::jsonb) END,
              updated_at = now()
        WHERE id = $1`,
      [id, JSON.stringify({ ...patch, tuning: undefined }), patch.tuning ? JSON.stringify(patch.tuning) : null],
    );
    if (!rowCount) throw new NotFoundError(`no run ${id}`);
    await this.appendEvent(id, kind, { ...detail, ...patch });
    return this.getRun(id);
  }

  async readDesired(id: string): Promise<DesiredState> {
    const { rows } = await this.pool.query<{ desired: DesiredState }>(`SELECT desired FROM ${this.schema}.runs WHERE id = $1`, [id]);
    return rows[0]?.desired ?? {};
  }

  async appendEvent(runId: string | null, kind: string, detail: Record<string, unknown> = {}, db: Db = this.pool): Promise<void> {
    await db.query(`INSERT INTO ${this.schema}.events (run_id, kind, actor, detail) VALUES ($1, $2, $3, $4)`, [
      runId,
      kind,
      this.actor,
      detail,
    ]);
  }

  /**
   * A DDL statement of the run lost the race for its lock and will be tried
   * again: counted on the run (`bellows_lock_timeout_retries_total`) and an
   * event, in one statement.
   */
  async noteLockRetry(runId: string, detail: { action: string; attempt: number }): Promise<void> {
    await this.pool.query(
      `WITH counted AS (UPDATE ${this.schema}.runs SET lock_timeout_retries = lock_timeout_retries + 1 WHERE id = $1)
       INSERT INTO ${this.schema}.events (run_id, kind, actor, detail) VALUES ($1, 'ddl_retry', $2, $3)`,
      [runId, this.actor, detail],
    );
  }

  async events(runId: string, afterId = '0', limit = 200): Promise<EventRecord[]> {
    const { rows } = await this.pool.query<EventRecord>(
      // Ordered by the bigint id: the text the query returns would sort event 10 before event 9.
      `SELECT e.id::text AS id, e.run_id::text AS "runId", e.at, e.kind, e.actor, e.detail FROM ${this.schema}.events e
        WHERE e.run_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3`,
      [runId, afterId, limit],
    );
    return rows;
  }

  /** The run's latest event, or null: what it is doing now when nothing else says (a DDL statement retrying for its lock). */
  async lastEvent(runId: string): Promise<EventRecord | null> {
    const { rows } = await this.pool.query<EventRecord>(
      `SELECT id::text AS id, run_id::text AS "runId", at, kind, actor, detail FROM ${this.schema}.events
        WHERE run_id = $1 ORDER BY id DESC LIMIT 1`,
      [runId],
    );
    return rows[0] ?? null;
  }

  async countEvents(runId: string, kind: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.schema}.events WHERE run_id = $1 AND kind = $2`,
      [runId, kind],
    );
    return rows[0].n;
  }

  // ---- ranges (backfill and verify checkpoints) ----

  async getRanges(runId: string, task: RangeRecord['task'], db: Db = this.pool): Promise<RangeRecord[]> {
    const { rows } = await db.query<RangeRecord>(
      `SELECT ${RANGE_COLUMNS} FROM ${this.schema}.ranges WHERE run_id = $1 AND task = $2 ORDER BY table_name, range_no`,
      [runId, task],
    );
    return rows;
  }

  async getRange(runId: string, task: RangeRecord['task'], table: string, rangeNo: number, db: Db = this.pool): Promise<RangeRecord> {
    const { rows } = await db.query<RangeRecord>(
      `SELECT ${RANGE_COLUMNS} FROM ${this.schema}.ranges WHERE run_id = $1 AND task = $2 AND table_name = $3 AND range_no = $4`,
      [runId, task, table, rangeNo],
    );
    if (!rows[0]) throw new Error(`range ${task}:${table}:${rangeNo} of run ${runId} does not exist`);
    return rows[0];
  }

  /** Creates the ranges of a task once; a resumed run finds them already there and keeps their checkpoints. */
  async createRanges(
    runId: string,
    task: RangeRecord['task'],
    table: string,
    ranges: Array<{ lowerKey: KeyValue | null; upperKey: KeyValue | null; rowsEstimate: number }>,
    db: Db = this.pool,
  ): Promise<void> {
    for (const [rangeNo, r] of ranges.entries()) {
      await db.query(
        `INSERT INTO ${this.schema}.ranges (run_id, task, table_name, range_no, lower_key, upper_key, last_key, rows_estimate)
         VALUES ($1, $2, $3, $4, $5, $6, $5, $7) ON CONFLICT DO NOTHING`,
        [runId, task, table, rangeNo, JSON.stringify(r.lowerKey), JSON.stringify(r.upperKey), Math.round(r.rowsEstimate)],
      );
    }
  }

  /** The batches the deleted ranges counted stay on the run: its histogram of batch durations only grows. */
  async deleteRanges(runId: string, task: RangeRecord['task'], db: Db = this.pool): Promise<void> {
    await db.query(
      `WITH gone AS (DELETE FROM ${this.schema}.ranges WHERE run_id = $1 AND task = $2 RETURNING batch_buckets, batch_micros),
            kept AS (SELECT b.key, sum(b.value::bigint) AS n
                       FROM (SELECT batch_buckets FROM gone UNION ALL SELECT batch_buckets FROM ${this.schema}.runs WHERE id = $1) x,
                            jsonb_each_text(x.batch_buckets) b
                      GROUP BY b.key)
       UPDATE ${this.schema}.runs
          SET batch_buckets = (SELECT coalesce(jsonb_object_agg(key, n), '{}') FROM kept),
              batch_micros = batch_micros + (SELECT coalesce(sum(batch_micros), 0) FROM gone)
        WHERE id = $1`,
      [runId, task],
    );
  }

  /**
   * Makes `owner` the range's only walker: the next fencing token, and the range
   * as it is now. It waits for a batch in flight (which holds the range's row), so
   * the checkpoint it returns is the one the previous walker left.
   */
  async claimRange(range: Pick<RangeRecord, 'runId' | 'task' | 'table' | 'rangeNo'>, owner: string): Promise<{ range: RangeRecord; token: string; previousOwner: string | null }> {
    return inTransaction(this.pool, async (client) => {
      const before = await client.query<{ owner: string | null }>(
        `SELECT lease_owner AS owner FROM ${this.schema}.ranges
          WHERE run_id = $1 AND task = $2 AND table_name = $3 AND range_no = $4 FOR NO KEY UPDATE`,
        [range.runId, range.task, range.table, range.rangeNo],
      );
      // A new walker starts a new rate window: the rows and time of the last one are not its own.
      const { rows } = await client.query<{ token: string }>(
        `UPDATE ${this.schema}.ranges SET lease_token = lease_token + 1, lease_owner = $5, recent = '{}', walk_started_at = clock_timestamp()
          WHERE run_id = $1 AND task = $2 AND table_name = $3 AND range_no = $4 RETURNING lease_token::text AS token`,
        [range.runId, range.task, range.table, range.rangeNo, owner],
      );
      const claimed = await this.getRange(range.runId, range.task, range.table, range.rangeNo, client);
      return { range: claimed, token: rows[0].token, previousOwner: before.rows[0]?.owner ?? null };
    });
  }

  /**
   * Locks a range's row for the batch's transaction: its current upper key, and
   * whether `token` still owns it (a later claim fenced this walker out).
   */
  async lockRange(db: Db, range: Pick<RangeRecord, 'runId' | 'task' | 'table' | 'rangeNo'>, token: string): Promise<{ upperKey: KeyValue; owned: boolean }> {
    const { rows } = await db.query<{ upperKey: KeyValue; owned: boolean }>(
      `SELECT upper_key AS "upperKey", lease_token = $5::bigint AS owned FROM ${this.schema}.ranges
        WHERE run_id = $1 AND task = $2 AND table_name = $3 AND range_no = $4 FOR NO KEY UPDATE`,
      [range.runId, range.task, range.table, range.rangeNo, token],
    );
    return rows[0];
  }

  /** The checkpoint of one batch; called inside the batch's own transaction so both commit or neither. */
  async checkpoint(
    db: Db,
    range: Pick<RangeRecord, 'runId' | 'task' | 'table' | 'rangeNo'>,
    /**
     * `throttle`: what held this batch back (the rows/s cap, whose reason is its name), or null.
     * `seconds`: how long the batch took up to this checkpoint (its commit cannot be counted in the transaction it ends).
     */
    progress: { lastKey: KeyValue | null; rows: number; batchSize: number; done: boolean; throttle: string | null; seconds: number },
  ): Promise<void> {
    // The batch's rows go into this second's bucket; buckets older than the window are dropped.
    // Its duration is counted in its histogram bucket (0007_run_figures.ts).
    await db.query(
      `UPDATE ${this.schema}.ranges
          SET last_key = $5, rows_done = rows_done + $6, batches = batches + 1, batch_size = $7,
              done = $8, throttle = $9, throttle_kind = $9, error = NULL, updated_at = clock_timestamp(),
              batch_buckets = batch_buckets || jsonb_build_object($10::text, coalesce((batch_buckets->>$10::text)::bigint, 0) + 1),
              batch_micros = batch_micros + $11,
              recent = (SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM (
                          SELECT key AS k, value::bigint AS v FROM jsonb_each_text(recent)
                           WHERE key::bigint > ${BUCKET}::bigint - ${KEEP_BUCKETS_S} AND key <> ${BUCKET}
                          UNION ALL
                          SELECT ${BUCKET}, coalesce((recent->>${BUCKET})::bigint, 0) + $6) b)
        WHERE run_id = $1 AND task = $2 AND table_name = $3 AND range_no = $4`,
      [
        range.runId, range.task, range.table, range.rangeNo, JSON.stringify(progress.lastKey), progress.rows, progress.batchSize, progress.done,
        progress.throttle, batchBucket(progress.seconds), Math.round(progress.seconds * 1e6),
      ],
    );
  }

  /**
   * Splits a range at `middle` while its walker may be running. Both lock the
   * range row (the walker at the start of each batch, see lockRange), so a split
   * waits for the batch in flight, and the next batch reads the new, lower upper
   * key. The new range starts at `middle`.
   */
  async splitRange(
    range: Pick<RangeRecord, 'runId' | 'task' | 'table' | 'rangeNo'>,
    middle: KeyValue,
    isAfterCheckpoint: (client: pg.ClientBase, lastKey: KeyValue | null, upperKey: KeyValue) => Promise<boolean>,
  ): Promise<number | null> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ lastKey: KeyValue | null; upperKey: KeyValue; done: boolean; estimate: number; rowsDone: number }>(
        `SELECT last_key AS "lastKey", upper_key AS "upperKey", done, rows_estimate::float8 AS estimate, rows_done::float8 AS "rowsDone"
           FROM ${this.schema}.ranges WHERE run_id = $1 AND task = $2 AND table_name = $3 AND range_no = $4 FOR UPDATE`,
        [range.runId, range.task, range.table, range.rangeNo],
      );
      const current = rows[0];
      if (!current || current.done || !(await isAfterCheckpoint(client, current.lastKey, current.upperKey))) return null;
      const half = Math.max(0, (current.estimate - current.rowsDone) / 2);
      const next = await client.query<{ n: number }>(
        `SELECT coalesce(max(range_no), -1) + 1 AS n FROM ${this.schema}.ranges WHERE run_id = $1 AND task = $2 AND table_name = $3`,
        [range.runId, range.task, range.table],
      );
      const rangeNo = next.rows[0].n;
      await client.query(
        `UPDATE ${this.schema}.ranges SET upper_key = $5, rows_estimate = rows_done + $6, updated_at = now()
          WHERE run_id = $1 AND task = $2 AND table_name = $3 AND range_no = $4`,
        [range.runId, range.task, range.table, range.rangeNo, JSON.stringify(middle), Math.round(half)],
      );
      await client.query(
        `INSERT INTO ${this.schema}.ranges (run_id, task, table_name, range_no, lower_key, upper_key, last_key, rows_estimate)
         VALUES ($1, $2, $3, $4, $5, $6, $5, $7)`,
        [range.runId, range.task, range.table, rangeNo, JSON.stringify(middle), JSON.stringify(current.upperKey), Math.round(half)],
      );
      await this.appendEvent(range.runId, 'range_split', { table: range.table, task: range.task, range: range.rangeNo, into: rangeNo }, client);
      return rangeNo;
    });
  }

  /** What holds the range now: the throttle's name and its reason, or null when nothing does. */
  async setRangeThrottle(
    range: Pick<RangeRecord, 'runId' | 'task' | 'table' | 'rangeNo'>,
    hold: { name: string; reason: string } | null,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.schema}.ranges SET throttle = $5, throttle_kind = $6, error = NULL, updated_at = now()
        WHERE run_id = $1 AND task = $2 AND table_name = $3 AND range_no = $4`,
      [range.runId, range.task, range.table, range.rangeNo, hold?.reason ?? null, hold?.name ?? null],
    );
  }

  /** A range stopped by an error: on the range, and one more error of its run (`bellows_errors_total`), in one statement. */
  async noteRangeFailure(range: Pick<RangeRecord, 'runId' | 'task' | 'table' | 'rangeNo'>, message: string): Promise<void> {
    await this.pool.query(
      `WITH noted AS (
         UPDATE ${this.schema}.ranges SET throttle = NULL, throttle_kind = NULL, error = $5, updated_at = now()
          WHERE run_id = $1 AND task = $2 AND table_name = $3 AND range_no = $4)
       UPDATE ${this.schema}.runs SET errors = errors + 1 WHERE id = $1`,
      [range.runId, range.task, range.table, range.rangeNo, message],
    );
  }

  // ---- rows the dual-write triggers could not translate ----

  /** How many rows this playbook's triggers let through untranslated, and the first of them. */
  async dualWriteFailures(playbook: string, db: Db = this.pool): Promise<DualWriteFailures> {
    const { rows } = await db.query<{ n: number; table: string | null; key: unknown; opIndex: number | null; message: string | null }>(
      `SELECT count(*) OVER ()::int AS n, table_name AS "table", row_key AS key, op_index AS "opIndex", message
         FROM ${this.schema}.dual_write_failures WHERE playbook_name = $1 ORDER BY first_at LIMIT 1`,
      [playbook],
    );
    const first = rows[0];
    return { rows: first?.n ?? 0, first: first ? { table: first.table!, key: first.key, opIndex: first.opIndex!, message: first.message! } : null };
  }

  /** Forgets the noted rows: all of them, or those last written before `before`. */
  async clearDualWriteFailures(playbook: string, before: Date | null = null, db: Db = this.pool): Promise<void> {
    await db.query(
      `DELETE FROM ${this.schema}.dual_write_failures WHERE playbook_name = $1 AND ($2::timestamptz IS NULL OR last_at < $2)`,
      [playbook, before],
    );
  }

  // ---- history of applied playbooks ----

  /** runId is null for a playbook imported as applied by another tool (`bellows import pgroll --history`). */
  async appliedPlaybook(name: string, db: Db = this.pool): Promise<{ checksum: string; runId: string | null } | null> {
    const { rows } = await db.query<{ checksum: string; runId: string | null }>(
      `SELECT checksum, ${runIdOf('run_id')} AS "runId" FROM ${this.schema}.history WHERE playbook_name = $1`,
      [name],
    );
    return rows[0] ?? null;
  }

  /** Refuses tables (`schema.table`) that an unfinished run is changing. */
  async refuseBusyTables(tables: string[], db: Db = this.pool): Promise<void> {
    const busy = await db.query<{ id: string; playbook_name: string; table: string }>(
      `SELECT r.id::text AS id, r.playbook_name, t AS table
         FROM ${this.schema}.runs r, unnest(r.tables) t
        WHERE r.status <> ALL($1) AND t = ANY($2)
        LIMIT 1`,
      [FINISHED_STATUSES, tables],
    );
    if (busy.rowCount) {
      const b = busy.rows[0];
      // A table is named by itself; any other object a run claims carries its kind (`function public.f`).
      const what = b.table.includes(' ') ? `${b.table} is already being changed` : `table ${b.table} is already being migrated`;
      throw new ConflictError(`${what} by run ${b.id} (${b.playbook_name}); finish or roll it back first`);
    }
  }

  /** Throws if the playbook was applied: unchanged, a conflict; changed since, bad input. */
  async refuseApplied(name: string, checksum: string, db: Db = this.pool): Promise<void> {
    const applied = await this.appliedPlaybook(name, db);
    if (!applied) return;
    const how = applied.runId === null ? 'imported' : `run ${applied.runId}`;
    if (applied.checksum !== checksum) {
      throw new InputError(
        `playbook ${name} was applied (${how}) with a different checksum; an applied playbook must not change, write a new one`,
      );
    }
    throw new ConflictError(`playbook ${name} is already applied (${how})`);
  }

  async recordApplied(db: Db, run: RunRecord): Promise<void> {
    await db.query(`INSERT INTO ${this.schema}.history (playbook_name, checksum, run_id) VALUES ($1, $2, $3)`, [
      run.playbookName,
      run.checksum,
      run.id,
    ]);
  }

  /** A playbook another tool applied, recorded so that bellows refuses to apply it again. */
  async recordImported(db: Db, entry: { playbookName: string; checksum: string; appliedAt: Date }): Promise<void> {
    await db.query(`INSERT INTO ${this.schema}.history (playbook_name, checksum, run_id, applied_at) VALUES ($1, $2, $3, $4)`, [
      entry.playbookName,
      entry.checksum,
      IMPORTED_RUN_ID,
      entry.appliedAt,
    ]);
  }

  /**
   * runId is null for an imported playbook. In name order, or in the order the
   * database got them (ties, several imported at once, by name).
   */
  async history(order: 'name' | 'applied' = 'name'): Promise<Array<{ playbookName: string; checksum: string; runId: string | null; appliedAt: Date }>> {
    const { rows } = await this.pool.query(
      `SELECT playbook_name AS "playbookName", checksum, ${runIdOf('run_id')} AS "runId", applied_at AS "appliedAt"
         FROM ${this.schema}.history ORDER BY ${order === 'applied' ? 'applied_at, playbook_name' : 'playbook_name'}`,
    );
    return rows;
  }
}
