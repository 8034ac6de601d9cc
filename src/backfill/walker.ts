import type pg from 'pg';
import type { Logger } from 'pino';
import type { CompiledTable } from '../engine/compile.ts';
import { BATCH_RETRY_CODES, isRetryable, sqlstateOf } from '../db/sqlstate.ts';
import { backoffMs } from '../db/ddl.ts';
import type { StateStore } from '../state/store.ts';
import type { Settings } from '../playbook/schema.ts';
import { effectiveSettings, type KeyValue, type RangeRecord } from '../state/types.ts';
import { sleep } from '../util/sleep.ts';
import { clampBatch, nextBatchSize, shrinkAfterConflict, type BatchBounds } from './batch-size.ts';
import { formatKey, keyset, rowToKey, type Keyset } from './keyset.ts';
import { RunFailedError } from '../errors.ts';
import { RATE_CAP_THROTTLE, RateBudget } from './rate-limit.ts';
import { loadPauseMs } from './load-yield.ts';
import { throttleGate, ThrottleStop, type ThrottleHold } from './throttles/index.ts';
import { walkerId } from './walker-id.ts';

export interface WalkDeps {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
  /** Set when the executor itself must stop (worker shutdown): the range stops after its batch. */
  signal?: AbortSignal;
  /** Called after every committed batch, e.g. a Temporal heartbeat. */
  onBatch?: (range: RangeRecord) => void;
  /** Asked between batches: true when the executor wants this range to give its slot back (parallelism lowered). */
  shouldYield?: () => boolean;
}

/** What one batch does between two keys, inside the batch's transaction. */
export type BatchWork = (client: pg.ClientBase, where: string, params: unknown[], settings: Settings) => Promise<number>;

export type WalkOutcome = 'done' | 'paused' | 'aborted' | 'stopped' | 'yielded';

const MAX_CONFLICT_RETRIES = 30;
const THROTTLE_POLL_MS = 500;

/**
 * Walks one key range in batches. Every batch is one short transaction: find the
 * batch's last key with an index-only scan (a bounded OFFSET from the keyset
 * start), do the work between the two keys, and advance the checkpoint. So a
 * crash loses at most the batch in flight, and each batch costs the same at the
 * start of a billion-row table as at its end. Between batches it obeys the
 * operator (pause, abort, tune) and the throttles.
 */
