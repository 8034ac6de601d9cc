import type { DesiredState, Phase, RunStatus } from '../state/types.ts';

/**
 * The phase decision every executor follows: given what the state store says
 * about a run, what to run next or what to wait for. Pure (no I/O, no clock, no
 * randomness), so the Temporal workflow can import it and replay stays
 * deterministic; executors differ only in how they carry the answer out.
 */

/** The engine's steps (engine/steps.ts) that a decision can name. */
export type StepName = 'expand' | 'dualWrite' | 'prepareBackfill' | 'finishBackfill' | 'prepareVerify' | 'finishVerify' | 'contract' | 'rollback';

export interface RunView {
  phase: Phase;
  status: RunStatus;
  desired: Pick<DesiredState, 'paused' | 'approved' | 'abort'>;
  autoContract: boolean;
  /** The executor the run belongs to. */
  executor: string;
}

export type Decision =
  /** Nothing left for this executor: the run ended, or another executor owns it now. */
  | { next: 'finish'; outcome: 'completed' | 'rolled_back' | 'moved' }
  /** Run these steps, in order, then decide again. */
  | { next: 'steps'; steps: StepName[] }
  /**
   * Walk the task's unfinished ranges (its prepare step lists them) with the run
   * `status`; once the prepare step lists none, run `then` and decide again.
   */
  | { next: 'ranges'; task: 'backfill' | 'verify'; status: 'running'; then: StepName[] }
  /** Show `status` and wait for the operator (resume or approve), then decide again. */
  | { next: 'wait'; until: 'resume' | 'approval'; status: 'paused' | 'awaiting_approval' };

export function decide(run: RunView, self: string): Decision {
  if (run.status === 'rolled_back') return { next: 'finish', outcome: 'rolled_back' };
  if (run.phase === 'done') return { next: 'finish', outcome: 'completed' };
  // An abort outranks everything, a move included: whoever drives the run when it is asked for rolls back.
  if (run.desired.abort || run.phase === 'rollback') return steps('rollback');
  if (run.executor !== self) return { next: 'finish', outcome: 'moved' };
  switch (run.phase) {
    case 'expand':
      return steps('expand', 'dualWrite');
    case 'dual_write':
      return steps('dualWrite', 'prepareBackfill');
    case 'backfill':
      if (run.desired.paused) return waitFor('resume');
      return { next: 'ranges', task: 'backfill', status: 'running', then: ['finishBackfill', 'prepareVerify'] };
    case 'verify':
      if (run.desired.paused) return waitFor('resume');
      return { next: 'ranges', task: 'verify', status: 'running', then: ['finishVerify'] };
    case 'gate':
      // A pause does not hold the gate: contract only runs once approved (or auto-contract is set), and is one short transaction.
      return run.desired.approved || run.autoContract ? steps('contract') : waitFor('approval');
    case 'contract':
      return steps('contract');
  }
}

/**
 * What a failed step leaves: a failed expand or dual-write is rolled back at
 * once (its DDL is all additive and nothing is backfilled, so nothing is worth
 * keeping half-done); any later failure halts the run, failed, for the operator
 * to resume from its checkpoints or roll back: days of backfill are not thrown
 * away for a database that was down for an hour.
 */
export function afterFailure(phase: Phase): 'rollback' | 'halt' {
  return phase === 'expand' || phase === 'dual_write' ? 'rollback' : 'halt';
}

function steps(...names: StepName[]): Decision {
  return { next: 'steps', steps: names };
}

function waitFor(until: 'resume' | 'approval'): Decision {
  return { next: 'wait', until, status: until === 'resume' ? 'paused' : 'awaiting_approval' };
}
