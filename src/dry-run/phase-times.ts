import type { StateStore } from '../state/store.ts';
import type { Phase } from '../state/types.ts';

export interface PhaseTime {
  phase: Phase;
  seconds: number;
  /** Rows the phase walked, by table (backfill, verify); empty for the others. */
  rows: Record<string, number>;
}

/**
 * How long each phase of a run took, from its event log: a phase lasts from
 * the event that entered it to the one that left it (the run's own creation
 * enters expand). The gate is left out: its length is the approver's, not the
 * database's; so is `done`, which is an end, not a phase.
 */
export async function phaseTimes(store: StateStore, runId: string, until: Date): Promise<PhaseTime[]> {
  const run = await store.getRun(runId);
  const entered: Array<{ phase: Phase; at: Date }> = [{ phase: 'expand', at: run.createdAt }];
  for (let after = '0'; ; ) {
    const page = await store.events(runId, after);
    for (const e of page) if (e.kind === 'phase' && e.detail.to !== e.detail.from) entered.push({ phase: e.detail.to as Phase, at: e.at });
    if (page.length < 200) break;
    after = page[page.length - 1].id;
  }
  const walked = await walkedRows(store, runId);
  return entered
    .map((e, i) => ({ phase: e.phase, seconds: ((entered[i + 1]?.at ?? until).getTime() - e.at.getTime()) / 1000, rows: walked[e.phase] ?? {} }))
    .filter((t) => t.phase !== 'gate' && t.phase !== 'done');
}

/** The phase a failed run failed in: the one it was in, or, if its failure was already rolled back, the one it left for rollback. */
export async function failedPhase(store: StateStore, runId: string): Promise<Phase> {
  const run = await store.getRun(runId);
  if (run.phase !== 'rollback') return run.phase;
  let from: Phase = run.phase;
  for (let after = '0'; ; ) {
    const page = await store.events(runId, after);
    for (const e of page) if (e.kind === 'phase' && e.detail.to === 'rollback' && e.detail.from !== 'rollback') from = e.detail.from as Phase;
    if (page.length < 200) return from;
    after = page[page.length - 1].id;
  }
}

async function walkedRows(store: StateStore, runId: string): Promise<Partial<Record<Phase, Record<string, number>>>> {
  const out: Partial<Record<Phase, Record<string, number>>> = {};
  for (const task of ['backfill', 'verify'] as const) {
    const byTable: Record<string, number> = {};
    for (const r of await store.getRanges(runId, task)) byTable[r.table] = (byTable[r.table] ?? 0) + r.rowsDone;
    out[task] = byTable;
  }
  return out;
}
