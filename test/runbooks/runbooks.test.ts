import { readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { REPO, describe as show, playbookPath, runCli, spawnCli, startedRunId, waitFor, type CliProcess } from '../helpers/cli.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { backfillHold, type BackfillHold } from '../helpers/hold.ts';
import { streamingPair } from '../helpers/streaming-pair.ts';
import { LOCK_MS, startWorker, testRedis } from '../bullmq/harness.ts';
import { privateTemporal } from '../temporal/dev-server.ts';
import { workflowBundlePath } from '../temporal/harness.ts';
import { parseRunbook, type RunbookStep } from './runbook-steps.ts';
import { runRunbook, type World } from './run-runbook.ts';

/**
 * Every command of every runbook in deploy/runbooks/, run in order as an
 * operator types it, after the test has set up the situation the runbook is
 * about, so that the runbooks stay true. Conventions (see runbook-steps.ts):
 * - commands are the lines of ```sh blocks, run by bash with `bellows` on PATH
 *   (this checkout's CLI) and the runbook's placeholders as environment
 *   variables: DATABASE_URL, RUN (the playbook's name, which names its latest
 *   run), PLAYBOOK, and where used REDIS_URL, TEMPORAL_ADDRESS, REPLICA_URL, PID;
 * - `# expect:`, `# wait for:` and `# exit:` lines under a command say what its
 *   output must show and how it must exit;
 * - a command ending in `&` (a worker, a driving `start`) runs in the background
 *   and is stopped with SIGTERM when its runbook ends;
 * - what happens around the operator (a held backfill going on once the
 *   operator has tuned it, say) is the situation's `world`, hooked before or
 *   after a command.
 * Each runbook gets its own database (and Redis, Temporal, replica where it
 * needs them), so the runbooks run side by side.
 */

const RUNBOOKS = join(REPO, 'deploy/runbooks');
const PLAYBOOK = playbookPath('0001_users_email_citext.yaml');
const NAME = '0001_users_email_citext';
const ROWS = 4000;
/** Where a held backfill stops: some rows done, most not. */
const HOLD_AT = ROWS / 4;
/** Runbooks played at once. */
const AT_ONCE = 6;
/** Those that wait longest (for Temporal, Redis job locks, a second server): started first, so the last to end is a short one. */
const LONGEST_FIRST = ['lost-temporal-worker.md', 'lost-temporal-server.md', 'replica-lag.md', 'failover.md', 'lost-redis.md', 'lost-bullmq-workers.md'];

interface Situation {
  vars: Record<string, string>;
  world?: World;
  /** Directories the runbook's commands find on PATH besides `bellows` (the temporal CLI). */
  path?: string[];
}

function steps(file: string): RunbookStep[] {
  return parseRunbook(file, readFileSync(join(RUNBOOKS, file), 'utf8'));
}

async function usersDatabase(rows = ROWS): Promise<TestDatabase> {
  const db = await freshDatabase();
  await createSampleTable(db.pool, rows);
  return db;
}

function vars(db: TestDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: db.url, RUN: NAME, PLAYBOOK, ...extra };
}

/** A process the situation started, stopped when the file ends whatever happened to the runbook. */
function owned(proc: CliProcess): CliProcess {
  atFileEnd(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.kill('SIGKILL');
      await proc.exited;
    }
  });
  return proc;
}

/** `bellows start` with the local executor, driving the run in its own process; returns once the run exists. */
async function startLocal(db: TestDatabase, args: string[]): Promise<{ driver: CliProcess; runId: string }> {
  const driver = owned(spawnCli(['start', PLAYBOOK, '--no-progress', ...args], { db: db.url }));
  return { driver, runId: await startedRunId(driver, 120_000) };
}

/** A local run whose backfill is held at HOLD_AT rows, its driver alive. */
async function heldLocalRun(db: TestDatabase, args: string[] = []) {
  const hold = await backfillHold(db, 'public.users', HOLD_AT);
  const { driver, runId } = await startLocal(db, ['--throttle-query', hold.query, ...args]);
  await hold.held(runId);
  return { hold, driver, runId };
}

/** A run on a remote executor (`start` returns once it is submitted), its backfill held at HOLD_AT rows. */
async function heldRemoteRun(db: TestDatabase, executor: string, env: Record<string, string>) {
  const hold = await backfillHold(db, 'public.users', HOLD_AT);
  const started = await runCli(['start', PLAYBOOK, '--executor', executor, '--throttle-query', hold.query], { db: db.url, env });
  expect(started.code, show(started)).toBe(0);
  const runId = /run (\d+) started/.exec(started.stdout)![1];
  await hold.held(runId);
  return { hold, runId };
}

/**
 * A BullMQ run with its own database, Redis and one worker, its backfill held at
 * HOLD_AT rows: where both lost-executor runbooks start (they differ in what is then lost).
 */
async function heldBullmqRun() {
  const db = await usersDatabase();
  const redis = await testRedis();
  const env = { REDIS_URL: redis.url, BELLOWS_BULLMQ_LOCK_MS: LOCK_MS };
  const worker = owned(await startWorker(db.url, redis));
  const { hold } = await heldRemoteRun(db, 'bullmq', env);
  return { db, redis, env, worker, hold };
}