export async function walkRange(
  deps: WalkDeps,
  runId: string,
  table: CompiledTable,
  start: RangeRecord,
  work: BatchWork,
): Promise<WalkOutcome> {
  if (start.done) return 'done';
  const { store } = deps;
  // Whoever walked this range before (an orphaned activity, a driver that lost its
  // lock) is fenced out from here on; go on from the checkpoint it left.
  const claim = await store.claimRange(start, walkerId());
  if (claim.previousOwner && claim.previousOwner !== walkerId()) {
    await store.appendEvent(runId, 'range_claimed', { table: table.name, task: start.task, range: start.rangeNo, from: claim.previousOwner, by: walkerId() });
  }
  if (claim.range.done) return 'done';
  const ks = keyset(table.ref, table.key!);
  const throttles = throttleGate({ db: deps.db, table });
  const budget = new RateBudget(store, runId);
  const initial = await store.getRun(runId);
  let range = claim.range;
  let size = range.batchSize ?? initial.settings.batchSize;
  let tunedSize = initial.desired.tuning?.batchSize;
  let conflicts = 0;
  let throttledBy: string | null = null;
  let capped = false;
  try {
    for (;;) {
      const desired = await store.readDesired(runId);
      if (desired.abort) return 'aborted';
      if (desired.paused) return 'paused';
      if (deps.signal?.aborted) return 'stopped';
      if (deps.shouldYield?.()) return 'yielded';
      const settings = effectiveSettings({ settings: initial.settings, desired });
      if (desired.tuning?.batchSize !== tunedSize) {
        // An operator's batch size replaces the adapted one; adaptation goes on from there.
        tunedSize = desired.tuning?.batchSize;
        if (tunedSize) size = tunedSize;
      }
      const bounds: BatchBounds = { targetMs: settings.batchTimeMs, min: settings.minBatchSize, max: settings.maxBatchSize };
      size = clampBatch(size, bounds);
      // Under a cap a batch is at most its share of one slot, even below the minimum: the cap comes first.
      const batch = settings.maxRowsPerSec > 0 ? Math.min(size, RateBudget.batchLimit(settings.maxRowsPerSec, settings.parallelism)) : size;

      const hold = await throttles.hold(settings).catch(async (err: unknown) => {
        if (!(err instanceof ThrottleStop)) throw err;
        // It would never answer: stop the run like a failed batch, saying what to change.
        await noteFailure(store, runId, range, table, err.problem);
        throw new RunFailedError(`run ${runId} stopped: ${err.problem}; ${err.remedy(runId)}`, runId);
      });
      if ((hold?.reason ?? null) !== throttledBy) {
        await noteThrottle(store, runId, range, table, hold, throttledBy);
        throttledBy = hold?.reason ?? null;
      }
      if (hold) {
        await sleep(THROTTLE_POLL_MS, deps.signal);
        continue;
      }
      const held = await budget.take(batch, settings.maxRowsPerSec, deps.signal);
      if (held !== capped) {
        await store.appendEvent(runId, held ? 'throttle_engaged' : 'throttle_released', { table: table.name, range: range.rangeNo, task: range.task, reason: RATE_CAP_THROTTLE });
        capped = held;
      }
      if (deps.signal?.aborted) return 'stopped';

      const outcome = await runBatch(deps, ks, range, claim.token, batch, settings, work, held ? RATE_CAP_THROTTLE : null);
      if ('fenced' in outcome) {
        deps.log.warn({ table: table.name, range: range.rangeNo }, 'another walker claimed this range; stopping without committing');
        await store.appendEvent(runId, 'range_fenced', { table: table.name, task: range.task, range: range.rangeNo, walker: walkerId() });
        return 'stopped';
      }
      if ('error' in outcome) {
        const err = outcome.error;
        if (isRetryable(err, BATCH_RETRY_CODES) && conflicts < MAX_CONFLICT_RETRIES) {
          conflicts++;
          size = shrinkAfterConflict(size, bounds);
          deps.log.warn({ table: table.name, range: range.rangeNo, sqlstate: sqlstateOf(err), size }, 'batch lost a lock race; retrying smaller');
          await store.appendEvent(runId, 'batch_retry', { table: table.name, range: range.rangeNo, sqlstate: sqlstateOf(err), batchSize: size });
          await sleep(backoffMs(conflicts), deps.signal);
          continue;
        }
        const message = describeBatchError(err, range);
        await noteFailure(store, runId, range, table, message, sqlstateOf(err));
        // Ours (verify's report) as they are; a database error keeps its SQLSTATE, so
        // executors can still tell a lost connection (retry) from bad data (stop).
        if (err instanceof RunFailedError) throw err;
        throw Object.assign(new Error(`${range.task} of ${table.name} stopped: ${message}`), { code: sqlstateOf(err) });
      }
      conflicts = 0;
      // The adaptive size learns from the batches it chose; a batch the cap cut short says little about the database.
      if (batch === size) size = nextBatchSize(size, outcome.elapsedMs, bounds);
      range = outcome.range;
      deps.onBatch?.(range);
      if (range.done) return 'done';
      // No timer when there is nothing to wait for: even a 0 ms one idles the range for about a millisecond a batch.
      const pauseMs = await loadPauseMs(deps.db, outcome.elapsedMs, settings);
      if (pauseMs > 0) await sleep(pauseMs, deps.signal);
    }
  } finally {
    await throttles.close();
  }
}

/**
 * One batch in one short transaction: find its last key, do the work up to it,
 * and advance the checkpoint. Errors are returned, not thrown, so the caller
 * decides between retrying smaller and stopping the range.
 */
