import { describePlan, type PlanSection } from '../engine/plan-text.ts';
import type { Playbook } from '../playbook/schema.ts';
import type { OperatorContext } from './context.ts';

export interface RunPlan {
  run: string;
  playbook: string;
  /** The playbook as the run was started with it (the operations the plan is made of). */
  document: Playbook;
  phases: PlanSection[];
}

/** The plan a run was started with, as stored with it: every phase's statements and the lock each takes. */
export async function runPlan(ctx: OperatorContext, ref: string): Promise<RunPlan> {
  const run = await ctx.store.findRun(ref);
  return { run: run.id, playbook: run.playbookName, document: run.playbook, phases: describePlan(run.plan) };
}
