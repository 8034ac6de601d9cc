import { ident, literal } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { sameAttribute } from '../snapshot/compare.ts';
import { objectKey, parentRelation, type AttributeValue, type ObjectKind, type SchemaObject, type SchemaSnapshot } from '../snapshot/format.ts';
import { renamedTable, type Renames } from './renames.ts';

/** One operation as the playbook writes it (`{ add_column: {...} }`), with the comment a reviewer reads above it. */
export interface GeneratedOperation {
  operation: Record<string, Record<string, unknown>>;
  comment?: string;
}

/** A difference no operation can express: refused, naming the object and why. */
export function unmappable(o: Pick<SchemaObject, 'kind' | 'name'>, why: string): never {
  throw new InputError(`generate: ${o.kind} ${o.name}: ${why}`);
}

/** Owners and privileges belong to the roles of each server; a schema change does not move them. */
const LEFT_ALONE = new Set(['owner', 'acl']);

/** The table (or view) a column, constraint, index or trigger belongs to: `public.users`. */
export const parentName = (o: SchemaObject) => parentRelation(o.parent);
/** The object's own name within its parent: `email` of `public.users.email`. */
export const ownName = (o: SchemaObject) => o.name.slice(parentName(o).length + 1);
export const schemaOf = (name: string) => name.slice(0, name.indexOf('.'));
export const relationName = (name: string) => name.slice(name.indexOf('.') + 1);
/** `public.users` → `"public"."users"`. */
export const quoted = (name: string) => name.split('.').map(ident).join('.');

/**
 * What every step of generate shares: the two snapshots (the live one as the
 * declared renames leave it), the operations written so far, and what the
 * header will list. Steps add operations in the order they run.
 */
export class Generation {
  readonly operations: GeneratedOperation[] = [];
  /** What the reviewer must look at: placeholders, drops that may be renames, raw SQL. One line each. */
  readonly flagged: string[] = [];
  /** Differences a playbook does not carry, said in the header: owners and privileges. */
  readonly leftAlone: string[] = [];
  readonly newTables: Set<string>;
  readonly goneTables: Set<string>;
  /** Tables, views and materialized views that go: what belongs to them goes with them. */
  private readonly goneRelations: Set<string>;
  private readonly before: Map<string, SchemaObject>;
  private readonly after: Map<string, SchemaObject>;

  constructor(
    readonly live: SchemaSnapshot,
    readonly desired: SchemaSnapshot,
    readonly renames: Renames,
  ) {
    this.before = new Map(live.objects.map((o) => [objectKey(o), o]));
    this.after = new Map(desired.objects.map((o) => [objectKey(o), o]));
    this.newTables = new Set(this.added('table').map((t) => t.name));
    this.goneTables = new Set(this.removed('table').map((t) => t.name));
    this.goneRelations = new Set([...this.goneTables, ...this.removed('view').map((v) => v.name), ...this.removed('materialized view').map((v) => v.name)]);
  }

  added(kind: ObjectKind): SchemaObject[] {
    return this.desired.objects.filter((o) => o.kind === kind && !this.before.has(objectKey(o)));
  }

  removed(kind: ObjectKind): SchemaObject[] {
    return this.live.objects.filter((o) => o.kind === kind && !this.after.has(objectKey(o)));
  }

  /** Objects in both, as [live, desired]. */
  kept(kind: ObjectKind): Array<readonly [SchemaObject, SchemaObject]> {
    return this.desired.objects.flatMap((o) => {
      const old = o.kind === kind ? this.before.get(objectKey(o)) : undefined;
      return old ? [[old, o] as const] : [];
    });
  }

  /** The attributes that differ; owners and privileges are noted in the header instead. */
  changed(a: SchemaObject, b: SchemaObject): string[] {
    const keys = [...new Set([...Object.keys(a.attributes), ...Object.keys(b.attributes)])].sort();
    const out: string[] = [];
    for (const k of keys) {
      if (sameAttribute(b.kind, k, a.attributes[k], b.attributes[k])) continue;
      if (LEFT_ALONE.has(k)) this.leftAlone.push(`${b.kind} ${b.name}: ${k}`);
      else out.push(k);
    }
    return out;
  }

  refuseChanges(a: SchemaObject, b: SchemaObject, why: string, allowed: string[] = []): string[] {
    const what = this.changed(a, b);
    const refused = what.filter((w) => !allowed.includes(w));
    if (refused.length) unmappable(b, `its ${refused.join(', ')} changed, and ${why}`);
    return what;
  }

  add(operation: GeneratedOperation['operation'], comment?: string): void {
    this.operations.push({ operation, ...(comment ? { comment } : {}) });
  }

  flag(operation: GeneratedOperation['operation'], comment: string): void {
    this.flagged.push(comment);
    this.add(operation, comment);
  }

  /** Flagged with what the reviewer must do about `object`, when there is anything; added plainly otherwise. */
  addNoted(operation: GeneratedOperation['operation'], object: SchemaObject, notes: string[]): void {
    if (notes.length) this.flag(operation, `${object.name}: ${notes.join('; ')}`);
    else this.add(operation);
  }

  /**
   * Raw SQL for what the operations cannot say, flagged. With a rollback it
   * runs in expand; without one, at contract (where nothing is rolled back).
   */
  raw(up: string, rollback: string | null, lock: string, why: string, extra: Record<string, unknown> = {}): void {
    this.flag({ sql: { up, ...(rollback ? { rollback } : { phase: 'contract' }), lock, ...extra } }, `raw SQL: ${why}; review it`);
  }

  /** A comment the operation that makes the object cannot carry: COMMENT ON, undone by the one before. */
  comment(target: string, now: AttributeValue | undefined, before: AttributeValue | undefined, object: SchemaObject): void {
    const text = (v: AttributeValue | undefined) => (typeof v === 'string' ? literal(v) : 'NULL');
    this.raw(`COMMENT ON ${target} IS ${text(now)}`, `COMMENT ON ${target} IS ${text(before)}`, 'share_update_exclusive', `${object.kind} ${object.name}: its comment`);
  }

  /** The name a table has in the playbook: its live name until its rename, which comes last. */
  liveNameOf(table: string): string {
    return [...this.renames.tables.keys()].find((from) => renamedTable(this.renames, from) === table) ?? table;
  }

  /** Whether the object belongs to a table (or view) that goes, and goes with it. */
  goesWithParent(o: SchemaObject): boolean {
    return this.goneRelations.has(parentName(o));
  }
}
