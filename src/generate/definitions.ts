import { columnReferences, parseStatements } from '../lint/parser.ts';

/**
 * Specs of bellows operations read back from the definitions PostgreSQL prints
 * (pg_get_indexdef, pg_get_constraintdef, pg_get_functiondef), which is all a
 * snapshot keeps. Each reader says null when the definition uses something its
 * operation cannot express; the caller then writes raw SQL, or refuses.
 */

/** The text inside the parentheses that open at `open`, and where they close; quotes and nested parentheses respected. */
function parenthesized(text: string, open: number): { inner: string; end: number } | null {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return { inner: text.slice(open + 1, i), end: i };
  }
  return null;
}

/** A list split at its top-level commas. */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(list.slice(start).trim());
  return parts;
}

const names = (list: unknown): string[] => (Array.isArray(list) ? list.map((n) => n.String.sval as string) : []);

export interface IndexSpec {
  table: string;
  name: string;
  columns?: string[];
  expressions?: string[];
  unique: boolean;
  method: 'btree' | 'hash' | 'gin' | 'gist' | 'brin';
  where?: string;
}

const METHODS = new Set(['btree', 'hash', 'gin', 'gist', 'brin']);

/** create_index from `CREATE [UNIQUE] INDEX n ON s.t USING m (keys) [WHERE (p)]`; null for what it cannot express (order, operator class, INCLUDE …). */
export function indexSpec(definition: string): IndexSpec | null {
  const parsed = parseStatements(definition);
  if ('error' in parsed || parsed.statements[0]?.kind !== 'IndexStmt') return null;
  const node = parsed.statements[0].node;
  const elems: Array<Record<string, any>> = (node.indexParams ?? []).map((p: Record<string, any>) => p.IndexElem);
  const plain = elems.every((e) => e.ordering === 'SORTBY_DEFAULT' && e.nulls_ordering === 'SORTBY_NULLS_DEFAULT' && !e.opclass && !e.collation);
  if (!plain || node.indexIncludingParams || node.options || node.nulls_not_distinct || !METHODS.has(node.accessMethod) || !node.relation.inh) return null;
  const using = definition.indexOf(` USING ${node.accessMethod} (`);
  const keys = using < 0 ? null : parenthesized(definition, using + ` USING ${node.accessMethod} `.length);
  if (!keys) return null;
  const rest = definition.slice(keys.end + 1).trim();
  const where = rest.startsWith('WHERE ') ? rest.slice('WHERE '.length) : rest === '' ? undefined : null;
  if (where === null) return null;
  const texts = splitTopLevel(keys.inner);
  const spec: IndexSpec = {
    table: `${node.relation.schemaname}.${node.relation.relname}`,
    name: node.idxname,
    unique: node.unique === true,
    method: node.accessMethod,
    ...(where ? { where } : {}),
  };
  // A key written `(column)` is a plain column to PostgreSQL, so a mix of columns and expressions is all expressions.
  if (elems.every((e) => e.name)) spec.columns = elems.map((e) => e.name as string);
  else spec.expressions = texts;
  return spec;
}

export type ConstraintSpec =
  | { type: 'primary_key'; columns: string[] }
  | { type: 'check'; columns: string[]; check: string }
  | { type: 'unique'; columns: string[] }
  | { type: 'foreign_key'; columns: string[]; references: { table: string; columns: string[] }; on_delete?: string };

const ON_DELETE: Record<string, string | undefined> = { a: undefined, r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };

/** create_constraint from pg_get_constraintdef's text; null for what it cannot express (EXCLUDE, ON UPDATE, DEFERRABLE, INCLUDE …). */
export function constraintSpec(definition: string): ConstraintSpec | null {
  const parsed = parseStatements(`ALTER TABLE t ADD CONSTRAINT c ${definition}`);
  if ('error' in parsed) return null;
  const c: Record<string, any> | undefined = parsed.statements[0]?.node.cmds?.[0]?.AlterTableCmd?.def?.Constraint;
  if (!c || c.deferrable || c.initdeferred || c.including || c.nulls_not_distinct || c.options || c.indexspace || c.is_no_inherit || c.skip_validation) return null;
  switch (c.contype) {
    case 'CONSTR_PRIMARY':
      return { type: 'primary_key', columns: names(c.keys) };
    case 'CONSTR_UNIQUE':
      return { type: 'unique', columns: names(c.keys) };
    case 'CONSTR_CHECK': {
      const inner = definition.startsWith('CHECK ') ? parenthesized(definition, 'CHECK '.length) : null;
      if (!inner || inner.end !== definition.length - 1) return null;
      const columns = [...columnReferences(c.raw_expr)];
      return columns.length ? { type: 'check', columns, check: inner.inner } : null;
    }
    case 'CONSTR_FOREIGN': {
      if (c.fk_upd_action !== 'a' || c.fk_matchtype !== 's' || c.fk_del_set_cols || !(c.fk_del_action in ON_DELETE)) return null;
      const onDelete = ON_DELETE[c.fk_del_action];
      return {
        type: 'foreign_key',
        columns: names(c.fk_attrs),
        references: { table: `${c.pktable.schemaname ?? 'public'}.${c.pktable.relname}`, columns: names(c.pk_attrs) },
        ...(onDelete ? { on_delete: onDelete } : {}),
      };
    }
    default:
      return null;
  }
}

export interface FunctionSpec {
  schema: string;
  name: string;
  args: string;
  returns: string;
  language: 'sql' | 'plpgsql';
  body: string;
  volatility?: 'immutable' | 'stable';
  security_definer: boolean;
}

/**
 * create_function from pg_get_functiondef, which prints one clause a line:
 * the header, RETURNS, LANGUAGE, then each attribute other than its default,
 * then the body in dollar quotes. Anything besides volatility and SECURITY
 * DEFINER (STRICT, PARALLEL, SET, COST …), another language or a SQL-standard
 * body is more than the operation says: null.
 */
export function functionSpec(definition: string, schema: string, name: string): FunctionSpec | null {
  const match = /^CREATE OR REPLACE FUNCTION [^\n]*?\((?<args>[^\n]*)\)\n RETURNS (?<returns>[^\n]+)\n LANGUAGE (?<language>sql|plpgsql)\n(?<attributes>(?: [A-Z][^\n]*\n)*)AS (?<tag>\$[A-Za-z_]*\$)(?<body>[\s\S]*)\k<tag>\s*$/.exec(definition);
  if (!match?.groups) return null;
  const { args, returns, language, attributes, body } = match.groups;
  const spec: FunctionSpec = { schema, name, args, returns, language: language as FunctionSpec['language'], body, security_definer: false };
  for (const attribute of attributes.split('\n').map((a) => a.trim()).filter(Boolean)) {
    if (attribute === 'IMMUTABLE' || attribute === 'STABLE') spec.volatility = attribute.toLowerCase() as FunctionSpec['volatility'];
    else if (attribute === 'SECURITY DEFINER') spec.security_definer = true;
    else return null;
  }
  return spec;
}
