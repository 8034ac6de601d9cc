import type { Severity } from '../util/severity.ts';
import type { AttributeValue } from './format.ts';

/**
 * How much a changed attribute matters, by what it does to the application:
 * error when reads or writes through the object now behave differently or
 * fail (a type, a constraint, a definition); warning when only some writes or
 * some roles notice (a default, privileges, options); info when nothing that
 * runs notices (owner, comment). An attribute missing here is an error: a
 * change nobody has judged yet should stop CI, not slip through.
 */
const CHANGED_ATTRIBUTE: Record<string, Severity> = {
  type: 'error',
  notNull: 'error',
  generated: 'error',
  identity: 'error',
  collation: 'error',
  definition: 'error',
  valid: 'error',
  enabled: 'error',
  partitioned: 'error',
  rowSecurity: 'error',
  values: 'error',
  default: 'warning',
  acl: 'warning',
  options: 'warning',
  unlogged: 'warning',
  start: 'warning',
  increment: 'warning',
  min: 'warning',
  max: 'warning',
  cache: 'warning',
  cycle: 'warning',
  ownedBy: 'warning',
  owner: 'info',
  comment: 'info',
};

/** An enum that only gained values breaks no stored row and no query that worked; one that lost or reordered them does. */
function onlyAppended(before: AttributeValue, after: AttributeValue): boolean {
  return Array.isArray(before) && Array.isArray(after) && before.every((v, i) => after[i] === v);
}

/**
 * Removing anything is an error (what used it fails); adding is a warning
 * (nothing that ran before breaks, but the schema is no longer what the
 * playbooks made); a change is judged by its attribute.
 */
export function differenceSeverity(change: 'added' | 'removed' | 'changed', attribute?: string, before?: AttributeValue, after?: AttributeValue): Severity {
  if (change === 'removed') return 'error';
  if (change === 'added') return 'warning';
  if (attribute === 'values' && onlyAppended(before ?? null, after ?? null)) return 'warning';
  return CHANGED_ATTRIBUTE[attribute ?? ''] ?? 'error';
}
