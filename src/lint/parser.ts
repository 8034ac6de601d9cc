import { loadModule, parseSync } from 'libpg-query';

// The parser is WebAssembly: loaded once, when the first module that needs it is imported.
await loadModule();

/** A parse-tree node as libpg-query gives it: `{ NodeType: { ...fields } }`. */
export type Node = Record<string, unknown>;

export interface ParsedStatement {
  /** The node type, e.g. `AlterTableStmt`. */
  kind: string;
  /** Its fields. */
  node: Record<string, any>;
  /** The statement's own text, as written. */
  text: string;
}

/** Statements of `sql` as PostgreSQL parses them, or its complaint. */
export function parseStatements(sql: string): { statements: ParsedStatement[] } | { error: string } {
  let tree: { stmts?: Array<{ stmt: Node; stmt_location?: number; stmt_len?: number }> };
  try {
    tree = parseSync(sql);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  const statements = (tree.stmts ?? []).map((s) => {
    const [kind, node] = Object.entries(s.stmt)[0] as [string, Record<string, any>];
    const start = s.stmt_location ?? 0;
    const text = sql.slice(start, s.stmt_len ? start + s.stmt_len : undefined).trim();
    return { kind, node, text };
  });
  return { statements };
}

/**
 * One expression as PostgreSQL parses it (a SELECT list of one), or its complaint.
 * Parsed alone, it cannot smuggle a second statement in: that is a parse error.
 */
export function parseExpression(expression: string): { node: Node } | { error: string } {
  const parsed = parseStatements(`SELECT (${expression})`);
  if ('error' in parsed) return parsed;
  const [select] = parsed.statements;
  if (parsed.statements.length !== 1 || select.kind !== 'SelectStmt' || select.node.targetList?.length !== 1 || select.node.fromClause) {
    return { error: 'not a single expression' };
  }
  return { node: select.node.targetList[0].ResTarget.val };
}

/** Calls `visit(type, fields)` for every node under `tree`, depth first. */
export function walk(tree: unknown, visit: (type: string, fields: Record<string, any>) => void): void {
  if (Array.isArray(tree)) {
    for (const item of tree) walk(item, visit);
    return;
  }
  if (tree === null || typeof tree !== 'object') return;
  for (const [key, value] of Object.entries(tree)) {
    // Node types are capitalised (`ColumnRef`); plain fields are not (`fields`, `args`).
    if (key[0] >= 'A' && key[0] <= 'Z' && value !== null && typeof value === 'object' && !Array.isArray(value)) visit(key, value as Record<string, any>);
    walk(value, visit);
  }
}

function strings(list: unknown): string[] {
  return Array.isArray(list) ? list.flatMap((f) => (f?.String ? [f.String.sval as string] : [])) : [];
}

/** Every name a column reference in the tree uses (`a`, and both of `t.a`), as PostgreSQL folds them. */
export function columnReferences(tree: unknown): Set<string> {
  const names = new Set<string>();
  walk(tree, (type, fields) => {
    if (type === 'ColumnRef') for (const name of strings(fields.fields)) names.add(name);
  });
  return names;
}

/** The functions the tree calls, by their last name (`lower`, `pg_catalog.random` → `random`). */
export function functionCalls(tree: unknown): string[] {
  const calls: string[] = [];
  walk(tree, (type, fields) => {
    if (type === 'FuncCall') calls.push(strings(fields.funcname).at(-1)!);
  });
  return calls;
}

