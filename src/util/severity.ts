/** How much a finding (lint) or a difference (drift, diff) matters, most first. */
export type Severity = 'error' | 'warning' | 'info';
export const SEVERITIES: Severity[] = ['error', 'warning', 'info'];

/** Whether `severity` is at or above `threshold` (error > warning > info). */
export function atOrAbove(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}

/** A `--fail-on` level: a severity, or `none` to report everything and never fail on it. */
export type FailOn = Severity | 'none';
export const FAIL_ON_LEVELS: FailOn[] = [...SEVERITIES, 'none'];

/** How many of `items` are at or above `failOn`: the ones that make a check exit 1. */
export function countFailing(items: ReadonlyArray<{ severity: Severity }>, failOn: FailOn): number {
  return failOn === 'none' ? 0 : items.filter((i) => atOrAbove(i.severity, failOn)).length;
}
