/**
 * The operator API: every action an operator takes on a run, with its checks,
 * refusals and messages, below both the CLI and the web server, so that neither
 * can do what the other would refuse. Terminal and HTTP concerns stay with them.
 */
export { type OperatorContext, executorDeps } from './context.ts';
export { type DriveRequest, driveHere, rollBackHere } from './drive.ts';
export { type ActionResult, outcomeMessage, rolledBack } from './outcome.ts';
export { startRun, abandonUntaken, type StartOptions } from './start.ts';
export { pauseRun } from './pause.ts';
export { resumeRun, type ResumeOptions } from './resume.ts';
export { tuneRun, requireSomeTuning } from './tune.ts';
export { approveRun } from './approve.ts';
export { rollbackRun, awaitRollback } from './rollback.ts';
export { runStatus, allRunsStatus } from './status.ts';
export { runEvents } from './events.ts';
export { runPlan, type RunPlan } from './plan.ts';
