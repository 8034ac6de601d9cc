import type { Action } from '../engine/action.ts';
import type { CompiledPlan } from '../engine/compile.ts';
import { InputError } from '../errors.ts';
import { operationEntries, type Playbook } from '../playbook/schema.ts';
import { parseExpression, parseStatements, type ParsedStatement } from './parser.ts';
import type { Location, Subject } from './rule.ts';
import { RAW_SQL_NOTES } from '../operations/sql.ts';

const RAW = new Set<string>(Object.values(RAW_SQL_NOTES));

/** A statement before it knows what ran before it: the order is the playbook's. */
export type Statement = Omit<Subject, 'earlier' | 'lockTimeoutMs' | 'live'>;

/** Keys of an operation's spec whose strings are value expressions, which lint reads as one expression each. */
const EXPRESSION_KEYS = new Set(['up', 'down', 'default']);

function parsedOrBad(sql: string, field: string): ParsedStatement[] {
  const parsed = parseStatements(sql);
  if ('error' in parsed) throw new InputError(`${field}: PostgreSQL cannot parse it: ${parsed.error}`);
  return parsed.statements;
}

/**
 * Every value expression in a spec, with its path (`into[1].up`), however deep
 * the operation nests them; under an expression key, a record of them
 * (merge_columns' `down: { first_name: …, last_name: … }`).
 */
function expressionsOf(value: unknown, path: string, out: Array<{ field: string; text: string }>, inExpression = false): void {
  if (typeof value === 'string') {
    if (inExpression) out.push({ field: path, text: value });
  } else if (Array.isArray(value)) value.forEach((v, i) => expressionsOf(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) expressionsOf(v, `${path}.${key}`, out, EXPRESSION_KEYS.has(key) || (inExpression && typeof v === 'string'));
  }
}

/**
 * What the playbook itself writes, parsed with PostgreSQL's parser, in the
 * order it runs: the statements of each sql operation (its `up`, then its
 * `rollback`) and every value expression of the other operations. A field the
 * parser refuses is bad input: the run would fail on it.
 */
export function playbookStatements(playbook: Playbook, file: string): Statement[] {
  const out: Statement[] = [];
  for (const entry of operationEntries(playbook)) {
    const where = `operations[${entry.index}].${entry.kind}`;
    const at = (field: string): Location => ({ file, operation: entry.index, field });
    const operation = { kind: entry.kind, spec: entry.spec };
    if (entry.kind === 'sql') {
      const { up, rollback, phase } = entry.spec;
      for (const statement of parsedOrBad(up, `${where}.up`)) out.push({ statement, origin: 'raw', location: at(`${where}.up`), phase, operation });
      if (rollback) for (const statement of parsedOrBad(rollback, `${where}.rollback`)) out.push({ statement, origin: 'rollback', location: at(`${where}.rollback`), phase, operation });
      continue;
    }
    const expressions: Array<{ field: string; text: string }> = [];
    expressionsOf(entry.spec, where, expressions);
    for (const { field, text } of expressions) {
      const parsed = parseExpression(text);
      if ('error' in parsed) throw new InputError(`${field}: PostgreSQL cannot parse it as an expression: ${parsed.error}`);
      out.push({ statement: { kind: 'Expression', node: parsed.node, text }, origin: 'expression', location: at(field), operation });
    }
  }
  return out;
}

/** The operation an action belongs to, from its id (`expand:3:add_column:column`). */
function operationOf(action: Action): number | undefined {
  const index = Number(action.id.split(':')[1]);
  return Number.isInteger(index) ? index : undefined;
}

/**
 * Every DDL statement of a compiled plan, bellows' own, in the order the
 * phases run it. The backfill's and verify's per-batch statements are
 * templates (`<checkpoint>`) that only read or update one batch of rows. Raw
 * SQL is linted from the playbook's own fields (playbookStatements), where a
 * finding can name the field, so it is left out here.
 */
export function planStatements(plan: CompiledPlan, file: string): Statement[] {
  const out: Statement[] = [];
  const phases: Array<[string, Action[]]> = [
    ['expand', plan.expand],
    ['dual_write', plan.dualWrite],
    ['verify', plan.verify],
    ['contract', plan.contract],
    ['rollback', plan.rollback],
  ];
  for (const [phase, actions] of phases) {
    actions.forEach((action, i) => {
      if (RAW.has(action.note)) return;
      const operation = operationOf(action);
      const field = `plan.${phase}[${i}]${operation === undefined ? '' : ` (operations[${operation}])`}`;
      for (const statement of parsedOrBad(action.sql, field)) out.push({ statement, origin: 'compiled', location: { file, operation, field } });
    });
  }
  return out;
}
