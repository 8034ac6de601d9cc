import { InputError } from '../errors.ts';
import { operationEntries, type Playbook } from '../playbook/schema.ts';

/**
 * What `bellows generate` writes where only a person can know the value: a
 * type change's `up`/`down`, the value NULLs get under a new NOT NULL. It is a
 * valid SQL name, so the playbook still loads and lints, and it names no column
 * anyone has, so nothing could run it by accident; lint (unfilled-placeholder)
 * and compiling the plan (start, plan, dry-run) both refuse it.
 */
export const PLACEHOLDER = 'TODO_BELLOWS_FILL_IN';

const MARKER = new RegExp(PLACEHOLDER, 'i');

export function hasPlaceholder(text: string): boolean {
  return MARKER.test(text);
}

/** The fields still holding the placeholder, as `operations[2].alter_column.up`. */
export function unfilledPlaceholders(playbook: Playbook): string[] {
  const found: string[] = [];
  const visit = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      if (hasPlaceholder(value)) found.push(path);
    } else if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${path}[${i}]`));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, `${path}.${k}`);
  };
  for (const entry of operationEntries(playbook)) visit(entry.spec, `operations[${entry.index}].${entry.kind}`);
  return found;
}

/** A generated playbook runs only once a person has written every value the generator could not know. */
export function refuseUnfilledPlaceholders(playbook: Playbook): void {
  const fields = unfilledPlaceholders(playbook);
  if (fields.length === 0) return;
  const more = fields.length > 1 ? ` (and ${fields.length - 1} more)` : '';
  throw new InputError(`${fields[0]}${more}: still ${PLACEHOLDER}, which bellows generate left for you to write; fill it in before running the playbook`);
}
