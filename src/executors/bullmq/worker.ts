import { QueueEvents, Worker } from 'bullmq';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { StateStore } from '../../state/store.ts';
import { databaseIdentity } from '../../state/identity.ts';
import { probeRunLock } from '../run-lock.ts';
import { workerConnection, workerConnectionOptions, type BullmqSettings } from './config.ts';
import { driverBeats, driverProcessor, type JobDeps } from './driver-job.ts';
import { BULLMQ, PREFIX, RunQueues, queueNames } from './queues.ts';
import { rangeProcessor } from './range-job.ts';
import { Wakeup } from '../../util/wakeup.ts';

/** How often a worker compares the state store's runs with the queue (the cure for a Redis that came back empty). */
const RECONCILE_MS = 5_000;
/** Driver jobs mostly wait (on ranges, the operator, the gate); many fit in one process. */
const DRIVER_CONCURRENCY = 64;

export interface ServedDatabase {
  db: pg.Pool;
  store: StateStore;
}

export interface BullmqWorkerOptions {
  databases: ServedDatabase[];
  settings: BullmqSettings;
  /** Range jobs this process runs at once, over all its databases. */
  concurrency: number;
  /** Range jobs running at once on one target database, over the whole fleet. */
  maxPerDatabase: number;
  log: Logger;
}

/**
 * A BullMQ worker process: for each database it serves, it takes driver jobs
 * and range jobs from that database's queues, and every few seconds re-enqueues
 * the driver of any run the state store says should be moving and nothing drives
 * (a Redis that restarted empty lost it). Resolves once `stop` aborted and every
 * job in flight stopped at a batch boundary and went back to its queue.
 */
export async function runBullmqWorker(options: BullmqWorkerOptions, stop: AbortSignal): Promise<void> {
  const { settings, log } = options;
  const shutdown = new AbortController();
  const connection = workerConnection(settings.redisUrl);
  connection.on('error', (err) => log.warn({ err: err.message }, 'redis connection error; reconnecting'));
  const workers: Worker[] = [];
  const listeners: QueueEvents[] = [];
  const served: Array<ServedDatabase & { queues: RunQueues }> = [];
  const perWorker = { connection, prefix: PREFIX, lockDuration: settings.lockMs, stalledInterval: settings.lockMs, maxStalledCount: 1_000 };
  for (const database of options.databases) {
    const identity = await databaseIdentity(database.db, database.store.schemaName);
    const names = queueNames(identity);
    const queues = new RunQueues(connection, identity);
    // Drivers here hear of every range job of the database that ends, wherever it ran.
    const rangeEnded = new Wakeup();
    const events = new QueueEvents(names.ranges, { connection: workerConnectionOptions(settings.redisUrl), prefix: PREFIX });
    events.on('completed', () => rangeEnded.ring());
    events.on('failed', () => rangeEnded.ring());
    events.on('error', () => {});
    listeners.push(events);
    const deps: JobDeps = { ...database, log, queues, shutdown: shutdown.signal, rangeEnded };
    workers.push(
      new Worker(names.drive, driverProcessor(deps, driverBeats(database.store, log)), { ...perWorker, concurrency: DRIVER_CONCURRENCY }),
      new Worker(names.ranges, rangeProcessor({ ...deps, maxPerDatabase: options.maxPerDatabase }), { ...perWorker, concurrency: options.concurrency }),
    );
    served.push({ ...database, queues });
  }
  for (const worker of workers) {
    worker.on('error', (err) => log.warn({ err: err.message }, 'bullmq worker error'));
    worker.on('failed', (job, err) => log.warn({ job: job?.id, err: err.message }, 'job failed'));
  }

  const reconcile = async () => {
    for (const { store, db, queues } of served) {
      try {
        for (const run of await store.runsToDrive(BULLMQ)) {
          if ((await probeRunLock(db, run.id)) === 'gone') await queues.enqueueDriver(run.id);
        }
      } catch (err) {
        log.warn({ err: String(err) }, 'reconcile with the state store failed; trying again');
      }
    }
  };
  await reconcile();
  const timer = setInterval(() => void reconcile(), RECONCILE_MS);
  await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
  clearInterval(timer);
  // Stop taking jobs first, then ask the running ones to stop at their batch; close() waits for them.
  const closing = workers.map((w) => w.close());
  shutdown.abort();
  await Promise.all(closing);
  await Promise.all(listeners.map((l) => l.close()));
  await Promise.all(served.map((s) => s.queues.close()));
  await connection.quit().catch(() => connection.disconnect());
}
