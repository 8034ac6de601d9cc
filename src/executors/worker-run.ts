import type pg from 'pg';
import type { Logger } from 'pino';
import type { StateStore } from '../state/store.ts';

/** What `bellows worker` hands an executor's worker: the database it serves, the flags, and the signal to stop on. */
export interface WorkerRun {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
  /** Aborts on SIGTERM or SIGINT: finish the batches in flight, hand their work back, return. */
  stop: AbortSignal;
  /** Ranges this process walks at once. */
  concurrency: number;
  shutdownGraceMs: number;
  /** Range jobs at once on one target database, fleet-wide (BullMQ). */
  maxRangesPerDatabase: number;
  /** Further databases whose runs this worker serves (BullMQ). */
  serveDatabases: string[];
  stateSchema?: string;
  /** One line for the operator's terminal. */
  say(line: string): void;
}
