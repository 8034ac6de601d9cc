import { Redis, type RedisOptions } from 'ioredis';

export interface BullmqSettings {
  redisUrl: string;
  /**
   * How long a job stays claimed by a worker that stopped answering (killed,
   * partitioned) before another worker takes it over; lower means faster
   * recovery and more Redis traffic. A live worker renews its claim at half this.
   */
  lockMs: number;
}

export function bullmqSettings(env: NodeJS.ProcessEnv = process.env): BullmqSettings {
  return {
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    lockMs: Number(env.BELLOWS_BULLMQ_LOCK_MS ?? 30_000),
  };
}

/** Where Redis is, for messages: never the password a URL may carry. */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'the configured Redis';
  }
}

/** Reconnects after a restart or a dropped connection, backing off to 20 s between attempts. */
function retryStrategy(times: number): number {
  return Math.min(Math.max(2 ** times * 100, 500), 20_000);
}

/**
 * A worker's connection (BullMQ's production guide): commands wait for Redis
 * to come back instead of failing (maxRetriesPerRequest: null), so a restart
 * or failover pauses the queue rather than failing the jobs running on it.
 */
export function workerConnection(url: string): Redis {
  return new Redis(url, WORKER_OPTIONS);
}

/** The same settings for a connection BullMQ opens and closes itself (a QueueEvents' blocking reader). */
export function workerConnectionOptions(url: string) {
  return { url, ...WORKER_OPTIONS };
}

const WORKER_OPTIONS = { maxRetriesPerRequest: null, retryStrategy } satisfies RedisOptions;

/**
 * A command's connection (start, resume, status): it fails fast, so a command
 * run while Redis is down says so in one line instead of hanging.
 */
export function commandConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3_000, retryStrategy: () => null, lazyConnect: true });
}