async function killed(proc: CliProcess): Promise<void> {
  proc.kill('SIGKILL');
  await proc.exited;
}

/** Lifts the hold once the operator has run a command that starts with `prefix`. */
function releaseAfter(prefix: string, hold: BackfillHold): World {
  return {
    async after(step) {
      if (step.command.startsWith(prefix)) await hold.release();
    },
  };
}

/** The temporal CLI, as the Temporal tests find it. */
function temporalCliDir(): string {
  return dirname(process.env.TEMPORAL_CLI_PATH ?? join(homedir(), '.cache/bellows/bin/temporal'));
}

/** `bellows worker --executor temporal` in its own process, returned once it polls its task queue. */
async function temporalWorker(db: TestDatabase, env: Record<string, string>): Promise<CliProcess> {
  const worker = owned(spawnCli(['worker', '--executor', 'temporal', '--concurrency', '4'], { db: db.url, env }));
  await waitFor('the Temporal worker to poll its task queue', async () => {
    if (worker.child.exitCode !== null) throw new Error(`the worker exited early: ${worker.stderr()}`);
    return (worker.stdout() + worker.stderr()).includes('worker polling task queue');
  }, 90_000, 100);
  return worker;
}

/** What a worker process and `start` need to reach this Temporal server, quickly: short heartbeats, a prebuilt bundle. */
async function temporalEnv(address: string): Promise<Record<string, string>> {
  return {
    TEMPORAL_ADDRESS: address,
    BELLOWS_WORKFLOW_BUNDLE: await workflowBundlePath(),
    BELLOWS_TEMPORAL_HEARTBEAT_TIMEOUT_MS: '3000',
    BELLOWS_TEMPORAL_STICKY_TIMEOUT_MS: '1000',
  };
}

const situations: Record<string, () => Promise<Situation>> = {
  async 'start.md'() {
    // Enough rows that the rate cap of the runbook keeps the backfill going for seconds.
    return { vars: vars(await usersDatabase(20_000)) };
  },

  async 'backfill-too-slow.md'() {
    const db = await usersDatabase();
    const { runId } = await startLocal(db, ['--max-rows-per-sec', '100', '--parallelism', '1']);
    await waitFor('the capped backfill to start', async () => {
      const { rows } = await db.query(`SELECT coalesce(sum(rows_done), 0)::int AS n FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`, [runId]);
      return rows[0].n > 0;
    }, 60_000, 100);
    return { vars: vars(db) };
  },

  async 'backfill-too-aggressive.md'() {
    const db = await usersDatabase();
    const { hold } = await heldLocalRun(db, ['--parallelism', '2']);
    // Until the operator has tuned it, the backfill would finish at full speed before the next command.
    return { vars: vars(db), world: releaseAfter('bellows tune', hold) };
  },

  async 'replica-lag.md'() {
    const pair = await streamingPair();
    const db = pair.primary;
    await createSampleTable(db.pool, ROWS);
    const { hold } = await heldLocalRun(db);
    // The standby stops replaying while WAL keeps arriving: its replay lag grows by the second.
    const standby = new pg.Client({ connectionString: pair.standbyUrl });
    await standby.connect();
    atFileEnd(() => standby.end());
    await standby.query('SELECT pg_wal_replay_pause()');
    await db.query('CREATE TABLE test_control.wal_after_pause (id int)');
    await waitFor('the standby to receive WAL it does not replay', async () => {
      const { rows } = await standby.query(`SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() AS behind`);
      return rows[0].behind;
    }, 30_000, 100);
    return { vars: vars(db, { REPLICA_URL: pair.standbyUrl }), world: releaseAfter('bellows tune', hold) };
  },

  async 'lost-local-process.md'() {
    const db = await usersDatabase();
    const { hold, driver } = await heldLocalRun(db);
    await killed(driver);
    await hold.release();
    return { vars: vars(db) };
  },

  async 'lost-bullmq-workers.md'() {
    const { db, env, worker, hold } = await heldBullmqRun();
    await killed(worker);
    await hold.release();
    return { vars: vars(db, env) };
  },

  async 'lost-redis.md'() {
    const { db, env, worker, redis, hold } = await heldBullmqRun();
    // The whole executor: Redis and the worker with it.
    await killed(worker);
    await redis.kill();
    await hold.release();
    return { vars: vars(db, env) };
  },

  async 'lost-temporal-worker.md'() {
    const db = await usersDatabase();
    const env = await temporalEnv(inject('temporalAddress'));
    const worker = await temporalWorker(db, env);
    const { hold } = await heldRemoteRun(db, 'temporal', env);
    await killed(worker);
    await hold.release();
    return { vars: vars(db, env), path: [temporalCliDir()] };
  },

  async 'lost-temporal-server.md'() {
    const db = await usersDatabase();
    const server = await privateTemporal();
    const env = await temporalEnv(server.address);
    await temporalWorker(db, env);
    const { hold } = await heldRemoteRun(db, 'temporal', env);
    await server.restartEmpty();
    await hold.release();
    return { vars: vars(db, env), path: [temporalCliDir()] };
  },

  async 'failover.md'() {
    const pair = await streamingPair();
    await createSampleTable(pair.primary.pool, ROWS);
    const { runId } = await heldLocalRun(pair.primary);
    // The standby has the run as far as the primary had it when it went down.
    await waitFor('the standby to have the held run', async () => {
      const { rows } = await pair.primary.query(`SELECT bool_and(replay_lsn >= pg_current_wal_lsn()) AS caught_up FROM pg_stat_replication`);
      return rows[0].caught_up;
    }, 30_000, 100);
    const promoted = await pair.failOver();
    // The hold was the test's, not the failover's: lift it where the run now lives.
    await (await backfillHold(promoted, 'public.users')).release();
    expect((await promoted.query(`SELECT status FROM bellows.runs WHERE id = $1`, [runId])).rows[0].status).toBe('running');
    return { vars: vars(promoted) };
  },

  async 'approve.md'() {
    const db = await usersDatabase();
    const started = await runCli(['start', PLAYBOOK, '--no-progress'], { db: db.url });
    expect(started.code, show(started)).toBe(0);
    return { vars: vars(db) };
  },

  async 'rollback.md'() {
    const db = await usersDatabase();
    await heldLocalRun(db);
    return { vars: vars(db) };
  },

  async 'verify-failed.md'() {
    const db = await usersDatabase();
    const { hold, driver } = await heldLocalRun(db);
    // Rows the backfill has done are rewritten where the dual-write trigger does not fire.
    await db.query(`BEGIN; SET LOCAL session_replication_role = replica;
      UPDATE users SET email = 'Moved' || id || '@Example.COM' WHERE id <= 3; COMMIT`);
    await hold.release();
    const stopped = await driver.exited;
    expect(stopped.code, show(stopped)).toBe(1);
    return { vars: vars(db) };
  },

  async 'stuck-lock.md'() {
    const db = await usersDatabase();
    // A long report holds a lock on the table: expand's ALTER TABLE cannot have its own.
    const blocker = new pg.Client({ connectionString: db.url });
    blocker.on('error', () => {});
    await blocker.connect();
    const { rows } = await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0].pid;
    // The runbook cancels it; if it does not, the file's end ends its session.
    atFileEnd(async () => {
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      await blocker.end().catch(() => {});
    });
    void blocker.query('SELECT pg_sleep(600), count(*) FROM users').catch(() => {});
    const { runId } = await startLocal(db, []);
    await waitFor('expand to retry for its lock', async () => {
      const retries = await db.query(`SELECT 1 FROM bellows.events WHERE run_id = $1 AND kind = 'ddl_retry'`, [runId]);
      return retries.rowCount! > 0;
    }, 60_000, 100);
    return { vars: vars(db, { PID: String(pid) }) };
  },
};

