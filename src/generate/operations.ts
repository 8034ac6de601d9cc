import type { SchemaSnapshot } from '../snapshot/format.ts';
import { Generation, unmappable, type GeneratedOperation } from './context.ts';
import type { Renames } from './renames.ts';
import { columnChanges, renameColumns } from './steps/columns.ts';
import { droppedKeys, newKeys } from './steps/keys.ts';
import { dropViewsAndFunctions, functionsAndViews } from './steps/routines.ts';
import { dropTables, newTables, renameTables } from './steps/tables.ts';
import { dropTypes, schemasAndTypes } from './steps/types.ts';

export type { GeneratedOperation };

export interface GeneratedChanges {
  operations: GeneratedOperation[];
  /** What the reviewer must look at: placeholders, drops that may be renames, raw SQL. One line each. */
  flagged: string[];
  /** Differences a playbook does not carry, said in the header: owners and privileges. */
  leftAlone: string[];
}

/** What no operation makes, drops or changes is refused before anything is written. */
function refuseTriggersAndSequences(g: Generation): void {
  for (const kind of ['trigger', 'sequence'] as const) {
    const serial = kind === 'sequence' ? ' (for a serial column, use an identity column: GENERATED … AS IDENTITY)' : '';
    for (const o of g.added(kind)) unmappable(o, `added, and no bellows operation makes a ${kind}${serial}; do it in a sql operation of its own`);
    for (const o of g.removed(kind)) if (!g.goesWithParent(o)) unmappable(o, `removed, and no bellows operation drops a ${kind}; do it in a sql operation of its own`);
    for (const [a, b] of g.kept(kind)) g.refuseChanges(a, b, `no bellows operation changes a ${kind}`);
  }
}

/**
 * The operations that take `live` (as the declared renames leave it) to
 * `desired`, in the order they can run: schemas and types; new tables;
 * declared column renames; constraints and indexes that go; columns; the new
 * constraints and indexes; functions and views; drops, dependants first; table
 * renames last.
 */
export function generateOperations(live: SchemaSnapshot, desired: SchemaSnapshot, renames: Renames): GeneratedChanges {
  const g = new Generation(live, desired, renames);
  refuseTriggersAndSequences(g);
  schemasAndTypes(g);
  newTables(g);
  renameColumns(g);
  const renamedConstraints = droppedKeys(g);
  columnChanges(g);
  newKeys(g, renamedConstraints);
  functionsAndViews(g);
  dropViewsAndFunctions(g);
  dropTables(g);
  dropTypes(g);
  renameTables(g);
  // Fields left undefined (an optional one not needed) are not written.
  const operations = g.operations.map((o) => ({ ...o, operation: JSON.parse(JSON.stringify(o.operation)) }));
  return { operations, flagged: g.flagged, leftAlone: [...new Set(g.leftAlone)] };
}

