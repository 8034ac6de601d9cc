import type { Severity } from '../util/severity.ts';
import { objectKey, type AttributeValue, type ObjectKind, type SchemaObject, type SchemaSnapshot } from './format.ts';
import { differenceSeverity } from './severity.ts';

/**
 * One object-level difference between two snapshots. An added or removed object
 * carries its attributes; a changed one, one entry per changed attribute.
 * Each has a severity (snapshot/severity.ts) that `--fail-on` compares with.
 */
export type Difference =
  | { kind: ObjectKind; name: string; severity: Severity; change: 'added'; attributes: Record<string, AttributeValue> }
  | { kind: ObjectKind; name: string; severity: Severity; change: 'removed'; attributes: Record<string, AttributeValue> }
  | { kind: ObjectKind; name: string; severity: Severity; change: 'changed'; attribute: string; before: AttributeValue; after: AttributeValue };

/**
 * A view's `security_invoker=false` is PostgreSQL's default spelled out
 * (create_view always spells it): the same view as one without it.
 */
function normalized(kind: ObjectKind, attribute: string, value: AttributeValue | undefined): AttributeValue {
  if (kind === 'view' && attribute === 'options' && Array.isArray(value)) return value.filter((o) => o !== 'security_invoker=false');
  return value ?? null;
}

/** Whether an attribute of an object of this kind has the same value in both. */
export function sameAttribute(kind: ObjectKind, attribute: string, a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  return JSON.stringify(normalized(kind, attribute, a)) === JSON.stringify(normalized(kind, attribute, b));
}

/**
 * What changed from `before` to `after`, in the snapshots' order (kind, then
 * name). The columns, constraints, indexes and triggers of a table that was
 * added or removed are not listed apart: they came or went with it.
 */
export function compareSnapshots(before: SchemaSnapshot, after: SchemaSnapshot): Difference[] {
  const old = new Map(before.objects.map((o) => [objectKey(o), o]));
  const now = new Map(after.objects.map((o) => [objectKey(o), o]));
  const keys = [...new Set([...old.keys(), ...now.keys()])].sort();
  const wholly = (o: SchemaObject | undefined) => o?.parent !== undefined && old.has(o.parent) !== now.has(o.parent);
  const differences: Difference[] = [];
  for (const key of keys) {
    const a = old.get(key);
    const b = now.get(key);
    if (wholly(a) || wholly(b)) continue;
    if (!a) differences.push({ kind: b!.kind, name: b!.name, severity: differenceSeverity('added'), change: 'added', attributes: b!.attributes });
    else if (!b) differences.push({ kind: a.kind, name: a.name, severity: differenceSeverity('removed'), change: 'removed', attributes: a.attributes });
    else {
      for (const attribute of [...new Set([...Object.keys(a.attributes), ...Object.keys(b.attributes)])].sort()) {
        const [before, after] = [a.attributes[attribute] ?? null, b.attributes[attribute] ?? null];
        if (!sameAttribute(a.kind, attribute, before, after)) {
          differences.push({ kind: a.kind, name: a.name, severity: differenceSeverity('changed', attribute, before, after), change: 'changed', attribute, before, after });
        }
      }
    }
  }
  return differences;
}
