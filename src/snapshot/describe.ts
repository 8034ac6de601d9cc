import { printableLine } from '../util/printable.ts';
import { SEVERITIES, type Severity } from '../util/severity.ts';
import type { AttributeValue } from './format.ts';
import type { Difference } from './compare.ts';

/** A value in one line: a definition's line breaks folded, a list joined, absence said as such. */
function valueText(value: AttributeValue): string {
  if (value === null) return '(none)';
  if (Array.isArray(value)) return value.length ? `[${value.join('; ')}]` : '[]';
  return printableLine(String(value).replace(/\s+/g, ' ').trim(), 120);
}

const SEVERITY_WIDTH = Math.max(...SEVERITIES.map((s) => s.length));

/** A severity padded to one width, so that the lines after it line up. */
export function severityColumn(severity: Severity): string {
  return severity.padEnd(SEVERITY_WIDTH);
}

/** One line per difference, its severity first: `warning  column public.users.nickname: added`, `error    index public.x: definition changed: … → …`. */
export function describeDifference(d: Difference): string {
  const what = `${severityColumn(d.severity)}  ${d.kind} ${d.name}`;
  if (d.change !== 'changed') return `${what}: ${d.change}`;
  return `${what}: ${d.attribute} changed: ${valueText(d.before)} → ${valueText(d.after)}`;
}

/** `1 error, 2 warning`: how many of each severity, most severe first, the ones with none left out. */
export function severityCounts(items: ReadonlyArray<{ severity: Severity }>): string {
  return SEVERITIES.map((s) => [s, items.filter((i) => i.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}