async function runBatch(
  deps: WalkDeps,
  ks: Keyset,
  range: RangeRecord,
  token: string,
  size: number,
  settings: Settings,
  work: BatchWork,
  throttle: string | null,
): Promise<{ range: RangeRecord; elapsedMs: number } | { error: unknown } | { fenced: true }> {
  const started = performance.now();
  const client = await deps.db.connect();
  try {
    // The dual-write triggers skip this transaction's own writes: the batch sets both sides itself.
    // Commits stay synchronous: an asynchronous batch commit left its WAL for the
    // application's next commit to flush, and measured no faster (bench, 2026-11-30).
    // One round trip with BEGIN (a simple query, so no parameter: the timeout is a whole number).
    await client.query(
      `BEGIN; SELECT set_config('bellows.backfill', 'on', true), set_config('lock_timeout', '${Math.trunc(settings.lockTimeoutMs)}ms', true)`,
    );
    // Locking the range row first makes a concurrent split or claim wait for this
    // batch, tells this batch where its range ends now (a split may have lowered
    // it), and whether this walker still owns the range (a claim fences it out).
    const { upperKey, owned } = await deps.store.lockRange(client, range, token);
    if (!owned) {
      await client.query('ROLLBACK');
      return { fenced: true };
    }
    const batchUpper = await findBatchUpper(client, ks, range.lastKey, upperKey, size);
    const lastKey = batchUpper ?? upperKey;
    const params: unknown[] = [];
    const rows = await work(client, ks.between(range.lastKey, lastKey, params), params, settings);
    const seconds = (performance.now() - started) / 1000;
    await deps.store.checkpoint(client, range, { lastKey, rows, batchSize: size, done: batchUpper === null, throttle, seconds });
    await client.query('COMMIT');
    // The whole batch, commit included, is what the adaptive size aims at.
    const elapsedMs = performance.now() - started;
    return {
      range: { ...range, lastKey, upperKey, rowsDone: range.rowsDone + rows, batches: range.batches + 1, batchSize: size, throttle, done: batchUpper === null },
      elapsedMs,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    return { error };
  } finally {
    client.release();
  }
}

/** PostgreSQL's message, its detail (often the failing row), and where the batch was. */
function describeBatchError(err: unknown, range: RangeRecord): string {
  if (err instanceof RunFailedError) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  const detail = (err as { detail?: string }).detail;
  return `${message}${detail ? ` (${detail})` : ''}; batch after key ${formatKey(range.lastKey)} of range ${range.rangeNo}`;
}

/** A range that stopped: on the range (status shows it) and in the event log. Best effort: the failure itself matters more. */
async function noteFailure(store: StateStore, runId: string, range: RangeRecord, table: CompiledTable, message: string, sqlstate?: string): Promise<void> {
  await store.noteRangeFailure(range, message).catch(() => {});
  await store.appendEvent(runId, 'range_failed', { table: table.name, range: range.rangeNo, task: range.task, sqlstate, error: message }).catch(() => {});
}

async function noteThrottle(
  store: StateStore,
  runId: string,
  range: RangeRecord,
  table: CompiledTable,
  hold: ThrottleHold | null,
  previous: string | null,
): Promise<void> {
  await store.setRangeThrottle(range, hold);
  await store.appendEvent(runId, hold ? 'throttle_engaged' : 'throttle_released', {
    table: table.name,
    range: range.rangeNo,
    task: range.task,
    ...(hold ? { reason: hold.reason } : { was: previous }),
  });
}

/**
 * The last key of the next batch: `size` keys after the checkpoint, or null when
 * fewer remain before the range's end (then the batch runs to the end).
 */
async function findBatchUpper(
  client: pg.ClientBase,
  ks: Keyset,
  after: KeyValue | null,
  upper: KeyValue,
  size: number,
): Promise<KeyValue | null> {
  const params: unknown[] = [];
  const where = ks.between(after, upper, params);
  params.push(size - 1);
  const { rows } = await client.query(ks.keyAt(where, `$${params.length}`), params);
  return rows[0] ? rowToKey(rows[0], ks.width) : null;
}
