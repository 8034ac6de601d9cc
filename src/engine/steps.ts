import type pg from 'pg';
import type { Logger } from 'pino';
import { withLockRetry, type LockPolicy } from '../db/ddl.ts';
import { inTransaction } from '../db/pool.ts';
import { RunFailedError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import type { StateStore } from '../state/store.ts';
import { effectiveSettings, type RangeRecord, type RunRecord } from '../state/types.ts';
import { keyBetween, middleKey, splitRanges } from '../backfill/ranges.ts';
import { walkRange, type WalkOutcome } from '../backfill/walker.ts';
import { backfillWork } from '../backfill/backfill-work.ts';
import { verifyWork } from '../verify/verify-range.ts';
import { lockRetryNote, runActions } from './run-actions.ts';
import type { CompiledTable } from './compile.ts';
import { keepAppliedSnapshot } from '../snapshot/live.ts';

export interface EngineDeps {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
  signal?: AbortSignal;
  onBatch?: (range: RangeRecord) => void;
}

/** Identifies one range step: `backfill:public.users:3`. */
export interface RangeRef {
  task: RangeRecord['task'];
  table: string;
  rangeNo: number;
}

export function rangeStepId(ref: RangeRef): string {
  return `${ref.task}:${ref.table}:${ref.rangeNo}`;
}

function lockPolicy(run: RunRecord): LockPolicy {
  const s = effectiveSettings(run);
  return { lockTimeoutMs: s.lockTimeoutMs, retries: s.retries };
}

function tableOf(run: RunRecord, name: string): CompiledTable {
  const table = run.plan.tables.find((t) => t.name === name);
  if (!table) throw new Error(`run ${run.id} has no table ${name}`);
  return table;
}

/**
 * The steps of a run. Each is idempotent and keeps its progress in the state
 * store, so it can be killed at any instant and started again, here or in
 * another process. Executors decide only where and when they run: the local
 * executor calls them in order, the Temporal workflow calls them as activities.
 */
export function createSteps(deps: EngineDeps) {
  const { db, store } = deps;

  async function actionsStep(runId: string, phase: 'expand' | 'dual_write') {
    const run = await store.getRun(runId);
    await store.setPhase(runId, phase);
    await runActions(deps, run, phase === 'expand' ? run.plan.expand : run.plan.dualWrite, lockPolicy(run));
  }

  /** Splits each table's key space once; later calls return the ranges already there. */
  async function prepareRanges(runId: string, task: RangeRecord['task']): Promise<RangeRef[]> {
    const run = await store.getRun(runId);
    const existing = await store.getRanges(runId, task);
    const wanted = run.plan.tables.filter((t) => (task === 'backfill' ? t.backfill.length : t.verify.length) > 0);
    if (existing.length === 0) {
      const parallelism = effectiveSettings(run).parallelism;
      for (const table of wanted) {
        const ranges = await splitRanges(db, table, parallelism);
        await store.createRanges(runId, task, table.name, ranges);
      }
      await store.appendEvent(runId, `${task}_ranges`, { tables: wanted.map((t) => t.name), parallelism });
    }
    const ranges = existing.length ? existing : await store.getRanges(runId, task);
    return ranges.filter((r) => !r.done).map((r) => ({ task, table: r.table, rangeNo: r.rangeNo }));
  }

  async function walk(runId: string, ref: RangeRef, shouldYield?: () => boolean): Promise<WalkOutcome> {
    const run = await store.getRun(runId);
    const table = tableOf(run, ref.table);
    const range = await store.getRange(runId, ref.task, ref.table, ref.rangeNo);
    const onRepair = (rows: number) => store.appendEvent(runId, 'verify_repaired', { table: table.name, range: ref.rangeNo, rows });
    const work = ref.task === 'backfill' ? backfillWork(table) : verifyWork(table, onRepair);
    return walkRange({ ...deps, shouldYield }, runId, table, range, work);
  }

  /**
   * Raising parallelism above the number of unfinished ranges splits the
   * largest remaining ranges in two, so the new workers have work at once.
   * Returns the ranges created.
   */
  async function rebalance(runId: string, task: RangeRecord['task']): Promise<RangeRef[]> {
    const run = await store.getRun(runId);
    const wanted = effectiveSettings(run).parallelism;
    const created: RangeRef[] = [];
    let open = (await store.getRanges(runId, task)).filter((r) => !r.done);
    while (open.length > 0 && open.length < wanted) {
      const largest = open.reduce((a, b) => (a.rowsEstimate - a.rowsDone >= b.rowsEstimate - b.rowsDone ? a : b));
      const table = tableOf(run, largest.table);
      const middle = await middleKey(db, table, largest.lastKey, largest.upperKey!, largest.rowsEstimate - largest.rowsDone);
      const rangeNo = middle ? await store.splitRange(largest, middle, keyBetween(table, middle)) : null;
      if (rangeNo === null) break;
      created.push({ task, table: largest.table, rangeNo });
      open = (await store.getRanges(runId, task)).filter((r) => !r.done);
    }
    return created;
  }

  /**
   * The run as it is now, its row locked until `c`'s transaction ends. Contract
   * and rollback both take it, so one of them always sees the other's outcome:
   * a rolled-back run is never contracted, a contracted one never rolled back.
   */
  async function lockedRun(c: pg.ClientBase, runId: string): Promise<RunRecord> {
    await c.query(`SELECT 1 FROM ${store.schema}.runs WHERE id = $1 FOR UPDATE`, [runId]);
    return store.getRun(runId, c);
  }

  function refuseIfRollingBack(run: RunRecord): void {
    if (run.phase === 'rollback' || run.desired.abort) {
      throw new RunFailedError(
        `run ${run.id}: contract refused: the run ${run.status === 'rolled_back' ? 'was rolled back' : 'is being rolled back'}`,
        run.id,
      );
    }
  }

  /**
   * Refuses while the dual-write triggers have let application writes through
   * untranslated (their `up` or `down` raised): verify cannot vouch for those
   * rows and contract would make them permanent.
   */
  async function refuseUntranslated(run: RunRecord, what: string, c: pg.ClientBase | pg.Pool = db): Promise<void> {
    const failures = await store.dualWriteFailures(run.playbookName, c);
    if (!failures.first) return;
    const { table, key, opIndex, message } = failures.first;
    throw new RunFailedError(
      `run ${run.id}: ${what} refused: the dual-write trigger could not translate ${failures.rows} application write(s), first ${table} ${printableLine(JSON.stringify(key), 60)} (operations[${opIndex}]: ${printableLine(message, 100)}); correct those rows, then bellows resume ${run.id} --repair, or roll back`,
      run.id,
    );
  }

  /** The playbook is applied: recorded in the history, the run done. */
  async function finishContract(c: pg.ClientBase, run: RunRecord): Promise<void> {
    await store.recordApplied(c, run);
    await store.setPhase(run.id, 'done', 'completed', c);
  }

  async function allRangesDone(runId: string, task: RangeRecord['task']): Promise<boolean> {
    return (await store.getRanges(runId, task)).every((r) => r.done);
  }

  async function prepareBackfill(runId: string): Promise<RangeRef[]> {
    const run = await store.getRun(runId);
    if (run.phase !== 'backfill') {
      await store.setPhase(runId, 'backfill');
      await store.markTimestamp(runId, 'backfill_started_at');
    }
    return prepareRanges(runId, 'backfill');
  }

  /** Verify always starts over: it proves the table as it is now, after the whole backfill. */
  async function prepareVerify(runId: string): Promise<RangeRef[]> {
    const run = await store.getRun(runId);
    if (!effectiveSettings(run).repair) await refuseUntranslated(run, 'verify');
    if (run.phase !== 'verify') {
      await store.deleteRanges(runId, 'verify');
      // A new verify withdraws the old verdict: until it passes, contract must refuse.
      await store.clearTimestamps(runId);
      await store.markTimestamp(runId, 'verify_started_at');
      await store.setPhase(runId, 'verify');
    }
    return prepareRanges(runId, 'verify');
  }

  return {
    /**
     * The one place a driver writes a run's status (phase changes carry theirs):
     * only a change is written, so asking again is free and adds no event.
     */
    async markStatus(runId: string, status: 'running' | 'paused' | 'awaiting_approval' | 'failed', error: string | null = null): Promise<void> {
      const run = await store.getRun(runId);
      if (run.status !== status || run.error !== error) await store.setStatus(runId, status, error);
    },

    expand: (runId: string) => actionsStep(runId, 'expand'),
    dualWrite: (runId: string) => actionsStep(runId, 'dual_write'),

    prepareBackfill,
    prepareVerify,
    /** The unfinished ranges of the phase's task, split once: what a driver walks next. */
    prepareTask: (runId: string, task: RangeRecord['task']) => (task === 'backfill' ? prepareBackfill(runId) : prepareVerify(runId)),
    /** Walks one range, backfill or verify as its ref says, from its checkpoint. */
    walkRange: walk,
    rebalance,

    async finishBackfill(runId: string): Promise<void> {
      if (!(await allRangesDone(runId, 'backfill'))) throw new RunFailedError(`run ${runId}: backfill is not finished`, runId);
      const run = await store.getRun(runId);
      if (!run.backfillDoneAt) await store.markTimestamp(runId, 'backfill_done_at');
      await store.appendEvent(runId, 'backfill_done', {});
    },


    /** Validates the NOT VALID constraints, then records that this run's data passed verify. */
    async finishVerify(runId: string): Promise<void> {
      if (!(await allRangesDone(runId, 'verify'))) throw new RunFailedError(`run ${runId}: verify is not finished`, runId);
      const run = await store.getRun(runId);
      // Every row has just been proven (and repaired): the rows noted before verify began are right now.
      if (effectiveSettings(run).repair && run.verifyStartedAt) await store.clearDualWriteFailures(run.playbookName, run.verifyStartedAt);
      await refuseUntranslated(run, 'verify');
      await runActions(deps, run, run.plan.verify, lockPolicy(run));
      await store.markTimestamp(runId, 'verified_at');
      const checked = (await store.getRanges(runId, 'verify')).reduce((n, r) => n + r.rowsDone, 0);
      await store.appendEvent(runId, 'verified', { rows: checked });
      await store.setPhase(runId, 'gate', 'awaiting_approval');
    },

    /**
     * The destructive phase, in one short transaction: either the whole new shape
     * is in place and the playbook is recorded as applied, or nothing changed.
     * It refuses to run unless this run's backfill finished and verify passed after it.
     */
    async contract(runId: string): Promise<void> {
      const run = await store.getRun(runId);
      if (run.phase === 'done') return;
      refuseIfRollingBack(run);
      const backfilled = run.backfillDoneAt !== null && (await allRangesDone(runId, 'backfill'));
      const verified = run.verifiedAt !== null && run.backfillDoneAt !== null && run.verifiedAt >= run.backfillDoneAt;
      if (!backfilled || !verified) {
        throw new RunFailedError(
          `run ${runId}: contract refused: ${!backfilled ? 'the backfill has not finished' : 'verify has not passed since the backfill'}; resume the run or roll it back`,
          runId,
        );
      }
      await store.setPhase(runId, 'contract');
      // Statements that cannot run in a transaction block (DROP INDEX CONCURRENTLY) follow the transaction,
      // and the run is recorded done only after them: each is idempotent, so a resumed contract repeats them.
      const later = run.plan.contract.filter((a) => a.concurrent);
      const client = await db.connect();
      try {
        await withLockRetry(client, lockPolicy(run), async (c) => {
          const now = await lockedRun(c, runId);
          refuseIfRollingBack(now);
          for (const action of run.plan.contract) {
            if (action.concurrent || now.doneActions.includes(action.id)) continue;
            await c.query(action.sql);
            await store.markActionDone(runId, action.id, c);
          }
          // Checked after the triggers are gone under this transaction's lock: no write can slip in between.
          await refuseUntranslated(run, 'contract', c);
          if (later.length === 0) await finishContract(c, run);
        }, lockRetryNote(deps, runId, 'contract'));
      } finally {
        client.release();
      }
      if (later.length > 0) {
        await runActions(deps, await store.getRun(runId), later, lockPolicy(run));
        await inTransaction(db, (c) => finishContract(c, run));
      }
      await keepAppliedSnapshot(store, run);
    },

    /** Undoes everything before contract. Every statement is idempotent, so a rollback can itself be resumed. */
    async rollback(runId: string): Promise<void> {
      const run = await store.getRun(runId);
      if (run.status === 'rolled_back') return;
      await inTransaction(db, async (client) => {
        // Read under the run's lock: a contract may commit at any moment until we hold it.
        const locked = await lockedRun(client, runId);
        if (locked.phase === 'done' || locked.doneActions.some((id) => id.startsWith('contract:'))) {
          throw new RunFailedError(`run ${runId} is ${locked.phase === 'done' ? 'completed' : 'contracting'}; contract is final and cannot be rolled back${locked.phase === 'done' ? '' : `: bellows resume ${runId} finishes it`}`, runId);
        }
        await store.setPhase(runId, 'rollback', 'rolling_back', client);
      });
      await runActions(deps, run, run.plan.rollback, lockPolicy(run), false);
      await store.clearDualWriteFailures(run.playbookName);
      await store.setPhase(runId, 'rollback', 'rolled_back');
    },
  };
}

export type Steps = ReturnType<typeof createSteps>;
