import type { ParsedStatement } from './parser.ts';
import type { OperationEntry } from '../playbook/schema.ts';

import type { Severity } from '../util/severity.ts';

export { SEVERITIES, type Severity } from '../util/severity.ts';

/** Where a statement comes from: the playbook's file, and the field of one operation, or a phase of the compiled plan. */
export interface Location {
  file: string;
  /** Index into `operations`; absent for the plan's own per-table statements (backfill, verify). */
  operation?: number;
  /** `operations[3].sql.up`, `operations[0].alter_column.up`, or `plan.expand[2]`. */
  field: string;
}

/**
 * What a statement is: raw SQL a playbook wrote (`sql` operations), SQL bellows
 * compiled from an operation, or a playbook's value expression (`up`, `down`, `default`).
 */
export type Origin = 'raw' | 'rollback' | 'compiled' | 'expression';

/** What every rule may ask of the live database; absent without one. */
export interface LiveFacts {
  /** Estimated rows of a table (`schema.name`); null if there is no such table. */
  rows(table: string): Promise<number | null>;
  /** Whether any function of this name is volatile (pg_proc.provolatile); null if none has the name. */
  volatile(name: string): Promise<boolean | null>;
  /**
   * For a sample of live rows of `table`: how many do not give back their old
   * columns through the new ones' `up`, then the old ones' `down`; null when
   * the table or an old column is not there.
   */
  roundTrip(table: string, inverse: Inverse): Promise<{ sampled: number; mismatched: number; example: string | null } | null>;
}

/** What a value-transforming operation must give back: each old column from the new ones, each new one from the old. */
export interface Inverse {
  olds: Array<{ column: string; down: string }>;
  news: Array<{ name: string; up: string }>;
}

export interface Subject {
  statement: ParsedStatement;
  origin: Origin;
  location: Location;
  /** For raw SQL: the phase it runs in. */
  phase?: 'expand' | 'contract';
  /** Every statement of the playbook before this one, in the order they run: what a rule may rely on having happened. */
  earlier: ReadonlyArray<Subject>;
  /** The lock_timeout bellows sets around each statement (ms). */
  lockTimeoutMs: number;
  live?: LiveFacts;
  /** The operation the statement belongs to, as the playbook wrote it. */
  operation?: { kind: string; spec: unknown };
}

export interface Finding {
  rule: string;
  severity: Severity;
  location: Location;
  message: string;
  /** One line: what to write instead. */
  safe: string;
}

export interface Rule {
  id: string;
  severity: Severity;
  /** One line, for `--help`, the README and SARIF. */
  description: string;
  /** The statement's problems, each as a message (and a severity, where it depends on what was found). */
  check(subject: Subject): Promise<Array<{ message: string; safe: string; severity?: Severity }>> | Array<{ message: string; safe: string; severity?: Severity }>;
}

export function defineRule<R extends Rule>(rule: R): R {
  return rule;
}

/** A rule that reads the playbook's operations together, not one statement at a time (a drop and an add that may be a rename). */
export interface OperationsRule extends Rule {
  checkOperations(entries: OperationEntry[], file: string): Array<{ location: Location; message: string; safe: string }>;
}

export function readsOperations(rule: Rule): rule is OperationsRule {
  return typeof (rule as Partial<OperationsRule>).checkOperations === 'function';
}

/** The ALTER TABLE sub-commands of a statement, with the table they act on; none for other statements. */
export function alterCommands(statement: ParsedStatement): Array<{ table: string; cmd: Record<string, any> }> {
  if (statement.kind !== 'AlterTableStmt' || statement.node.objtype !== 'OBJECT_TABLE') return [];
  const rel = statement.node.relation;
  const table = `${rel.schemaname ?? 'public'}.${rel.relname}`;
  return (statement.node.cmds ?? []).map((c: Record<string, any>) => ({ table, cmd: c.AlterTableCmd }));
}

/** Tables created by earlier statements of the playbook: nobody reads them yet, so no lock on them hurts. */
export function createdEarlier(subject: Subject, table: string): boolean {
  return subject.earlier.some((s) => s.statement.kind === 'CreateStmt' && tableOf(s.statement.node.relation) === table);
}

export function tableOf(rangeVar: Record<string, any> | undefined): string {
  return rangeVar ? `${rangeVar.schemaname ?? 'public'}.${rangeVar.relname}` : '';
}
