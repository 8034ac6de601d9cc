import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { connect } from '../../db/pool.ts';
import { openRun } from '../../engine/start.ts';
import { RunFailedError } from '../../errors.ts';
import { commandLogger } from '../../log.ts';
import { loadPlaybook } from '../../playbook/load.ts';
import { StateStore } from '../../state/store.ts';
import { createSampleTable } from '../../demo/sample.ts';
import { startAppTraffic } from '../../demo/app-traffic.ts';
import { driveWithProgress } from '../drive.ts';
import { formatNumber, print } from '../output.ts';
import { stopOnSignals } from '../stop-on-signals.ts';
import { wholeNumber } from '../whole-number-flag.ts';

const DEMO_PLAYBOOK = fileURLToPath(new URL('../../../playbooks/0001_users_email_citext.yaml', import.meta.url));

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('run an example migration end to end on an embedded PostgreSQL, under live application writes')
    .option('--rows <n>', 'rows in the sample table', wholeNumber('--rows', 1), 1_000_000)
    .option('--writers <n>', 'concurrent application writers', wholeNumber('--writers', 0), 4)
    .option('--no-progress', 'do not draw the progress display')
    .action(async (options) => {
      print('starting an embedded PostgreSQL (data in a temporary directory, removed afterwards)');
      // Loaded only here: the embedded PostgreSQL binary is the demo's alone.
      const { startEmbeddedPostgres } = await import('../../db/embedded.ts');
      // On Ctrl-C the demo stops in order: the migration at a batch boundary (driveWithProgress
      // listens too), then the traffic, the pool, the server and its directory.
      const interrupted = stopOnSignals('demo');
      try {
        const server = await startEmbeddedPostgres('demo');
        try {
          interrupted.throwIfAborted();
          const pool = await connect(server.url, 12);
          try {
            print(`creating table users with ${formatNumber(options.rows)} rows`);
            await createSampleTable(pool, options.rows);
            interrupted.throwIfAborted();
            const store = new StateStore(pool);
            const playbook = await loadPlaybook(DEMO_PLAYBOOK);
            print(`application traffic: ${options.writers} writers inserting and updating users`);
            const traffic = startAppTraffic(server.url, { writers: options.writers, pauseMs: 5 });
            let outcome;
            let run;
            try {
              ({ run } = await openRun(pool, store, { playbook, executor: 'local', overrides: { autoContract: true } }));
              print(`playbook ${playbook.name}: ${playbook.description}`);
              outcome = await driveWithProgress({ pool, store, log: commandLogger(), actor: store.actor }, run, { stopAtGate: false, progress: options.progress });
            } finally {
              await traffic.stop();
            }
            const report = traffic.report;
            const verified = (await store.getRanges(run.id, 'verify')).reduce((n, r) => n + r.rowsDone, 0);
            const { rows } = await pool.query(`SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'`);
            print(`application writes during the migration: ${formatNumber(report.inserts + report.updates)} ok, ${report.errors} failed`);
            print(`verify: passed, ${formatNumber(verified)} rows checked; users.email is now ${rows[0].type}`);
            if (report.errors > 0) throw new RunFailedError(`demo: ${report.errors} application writes failed, first: ${report.firstError}`);
            if (outcome !== 'completed') throw new RunFailedError(`demo: run ended ${outcome}`);
            print('demo passed: zero failed writes, every row verified');
          } finally {
            await pool.end();
          }
        } finally {
          await server.stop();
        }
      } catch (err) {
        if (interrupted.aborted) throw new RunFailedError('demo interrupted; its embedded PostgreSQL is stopped and its data removed');
        throw err;
      } finally {
        interrupted.release();
      }
    });
}
