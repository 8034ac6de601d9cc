import { DriverProbes } from '../executors/driver-probes.ts';
import { runProgress, type RunProgress } from '../state/progress.ts';
import type { RunRecord } from '../state/types.ts';
import { executorDeps, type OperatorContext } from './context.ts';

/**
 * Where a run stands, as `status --json` prints it and the API answers it.
 * `probes`: a long-lived caller (the server) keeps its own, so that a Temporal
 * connection is not opened for every answer; without, one is made for the call.
 */
export async function runStatus(ctx: OperatorContext, ref: string, probes?: DriverProbes): Promise<RunProgress> {
  const run = await ctx.store.findRun(ref);
  return withProbes(ctx, probes, (p) => progressOf(ctx, run, p));
}

/** The recent runs, newest first, each as runStatus gives it. */
export async function allRunsStatus(ctx: OperatorContext, probes?: DriverProbes): Promise<RunProgress[]> {
  const runs = await ctx.store.listRuns();
  return withProbes(ctx, probes, (p) => Promise.all(runs.map((run) => progressOf(ctx, run, p))));
}

async function progressOf(ctx: OperatorContext, run: RunRecord, probes: DriverProbes): Promise<RunProgress> {
  return runProgress(ctx.store, run, await probes.probe(run));
}

async function withProbes<T>(ctx: OperatorContext, given: DriverProbes | undefined, work: (probes: DriverProbes) => Promise<T>): Promise<T> {
  if (given) return work(given);
  const probes = new DriverProbes(executorDeps(ctx));
  try {
    return await work(probes);
  } finally {
    await probes.close();
  }
}
