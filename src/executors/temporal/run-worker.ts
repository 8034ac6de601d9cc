import { DefaultLogger, Runtime } from '@temporalio/worker';
import { InputError } from '../../errors.ts';
import type { WorkerRun } from '../worker-run.ts';
import { temporalSettings } from './config.ts';
import { createBellowsWorker } from './worker.ts';

const TEMPORAL_LOG_LEVELS = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR' } as const;

/** `bellows worker --executor temporal`: polls the database's task queue until stopped. */
export async function runTemporalWorker(run: WorkerRun): Promise<void> {
  if (run.serveDatabases.length > 0) throw new InputError('--serve-database is for --executor bullmq; a Temporal worker serves the one database of --database-url');
  const settings = temporalSettings();
  const level = (process.env.BELLOWS_LOG_LEVEL ?? 'warn') as keyof typeof TEMPORAL_LOG_LEVELS;
  // Shutdown signals are handled by the command, which aborts run.stop.
  Runtime.install({ logger: new DefaultLogger(TEMPORAL_LOG_LEVELS[level] ?? 'WARN'), shutdownSignals: [] });
  const bundlePath = process.env.BELLOWS_WORKFLOW_BUNDLE;
  const { worker, taskQueue, connection } = await createBellowsWorker({
    db: run.db,
    store: run.store,
    log: run.log,
    settings,
    concurrency: run.concurrency,
    shutdownGraceMs: run.shutdownGraceMs,
    workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
  });
  // No new tasks once stopped; in-flight ranges are cancelled after the grace, stop at a batch boundary, and
  // are retried by another worker from their checkpoints.
  const onStop = () => worker.shutdown();
  run.stop.addEventListener('abort', onStop, { once: true });
  run.say(`worker polling task queue ${taskQueue} on ${settings.address} (namespace ${settings.namespace})`);
  try {
    await worker.run();
  } finally {
    run.stop.removeEventListener('abort', onStop);
    await connection.close().catch(() => {});
  }
}
