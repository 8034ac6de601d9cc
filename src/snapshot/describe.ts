import { printableLine } from '../util/printable.ts';
import type { AttributeValue } from './format.ts';
import type { Difference } from './compare.ts';

/** A value in one line: a definition's line breaks folded, a list joined, absence said as such. */
function valueText(value: AttributeValue): string {
  if (value === null) return '(none)';
  if (Array.isArray(value)) return value.length ? `[${value.join('; ')}]` : '[]';
  return printableLine(String(value).replace(/\s+/g, ' ').trim(), 120);
}

/** One line per difference: `column public.users.nickname: added`, `index public.x: definition: … → …`. */
export function describeDifference(d: Difference): string {
  const what = `${d.kind} ${d.name}`;
  if (d.change !== 'changed') return `${what}: ${d.change}`;
  return `${what}: ${d.attribute} changed: ${valueText(d.before)} → ${valueText(d.after)}`;
}
