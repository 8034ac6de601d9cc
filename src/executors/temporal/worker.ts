import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type pg from 'pg';
import type { Logger } from 'pino';
import { EnvironmentError } from '../../errors.ts';
import type { StateStore } from '../../state/store.ts';
import { createActivities } from './activities.ts';
import { taskQueueFor, tlsOptions, type TemporalSettings } from './config.ts';
import { databaseIdentity } from '../../state/identity.ts';

/** The bundle's entry point; the SDK's bundler (webpack) builds it into one deterministic sandbox. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../../workflows/index.ts', import.meta.url));

export interface BellowsWorkerOptions {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
  settings: TemporalSettings;
  /** Activities at once; each backfill or verify range holds one while it walks. */
  concurrency?: number;
  /** How long in-flight ranges get to reach a batch boundary on shutdown before they are cancelled. */
  shutdownGraceMs?: number;
  /** A prebuilt bundle (bundleWorkflowCode output) to skip bundling at start-up, as a deploy image would ship. */
  workflowBundle?: WorkflowBundleOption;
}

/**
 * A worker for one target database: its activities use that database's pool,
 * and it polls that database's task queue, so it only ever receives the
 * activities of runs stored there.
 */
export async function createBellowsWorker(options: BellowsWorkerOptions): Promise<{ worker: Worker; taskQueue: string; connection: NativeConnection }> {
  const { settings } = options;
  const taskQueue = taskQueueFor(settings, await databaseIdentity(options.db, options.store.schemaName));
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: settings.address, tls: tlsOptions(settings.tls) });
  } catch (err) {
    throw new EnvironmentError(`cannot reach Temporal at ${settings.address}: ${(err as Error).message}`);
  }
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ db: options.db, store: options.store, log: options.log }),
    maxConcurrentActivityTaskExecutions: options.concurrency ?? 8,
    // Ranges stop at their next batch boundary once cancelled: a short grace is enough, and the
    // cancelled attempts are retried on another worker from their checkpoints.
    shutdownGraceTime: options.shutdownGraceMs ?? 5_000,
    ...(settings.stickyTimeoutMs ? { stickyQueueScheduleToStartTimeout: settings.stickyTimeoutMs } : {}),
  });
  return { worker, taskQueue, connection };
}
