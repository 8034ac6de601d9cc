import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RangeRef } from '../../engine/steps.ts';

/** The executor's name, as runs record it. */
export const BULLMQ = 'bullmq';

/** Keys in Redis start with this; one Redis can serve bellows beside other BullMQ users. */
export const PREFIX = 'bellows';

/** A driver job: drives one run through the phase decision; only run ids travel through Redis, never a URL. */
export interface DriverJob {
  runId: string;
}

/** A range job: walks one backfill or verify range; `parallelism` is the one it was scheduled under. */
export interface RangeJob {
  runId: string;
  ref: RangeRef;
  parallelism: number;
}

/** The two queues of one target database (its identity, state/identity.ts): the workers that serve it listen on them. */
export function queueNames(identity: string): { drive: string; ranges: string } {
  return { drive: `bellows-${identity}-drive`, ranges: `bellows-${identity}-ranges` };
}

/**
 * One job id per run and per range, so adding a job that is already queued or
 * running adds nothing: enqueueing is idempotent, and reconciling an empty
 * Redis against the state store cannot start a second copy.
 */
export function driverJobId(runId: string): string {
  return `run-${runId}`;
}

export function rangeJobId(runId: string, ref: RangeRef): string {
  // BullMQ reserves ':' in ids; a quoted table name may contain one.
  return `run-${runId}-${ref.task}-${encodeURIComponent(ref.table)}-${ref.rangeNo}`;
}

/** Jobs leave Redis when they end: the state store keeps the outcome and the error, and an id can be enqueued again. */
const JOB_OPTIONS = { removeOnComplete: true, removeOnFail: true } as const;

/** Range jobs retry a passing fault (a dropped connection) from their checkpoint; a refused step fails at once. */
export const RANGE_ATTEMPTS = 5;

export class RunQueues {
  readonly drive: Queue<DriverJob>;
  readonly ranges: Queue<RangeJob>;

  constructor(connection: Redis, identity: string) {
    const names = queueNames(identity);
    this.drive = new Queue<DriverJob>(names.drive, { connection, prefix: PREFIX });
    this.ranges = new Queue<RangeJob>(names.ranges, { connection, prefix: PREFIX });
  }

  /** Adds the run's driver job unless it is queued or running. */
  async enqueueDriver(runId: string): Promise<void> {
    await this.drive.add('drive', { runId }, { ...JOB_OPTIONS, jobId: driverJobId(runId), attempts: 1 });
  }

  async enqueueRange(data: RangeJob): Promise<void> {
    await this.ranges.add('range', data, {
      ...JOB_OPTIONS,
      jobId: rangeJobId(data.runId, data.ref),
      attempts: RANGE_ATTEMPTS,
      backoff: { type: 'exponential', delay: 1_000 },
    });
  }

  /** The refs whose range job is in Redis (waiting, delayed or running): ended jobs are removed. */
  async rangesQueued(runId: string, refs: RangeRef[]): Promise<Set<string>> {
    const jobs = await Promise.all(refs.map((ref) => this.ranges.getJob(rangeJobId(runId, ref))));
    return new Set(jobs.filter((j): j is Job<RangeJob> => Boolean(j)).map((j) => j.id!));
  }

  /** Removes the run's jobs that no worker runs yet (a run moved to another executor). */
  async removeWaiting(runId: string, refs: RangeRef[]): Promise<void> {
    const jobs = [await this.drive.getJob(driverJobId(runId)), ...(await Promise.all(refs.map((ref) => this.ranges.getJob(rangeJobId(runId, ref)))))];
    for (const job of jobs) {
      if (job && !(await job.isActive())) await job.remove().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.drive.close(), this.ranges.close()]);
  }
}
