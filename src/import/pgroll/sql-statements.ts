import { loadModule, parseSync } from 'libpg-query';
import { refuse } from './refusal.ts';

/**
 * What PostgreSQL's own parser (libpg-query, WebAssembly) reads in a pgroll
 * `sql` operation: whether a statement must run outside a transaction block,
 * and which relations it names without their schema. A regular expression
 * would be fooled by CONCURRENTLY in a string, a comment or a name.
 */

let loading: Promise<void> | null = null;

/** The parser is loaded once, before any conversion; the converters then parse synchronously. */
export function loadSqlParser(): Promise<void> {
  return (loading ??= loadModule());
}

type Node = Record<string, unknown>;

function statementsOf(sql: string, at: string): Node[] {
  let tree: { stmts?: Array<{ stmt: Node }> };
  try {
    tree = parseSync(sql);
  } catch (err) {
    refuse(at, `PostgreSQL's parser refuses it: ${(err as Error).message}`);
  }
  return (tree.stmts ?? []).map((s) => s.stmt);
}

/** Every object in the tree, depth first, with the key it is under. */
function* walk(value: unknown, key = ''): Generator<{ key: string; node: Node }> {
  if (Array.isArray(value)) for (const item of value) yield* walk(item, key);
  else if (value && typeof value === 'object') {
    yield { key, node: value as Node };
    for (const [k, v] of Object.entries(value)) yield* walk(v, k);
  }
}

/** The kind of a statement that cannot run in a transaction block because it says CONCURRENTLY, or null. */
function concurrently(statement: Node): string | null {
  const [kind, body] = Object.entries(statement)[0] as [string, Node];
  const said =
    kind === 'ReindexStmt'
      ? [...walk(body.params)].some(({ node }) => node.defname === 'concurrently')
      : [...walk(body)].some(({ node }) => node.concurrent === true);
  return said ? kind : null;
}

/** How plan shows each statement's lock, which pgroll never declares but CONCURRENTLY fixes. */
const CONCURRENT_LOCKS: Record<string, 'share_update_exclusive' | 'exclusive'> = {
  IndexStmt: 'share_update_exclusive',
  DropStmt: 'share_update_exclusive',
  ReindexStmt: 'share_update_exclusive',
  AlterTableStmt: 'share_update_exclusive',
  RefreshMatViewStmt: 'exclusive',
};

export interface Transactionality {
  /** The statement's kind when the SQL is one statement that must run outside a transaction block. */
  concurrent: string | null;
  /** The lock that statement takes, when known. */
  lock: 'share_update_exclusive' | 'exclusive' | null;
}

/**
 * Whether the SQL at `at` must run outside a transaction block. Such a
 * statement must be alone: several statements in one query run in one
 * implicit transaction, where PostgreSQL refuses it.
 */
export function transactionality(sql: string, at: string): Transactionality {
  const statements = statementsOf(sql, at);
  const found = statements.map(concurrently);
  const kind = found.find((k) => k !== null);
  if (!kind) return { concurrent: null, lock: null };
  if (statements.length > 1) {
    refuse(at, `a ${kind} with CONCURRENTLY cannot run in a transaction block, and ${statements.length} statements in one query run in one; give it an sql operation of its own`);
  }
  return { concurrent: kind, lock: CONCURRENT_LOCKS[kind] ?? null };
}

/**
 * The first relation the SQL names without a schema (common table
 * expressions aside), or null. pgroll runs its SQL with the migration's
 * schema first on the search_path; bellows runs it as written.
 */
export function unqualifiedRelation(sql: string, at: string): string | null {
  const nodes = statementsOf(sql, at).flatMap((s) => [...walk(s)]);
  const ctes = new Set(nodes.filter(({ key }) => key === 'CommonTableExpr').map(({ node }) => node.ctename).filter(Boolean));
  for (const { node } of nodes) {
    if (typeof node.relname === 'string' && node.schemaname === undefined && !ctes.has(node.relname)) return node.relname;
  }
  // DROP TABLE x, DROP VIEW x …: the objects are lists of names, the schema's first when given.
  for (const { key, node } of nodes) {
    if (key !== 'DropStmt') continue;
    for (const object of (node.objects as Node[] | undefined) ?? []) {
      const items = (object.List as { items?: Array<{ String?: { sval: string } }> } | undefined)?.items;
      if (items?.length === 1 && items[0].String) return items[0].String.sval;
    }
  }
  return null;
}
