import type pg from 'pg';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { EnvironmentError } from '../../errors.ts';
import type { StateStore } from '../../state/store.ts';
import type { RunRecord } from '../../state/types.ts';
import type { DriverProbe } from '../../state/liveness.ts';
import { databaseIdentity } from '../../state/identity.ts';
import type { DriveOutcome, Executor, Intent } from '../executor.ts';
import { probeRunLock } from '../run-lock.ts';
import { commandConnection, redisAddress, type BullmqSettings } from './config.ts';
import { BULLMQ, RunQueues, driverJobId } from './queues.ts';

/**
 * Hands runs to a fleet of BullMQ workers (`bellows worker --executor bullmq`)
 * through Redis. It never runs a step itself. The state store keeps the truth:
 * Redis only carries which run and which range to work on next, so `status`,
 * `watch` and `history` need no Redis, and a Redis that lost its queues loses
 * no progress.
 */
export class BullmqExecutor implements Executor {
  readonly name = BULLMQ;
  readonly drivesInProcess = false;
  private connection: Redis | null = null;
  private queues: RunQueues | null = null;

  constructor(
    private readonly deps: { db: pg.Pool; store: StateStore; log: Logger },
    readonly settings: BullmqSettings,
  ) {}

  private async open(): Promise<RunQueues> {
    if (this.queues) return this.queues;
    const connection = commandConnection(this.settings.redisUrl);
    connection.on('error', () => {});
    try {
      await connection.connect();
      await connection.ping();
    } catch (err) {
      connection.disconnect();
      throw new EnvironmentError(`cannot reach Redis at ${redisAddress(this.settings.redisUrl)} for the BullMQ executor: ${(err as Error).message}`);
    }
    this.connection = connection;
    this.queues = new RunQueues(connection, await databaseIdentity(this.deps.db, this.deps.store.schemaName));
    return this.queues;
  }

  async ready(): Promise<void> {
    await this.open();
  }

  /** Enqueues the run's driver job (nothing if it is queued or running) and returns: workers take it from there. */
  async drive(run: RunRecord): Promise<DriveOutcome> {
    await this.enqueue(run);
    return 'submitted';
  }

  /**
   * A driver job holds the run's lock while it drives. A job waiting for a
   * worker drives nothing yet: with no worker up the run is shown stalled,
   * which is what the operator needs to know.
   */
  probe(run: RunRecord): Promise<DriverProbe> {
    return probeRunLock(this.deps.db, run.id);
  }

  /**
   * Removes the run's jobs no worker has taken. A driver job at work sees the
   * move at its next decision (within a second) and ends; its range jobs are
   * fenced out when the new driver claims their ranges.
   */
  async release(run: RunRecord): Promise<void> {
    const queues = await this.open().catch(() => null);
    if (!queues) return;
    const ranges = [...(await this.deps.store.getRanges(run.id, 'backfill')), ...(await this.deps.store.getRanges(run.id, 'verify'))];
    await queues.removeWaiting(run.id, ranges.map((r) => ({ task: r.task, table: r.table, rangeNo: r.rangeNo })));
  }

  /**
   * The driver polls the store, so a pause or tune needs no message. Any other
   * intent makes sure a driver job exists: a resume after a failure, an approve
   * or a rollback of a run whose job was lost must find one.
   */
  async notify(run: RunRecord, intent: Intent): Promise<void> {
    if (intent === 'pause' || intent === 'tune') return;
    await this.enqueue(run);
  }

  private async enqueue(run: RunRecord): Promise<void> {
    const queues = await this.open();
    await queues.enqueueDriver(run.id);
    this.deps.log.info({ run: run.id, job: driverJobId(run.id) }, 'driver job enqueued');
  }

  async close(): Promise<void> {
    await this.queues?.close();
    this.connection?.disconnect();
    this.queues = null;
    this.connection = null;
  }
}
