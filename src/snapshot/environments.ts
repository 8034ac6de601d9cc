import type pg from 'pg';
import { StateStore } from '../state/store.ts';
import { hasState, type InFlightRun } from '../state/snapshots.ts';
import { compareSnapshots, type Difference } from './compare.ts';
import { liveSnapshot } from './live.ts';
import type { SchemaSnapshot } from './format.ts';

/** One environment as `diff` sees it: its applied playbooks in the order it got them, and its live schema. */
interface Environment {
  applied: string[];
  inFlight: InFlightRun[];
  snapshot: SchemaSnapshot;
}

export interface PlaybookComparison {
  /** Each side's applied playbooks, in the order it applied them. */
  a: string[];
  b: string[];
  onlyInA: string[];
  onlyInB: string[];
  /** The playbooks both applied, when the two applied them in a different order (else null). */
  order: { a: string[]; b: string[] } | null;
}

export interface EnvironmentDiff {
  playbooks: PlaybookComparison;
  inFlight: { a: InFlightRun[]; b: InFlightRun[] };
  /** From a (before) to b (after). */
  differences: Difference[];
}

/** Read only: a database without bellows' state has applied nothing, and gets no state from this. */
async function readEnvironment(pool: pg.Pool, stateSchema: string | undefined): Promise<Environment> {
  const store = new StateStore(pool, stateSchema);
  const applied = (await hasState(store)) ? (await store.history('applied')).map((h) => h.playbookName) : [];
  const { snapshot, inFlight } = await liveSnapshot(store);
  return { applied, inFlight, snapshot };
}

export function comparePlaybooks(a: string[], b: string[]): PlaybookComparison {
  const inA = new Set(a);
  const inB = new Set(b);
  const commonA = a.filter((p) => inB.has(p));
  const commonB = b.filter((p) => inA.has(p));
  const sameOrder = commonA.every((p, i) => p === commonB[i]);
  return {
    a,
    b,
    onlyInA: a.filter((p) => !inB.has(p)),
    onlyInB: b.filter((p) => !inA.has(p)),
    order: sameOrder ? null : { a: commonA, b: commonB },
  };
}

export async function diffEnvironments(a: pg.Pool, b: pg.Pool, stateSchema?: string): Promise<EnvironmentDiff> {
  const [envA, envB] = await Promise.all([readEnvironment(a, stateSchema), readEnvironment(b, stateSchema)]);
  return {
    playbooks: comparePlaybooks(envA.applied, envB.applied),
    inFlight: { a: envA.inFlight, b: envB.inFlight },
    differences: compareSnapshots(envA.snapshot, envB.snapshot),
  };
}

export function environmentsDiffer(d: EnvironmentDiff): boolean {
  return d.differences.length > 0 || d.playbooks.onlyInA.length > 0 || d.playbooks.onlyInB.length > 0 || d.playbooks.order !== null;
}
