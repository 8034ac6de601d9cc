import type { RunRecord } from '../state/types.ts';
import type { DriverProbe } from '../state/liveness.ts';

/** 'moved': another executor took the run over while this one drove it (bellows resume --executor). */
export type DriveOutcome = 'completed' | 'awaiting_approval' | 'rolled_back' | 'stopped' | 'submitted' | 'moved';

export type Intent = 'pause' | 'resume' | 'tune' | 'approve' | 'abort';

/**
 * Where and when a run's steps execute. Every executor calls the same steps
 * (engine/steps.ts); the state store holds the truth about progress and intent,
 * so an executor only has to drive, and to be woken when an operator acts.
 */
export interface Executor {
  readonly name: string;
  /**
   * Whether this executor's driver is the CLI process itself (local): a command
   * that steers a run nobody drives then drives it; any other executor is woken.
   */
  readonly drivesInProcess: boolean;
  /**
   * Throws (an EnvironmentError) unless this executor can take a run now. `start`
   * asks before it creates a run, so a start that nothing could drive leaves no
   * run behind to hold its tables.
   */
  ready(): Promise<void>;
  /**
   * Takes the run forward: the local executor runs it in this process until it
   * completes (or, with `stopAtGate`, until it waits for approval); a remote
   * executor submits it and returns.
   */
  drive(run: RunRecord, options: { stopAtGate: boolean }): Promise<DriveOutcome>;
  /**
   * Whether this executor is driving the run, as far as it can tell without the
   * state store (state/liveness.ts combines this with the run's heartbeat). Never
   * throws: an executor that cannot be asked answers 'unknown'.
   */
  probe(run: RunRecord): Promise<DriverProbe>;
  /**
   * Lets go of a run another executor takes over: a Temporal workflow is
   * terminated if the server can be reached (its walkers are fenced out anyway
   * once the new driver claims their ranges). Throws if it cannot let go: a
   * live local process is not ours to stop.
   */
  release(run: RunRecord): Promise<void>;
  /** Wakes the run's driver after an intent was written to the state store. */
  notify(run: RunRecord, intent: Intent): Promise<void>;
  close(): Promise<void>;
}
