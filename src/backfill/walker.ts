import type pg from 'pg';
import type { Logger } from 'pino';
import type { CompiledTable } from '../engine/compile.ts';
import { BATCH_RETRY_CODES, isRetryable, sqlstateOf } from '../db/sqlstate.ts';
import { backoffMs } from '../db/ddl.ts';
import type { StateStore } from '../state/store.ts';
import { effectiveSettings, type KeyValue, type RangeRecord, type RunRecord } from '../state/types.ts';
import { sleep } from '../util/sleep.ts';
import { clampBatch, nextBatchSize, shrinkAfterConflict, type BatchBounds } from './batch-size.ts';
import { keyset, rowToKey, type Keyset } from './keyset.ts';
import { RateLimiter } from './rate-limit.ts';
import { THROTTLES } from './throttles/index.ts';

export interface WalkDeps {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
  /** Set when the executor itself must stop (worker shutdown): the range stops after its batch. */
  signal?: AbortSignal;
  /** Called after every committed batch, e.g. a Temporal heartbeat. */
  onBatch?: (range: RangeRecord) => void;
}

/** What one batch does between two keys, inside the batch's transaction. */
export type BatchWork = (client: pg.ClientBase, where: string, params: unknown[]) => Promise<number>;

export type WalkOutcome = 'done' | 'paused' | 'aborted' | 'stopped';

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
  const { db, store, log } = deps;
  const ks = keyset(table.ref, table.key!);
  let range = start;
  if (range.done) return 'done';
  const limiter = new RateLimiter();
  let run: Pick<RunRecord, 'settings' | 'desired'> = await store.getRun(runId);
  let size = range.batchSize ?? run.settings.batchSize;
  let conflicts = 0;
  let throttledBy: string | null = null;
  let rate: number | null = range.rowsPerSec;

  for (;;) {
    run = { settings: run.settings, desired: await store.readDesired(runId) };
    if (run.desired.abort) return 'aborted';
    if (run.desired.paused) return 'paused';
    if (deps.signal?.aborted) return 'stopped';
    const settings = effectiveSettings(run);
    const bounds: BatchBounds = { targetMs: settings.batchTimeMs, min: settings.minBatchSize, max: settings.maxBatchSize };
    size = clampBatch(size, bounds);

    const reason = await firstThrottle({ db, table, settings });
    if (reason !== throttledBy) {
      await store.setRangeNote(range, { throttle: reason });
      await store.appendEvent(runId, reason ? 'throttle_engaged' : 'throttle_released', {
        table: table.name,
        range: range.rangeNo,
        task: range.task,
        ...(reason ? { reason } : { was: throttledBy }),
      });
      throttledBy = reason;
    }
    if (reason) {
      await sleep(THROTTLE_POLL_MS, deps.signal);
      continue;
    }
    await limiter.take(size, settings.maxRowsPerSec / Math.max(settings.parallelism, 1), deps.signal);

    const started = performance.now();
    const client = await db.connect();
    let committed: { lastKey: KeyValue; rows: number; done: boolean };
    try {
      await client.query('BEGIN');
      // The dual-write triggers skip this transaction's own writes: the batch sets both sides itself.
      await client.query(`SELECT set_config('bellows.backfill', 'on', true), set_config('lock_timeout', $1, true)`, [
        `${settings.lockTimeoutMs}ms`,
      ]);
      const batchUpper = await findBatchUpper(client, ks, range.lastKey, range.upperKey!, size);
      const params: unknown[] = [];
      const where = `${ks.after(range.lastKey, params)} AND ${ks.atMost(batchUpper ?? range.upperKey!, params)}`;
      const rows = await work(client, where, params);
      committed = { lastKey: batchUpper ?? range.upperKey!, rows, done: batchUpper === null };
      const elapsed = performance.now() - started;
      const batchRate = (rows * 1000) / Math.max(elapsed, 1);
      rate = rate === null ? batchRate : rate * 0.7 + batchRate * 0.3;
      await store.checkpoint(client, range, { lastKey: committed.lastKey, rows, batchSize: size, rowsPerSec: rate, done: committed.done });
      await client.query('COMMIT');
      size = nextBatchSize(size, elapsed, bounds);
      conflicts = 0;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (isRetryable(err, BATCH_RETRY_CODES) && conflicts < MAX_CONFLICT_RETRIES) {
        conflicts++;
        size = shrinkAfterConflict(size, bounds);
        log.warn({ table: table.name, range: range.rangeNo, sqlstate: sqlstateOf(err), size }, 'batch lost a lock race; retrying smaller');
        await store.appendEvent(runId, 'batch_retry', { table: table.name, range: range.rangeNo, sqlstate: sqlstateOf(err), batchSize: size });
        await sleep(backoffMs(conflicts), deps.signal);
        continue;
      }
      const message = err instanceof Error ? err.message : String(err);
      await store.setRangeNote(range, { error: message }).catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    range = { ...range, lastKey: committed.lastKey, rowsDone: range.rowsDone + committed.rows, batchSize: size, rowsPerSec: rate, done: committed.done };
    deps.onBatch?.(range);
    if (committed.done) return 'done';
  }
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
  const where = `${ks.after(after, params)} AND ${ks.atMost(upper, params)}`;
  params.push(size - 1);
  const { rows } = await client.query(
    `SELECT ${ks.selectText} FROM ${ks.table} WHERE ${where} ORDER BY ${ks.orderBy} LIMIT 1 OFFSET $${params.length}`,
    params,
  );
  return rows[0] ? rowToKey(rows[0], ks.width) : null;
}

async function firstThrottle(ctx: Parameters<(typeof THROTTLES)[number]['check']>[0]): Promise<string | null> {
  for (const throttle of THROTTLES) {
    if (!throttle.enabled(ctx.settings)) continue;
    try {
      const reason = await throttle.check(ctx);
      if (reason) return reason;
    } catch (err) {
      // A throttle that cannot answer is treated as "wait": failing open would defeat its purpose.
      return `${throttle.name} failed: ${(err as Error).message}`;
    }
  }
  return null;
}
