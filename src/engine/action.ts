/**
 * An action is one DDL statement as data: the engine runs it, `plan` prints it,
 * and the state store records its id once done, so a resumed run skips it.
 */
export type LockLevel =
  | 'ACCESS EXCLUSIVE (brief: catalog only)'
  | 'SHARE ROW EXCLUSIVE (brief: catalog only)'
  | 'SHARE UPDATE EXCLUSIVE (reads and writes continue)'
  | 'ROW EXCLUSIVE (rows of one batch)'
  | 'ACCESS SHARE (reads only)'
  /** REFRESH MATERIALIZED VIEW CONCURRENTLY: its tables are only read, and the view stays readable throughout. */
  | 'EXCLUSIVE (the materialized view only: it stays readable)'
  /** The first REFRESH of a materialized view created WITH NO DATA: nothing can read it before, so nobody waits. */
  | 'ACCESS EXCLUSIVE (an unpopulated materialized view only: nobody can read it yet)'
  | 'none'
  /** Raw SQL (the sql operation): the level its playbook declares, which bellows cannot check. */
  | `${string} (as the playbook declares)`;

export interface Action {
  /** Stable across runs of the same plan: `expand:0:add_column:column`. */
  id: string;
  sql: string;
  lock: LockLevel;
  /** Why this statement exists, shown by `bellows plan`. */
  note: string;
  /**
   * CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block, nor can
   * a DO block that commits as it goes (a file seed's rollback), so such an action
   * is not atomic with its completion record; it must be idempotent itself.
   */
  concurrent?: boolean;
  /**
   * A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind; before the
   * action runs again, the engine drops that leftover (concurrently too). On a
   * rollback step that `undoes` such a build, the leftover is dropped even though
   * the build, having failed, is not recorded as done.
   */
  replacesInvalidIndex?: { schema: string; name: string };
  /**
   * For rollback: the id of the action whose object this one removes. Rollback
   * skips it unless that action is recorded as done by this run, so it never
   * drops a column that someone else created with the same name meanwhile.
   */
  undoes?: string;
}

/**
 * An action as an operation plans it: one that undoes another names that action
 * itself, not its id, and compile checks the plan creates it (engine/compile.ts),
 * so a mistyped or missing link is an error when the plan is made, never a
 * rollback step skipped in silence.
 */
export type PlannedAction = Omit<Action, 'undoes'> & { undoes?: PlannedAction };

export type ActionPhase = 'expand' | 'dual_write' | 'verify' | 'contract' | 'rollback';

/**
 * Turns each planned `undoes` link into the id the run records, once it is
 * sure the plan creates that action: a dangling link is a bug in an operation,
 * and must stop the plan rather than make rollback skip the step.
 */
export function linkUndone(actions: PlannedAction[], created: PlannedAction[]): Action[] {
  const ids = new Set(created.map((a) => a.id));
  return actions.map(({ undoes, ...action }) => {
    if (!undoes) return action;
    if (!ids.has(undoes.id)) throw new Error(`plan: ${action.id} undoes ${undoes.id}, which this plan does not create`);
    return { ...action, undoes: undoes.id };
  });
}
