import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/util/free-port.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { REPO, spawnCli, waitFor, type CliOptions, type CliProcess } from '../helpers/cli.ts';
import { Redis } from 'ioredis';

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
    if (!proc || proc.exitCode !== null) return;
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
    timeoutMs: 600_000,
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
