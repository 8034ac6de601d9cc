import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/util/free-port.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { REPO, runCli, spawnCli, waitFor, type CliOptions, type CliProcess } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { databaseIdentity } from '../../src/state/identity.ts';
import { PREFIX, queueNames } from '../../src/executors/bullmq/queues.ts';
import type { TestDatabase } from '../helpers/db.ts';

/**
 * A redis-server of the test's own, on a free port, never the machine's: the
 * tests kill it, restart it with its append-only file, or restart it empty.
 */
export interface TestRedis {
  readonly url: string;
  /** SIGKILL: no shutdown save; with `appendonly yes` what was fsynced survives. */
  kill(): Promise<void>;
  /** Starts it again on the same port, with its data (AOF) or `empty`. */
  start(options?: { empty?: boolean }): Promise<void>;
  /** Number of jobs in a bellows queue: proof that an emptied Redis really came back empty. */
  keys(pattern: string): Promise<number>;
}

export async function testRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = join(REPO, '.tmp', `redis-${port}`);
  let child: ChildProcess | null = null;
  const url = `redis://127.0.0.1:${port}`;
  const start = async ({ empty = false } = {}) => {
    if (empty) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--maxmemory-policy', 'noeviction'], {
      stdio: 'ignore',
    });
    child = proc;
    await waitFor(`redis-server on port ${port}`, async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    }, 30_000, 100);
  };
  const kill = async () => {
    const proc = child;
    // A process killed by a signal has a signalCode and no exitCode: killed already, it would never exit again.
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await gone;
  };
  await start();
  atFileEnd(async () => {
    await kill();
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    url,
    kill,
    start,
    async keys(pattern) {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        return (await client.keys(pattern)).length;
      } finally {
        client.disconnect();
      }
    },
  };
}

/** Short job locks, so a killed worker's jobs are taken over within seconds rather than half a minute. */
export const LOCK_MS = '2000';

export interface TestWorker extends CliProcess {
  /** The walker id prefix of this worker's ranges (host:pid:), as in range_claimed events. */
  readonly walker: string;
}

/** `bellows worker --executor bullmq` in a child process, returned once it serves its databases. */
export async function startWorker(db: string, redis: TestRedis, args: string[] = [], options: CliOptions = {}): Promise<TestWorker> {
  const proc = spawnCli(['worker', '--executor', 'bullmq', '--concurrency', '4', ...args], {
    ...options,
    db,
    env: { REDIS_URL: redis.url, BELLOWS_BULLMQ_LOCK_MS: LOCK_MS, ...options.env },
  });
  await waitFor('the worker to serve its databases', async () => {
    if (proc.child.exitCode !== null) throw new Error(`the worker exited early: ${proc.stderr()}`);
    return proc.stdout().includes('worker serving');
  }, 60_000, 50);
  return Object.assign(proc, { walker: `:${proc.pid}:` });
}

/** The run's range jobs that workers are running now, as BullMQ counts them in Redis. */
export async function activeRangeJobs(db: TestDatabase, redis: TestRedis): Promise<number> {
  const queue = new Queue(queueNames(await databaseIdentity(db.pool, 'bellows')).ranges, { connection: { url: redis.url, maxRetriesPerRequest: 1 }, prefix: PREFIX });
  try {
    return await queue.getActiveCount();
  } finally {
    await queue.close();
  }
}

/** Sum of the rows done and batches of a run's backfill ranges, and how many ranges it has. */
export async function backfillProgress(db: TestDatabase, runId: string): Promise<{ rows: number; batches: number; ranges: number; done: boolean }> {
  const { rows } = await db.query<{ rows: number; batches: number; ranges: number; done: boolean }>(
    `SELECT coalesce(sum(rows_done), 0)::int AS rows, coalesce(sum(batches), 0)::int AS batches, count(*)::int AS ranges, coalesce(bool_and(done), false) AS done
       FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`,
    [runId],
  );
  return rows[0];
}

/**
 * Counts, per row, the committed updates of `table`: a batch that commits twice
 * (a range walked by two workers at once) shows as rows touched twice. A batch
 * rolled back with its killed session leaves no count behind, as it leaves no row.
 */
export async function countTouches(db: TestDatabase, table: string): Promise<() => Promise<{ rows: number; twice: number }>> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS test_control`);
  await db.query(`CREATE TABLE test_control.touches (id bigint NOT NULL)`);
  await db.query(`CREATE FUNCTION test_control.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO test_control.touches VALUES (NEW.id); RETURN NULL; END $$`);
  await db.query(`CREATE TRIGGER test_touch AFTER UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION test_control.touch()`);
  return async () => {
    const { rows } = await db.query<{ rows: number; twice: number }>(`SELECT count(DISTINCT id)::int AS rows, count(*) FILTER (WHERE n > 1)::int AS twice FROM (SELECT id, count(*) AS n FROM test_control.touches GROUP BY id) t`);
    return rows[0];
  };
}

/** A fresh database with the demo users table of `rows` rows, a redis-server of the file's own, and the CLI pointed at both. */
export async function usersOnRedis(rows: number) {
  const db = await freshDatabase();
  await createSampleTable(db.pool, rows);
  const redis = await testRedis();
  const cli = (args: string[]) => runCli(args, { db: db.url, env: { REDIS_URL: redis.url } });
  return { db, redis, cli };
}
