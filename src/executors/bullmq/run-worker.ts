import { connect } from '../../db/pool.ts';
import { StateStore } from '../../state/store.ts';
import type { WorkerRun } from '../worker-run.ts';
import { bullmqSettings, redisAddress } from './config.ts';
import { runBullmqWorker, type ServedDatabase } from './worker.ts';

/** `bellows worker --executor bullmq`: serves the database of --database-url and each --serve-database. */
export async function runBullmqWorkerCommand(run: WorkerRun): Promise<void> {
  const settings = bullmqSettings();
  const extra: ServedDatabase[] = [];
  try {
    for (const url of run.serveDatabases) {
      const db = await connect(url, run.concurrency * 3 + 8);
      const store = new StateStore(db, run.stateSchema);
      extra.push({ db, store });
      await store.migrate();
    }
    run.say(`worker serving ${1 + extra.length} database(s) through Redis at ${redisAddress(settings.redisUrl)}`);
    await runBullmqWorker(
      { databases: [{ db: run.db, store: run.store }, ...extra], settings, concurrency: run.concurrency, maxPerDatabase: run.maxRangesPerDatabase, log: run.log },
      run.stop,
    );
  } finally {
    for (const { db } of extra) await db.end().catch(() => {});
  }
}
