import type pg from 'pg';
import { StateStore } from '../state/store.ts';
import { hasState, type InFlightRun } from '../state/snapshots.ts';
import { compareSnapshots, type Difference } from './compare.ts';
import { liveSnapshot } from './live.ts';
import type { SchemaSnapshot } from './format.ts';
import type { Severity } from '../util/severity.ts';

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
  /**
   * Warning when the lists differ, else null: a playbook one side lacks is a
   * change it has yet to get, and the schema differences it leaves are
   * judged on their own.
   */
  severity: Severity | null;
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
  const onlyInA = a.filter((p) => !inB.has(p));
  const onlyInB = b.filter((p) => !inA.has(p));
  const differ = onlyInA.length > 0 || onlyInB.length > 0 || !sameOrder;
  return { a, b, onlyInA, onlyInB, order: sameOrder ? null : { a: commonA, b: commonB }, severity: differ ? 'warning' : null };
}

export async function diffEnvironments(a: pg.Pool, b: pg.Pool, stateSchema?: string): Promise<EnvironmentDiff> {
  const [envA, envB] = await Promise.all([readEnvironment(a, stateSchema), readEnvironment(b, stateSchema)]);
  return {
    playbooks: comparePlaybooks(envA.applied, envB.applied),
    inFlight: { a: envA.inFlight, b: envB.inFlight },
    differences: compareSnapshots(envA.snapshot, envB.snapshot),
  };
}

/** Everything that differs, each with its severity (the playbook lists as one): what `--fail-on` counts. */
export function environmentFindings(d: EnvironmentDiff): Array<{ severity: Severity }> {
  return d.playbooks.severity ? [...d.differences, { severity: d.playbooks.severity }] : d.differences;
}
