import { DriverProbes } from '../executors/driver-probes.ts';
import { runProgress, type RunProgress } from '../state/progress.ts';
import { sleep } from '../util/sleep.ts';
import { executorDeps } from '../operator/index.ts';
import type { CliContext } from './context.ts';
import { renderProgress } from './render/progress-view.ts';

/** A run in one of these states will not move without an operator. */
export const SETTLED = ['completed', 'rolled_back', 'failed', 'awaiting_approval'];

/**
 * Draws a run's progress until it settles (or `stop` fires). In a terminal the
 * lines are redrawn in place; in a pipe or a log, a new block is printed only
 * every few seconds, so CI logs stay readable.
 */
export async function watchRun(
  ctx: CliContext,
  runId: string,
  /** `drivenHere`: this process drives the run, so it is never shown as stalled (the lock may not be taken yet). */
  options: { stop?: AbortSignal; intervalMs?: number; detail?: boolean; drivenHere?: boolean } = {},
): Promise<RunProgress> {
  const tty = process.stdout.isTTY === true;
  const interval = options.intervalMs ?? (tty ? 500 : 2000);
  let drawn = 0;
  let last = '';
  const probes = new DriverProbes(executorDeps(ctx));
  try {
    for (;;) {
      const run = await ctx.store.getRun(runId);
      const progress = await runProgress(ctx.store, run, options.drivenHere ? 'driven' : await probes.probe(run));
      const lines = renderProgress(progress, options.detail);
      const text = lines.join('\n');
      if (tty) {
        process.stdout.write((drawn ? `\x1b[${drawn}A\x1b[0J` : '') + text + '\n');
        drawn = lines.length;
      } else if (text !== last) {
        process.stdout.write(text + '\n');
      }
      last = text;
      if (SETTLED.includes(progress.status) || options.stop?.aborted) return progress;
      await sleep(interval, options.stop);
    }
  } finally {
    await probes.close();
  }
}