const files = readdirSync(RUNBOOKS).filter((f) => f.endsWith('.md') && f !== 'README.md').sort();
/** RUNBOOKS=stuck-lock.md,approve.md runs only those (while writing one); all of them run otherwise. */
const chosen = process.env.RUNBOOKS ? files.filter((f) => process.env.RUNBOOKS!.split(',').includes(f)) : files;

/** Sets the situation up, then runs the runbook in it. */
async function play(file: string): Promise<void> {
  const runbook = steps(file);
  expect(runbook.length, `${file} has no command`).toBeGreaterThan(0);
  const situation = await situations[file]();
  await runRunbook(runbook, situation.vars, { world: situation.world, path: situation.path });
}

describe('the runbooks', () => {
  it('each has a situation the test sets up, and the index lists each; the index has no commands', () => {
    expect(Object.keys(situations).sort()).toEqual(files);
    const index = readFileSync(join(RUNBOOKS, 'README.md'), 'utf8');
    for (const file of files) expect(index).toContain(`(${file})`);
    expect(parseRunbook('README.md', index)).toEqual([]);
  });

  describe('run as written', () => {
    // Side by side: most of a runbook's time is waiting (for a heartbeat to age, a job lock to
    // expire, a rate cap), and each has its own database and services. A few at a time, the
    // longest first: each command starts the CLI, which costs a core for a second or two.
    // Each runbook is played when its turn comes; its test awaits that.
    const turns = new Map<string, () => void>();
    const played = new Map(chosen.map((file) => [file, new Promise<void>((go) => turns.set(file, go)).then(() => play(file))]));
    for (const playing of played.values()) playing.catch(() => {});
    beforeAll(() => {
      const queue = [...chosen].sort((a, b) => Number(LONGEST_FIRST.includes(b)) - Number(LONGEST_FIRST.includes(a)));
      const next = async (): Promise<void> => {
        for (let file = queue.shift(); file; file = queue.shift()) {
          turns.get(file)!();
          await played.get(file)!.catch(() => {});
        }
      };
      for (let i = 0; i < AT_ONCE; i++) void next();
    });
    for (const file of chosen) it(file, () => played.get(file)!, 900_000);
  });
});
