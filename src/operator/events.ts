import type { EventRecord } from '../state/store.ts';
import type { OperatorContext } from './context.ts';

const PAGE = 500;

/** A run's event log, oldest first: every phase change, intent (with its actor), throttle and error. */
export async function runEvents(ctx: OperatorContext, ref: string): Promise<EventRecord[]> {
  const run = await ctx.store.findRun(ref);
  const events: EventRecord[] = [];
  // Page by id, never by offset: the log only grows while it is read.
  for (;;) {
    const page = await ctx.store.events(run.id, events.at(-1)?.id ?? '0', PAGE);
    events.push(...page);
    if (page.length < PAGE) return events;
  }
}
