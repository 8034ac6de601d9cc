import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Tuning } from '../src/state/types.ts';

/**
 * The contract between the workflow and everything that talks to it (the
 * executor, the CLI through it, tests). It lives apart from the workflow so a
 * client can import the definitions without importing the workflow itself.
 */

export const WORKFLOW_TYPE = 'migrationRun';

export interface MigrationInput {
  runId: string;
  /** How long a range activity may go silent before Temporal hands it to another worker. */
  heartbeatTimeoutMs?: number;
  /** A range activity returns after this long and is scheduled again, so no single attempt runs for days. */
  sliceMs?: number;
  /** History length after which the workflow continues as new at its next safe point. */
  historyLimit?: number;
  /** State carried over `continueAsNew`; absent on the first execution. */
  carried?: Carried;
}

export interface Carried {
  aborting: boolean;
  approved: boolean;
  halted: string | null;
  generation: number;
}

/** 'moved': the run was moved to another executor (bellows resume --executor), which drives it from here. */
export type MigrationOutcome = 'completed' | 'rolled_back' | 'moved';

/** What the `status` query answers: the workflow's own view; the state store has the rows and checkpoints. */
export interface MigrationStatus {
  runId: string;
  phase: string;
  /** What the workflow is doing right now: an activity name, or what it waits for. */
  step: string;
  paused: boolean;
  aborting: boolean;
  approved: boolean;
  /** Set while a failed step waits for the operator (resume retries it, rollback undoes the run). */
  halted: string | null;
  rangesInFlight: string[];
  tuning: Tuning;
  /** How many times this run continued as new (history bound). */
  generation: number;
}

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const tuneSignal = defineSignal<[Tuning]>('tune');
export const abortSignal = defineSignal('abort');
export const approveUpdate = defineUpdate<{ runId: string; approved: true }>('approve');
export const statusQuery = defineQuery<MigrationStatus>('status');
