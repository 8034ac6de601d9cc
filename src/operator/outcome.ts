import type { DriveOutcome } from '../executors/executor.ts';
import type { RunRecord } from '../state/types.ts';
import type { DriveRequest } from './drive.ts';

/** What an action did, and what is left for its caller. */
export interface ActionResult {
  /** What happened, as the CLI prints it and the API answers it. */
  message: string;
  run: RunRecord;
  /**
   * Set when nothing else will carry the run on (a local run nobody drives, a
   * rollback nobody would see): the caller drives it, the CLI in its terminal,
   * the server in the background.
   */
  driveHere?: DriveRequest;
}

/**
 * What a rollback can truthfully promise: it removes what the run created and
 * nothing else, and bellows never writes the original columns itself (only the
 * applications do, through the triggers), so their data is the applications'.
 */
export function rolledBack(runId: string): string {
  return `run ${runId} rolled back: every object the run created is removed, the original schema is back; the original columns were written only by the applications and keep their data`;
}

/** How a drive ended, in the one sentence every caller shows. */
export function outcomeMessage(runId: string, outcome: DriveOutcome): string {
  switch (outcome) {
    case 'completed':
      return `run ${runId} completed: contract done, the new schema is in place`;
    case 'awaiting_approval':
      return `run ${runId}: verify passed; contract waits for approval: bellows approve ${runId}`;
    case 'rolled_back':
      return rolledBack(runId);
    case 'stopped':
      return `run ${runId} stopped at a checkpoint; continue with: bellows resume ${runId}`;
    case 'submitted':
      return `run ${runId} submitted; follow it with: bellows watch ${runId}`;
    case 'moved':
      return `run ${runId} moved to another executor, which drives it now; this process let go of it`;
  }
}
