import { InputError } from '../errors.ts';
import { FAIL_ON_LEVELS, type FailOn } from '../util/severity.ts';

/** `--fail-on <level>` as every check spells it (lint, drift, diff): a bad level is bad input (exit 2), found before anything runs. */
export const FAIL_ON_FLAG = '--fail-on <severity>';

export function failOnHelp(what: string): string {
  return `exit 1 when ${what} is at or above this severity: ${FAIL_ON_LEVELS.join(', ')} (none: never)`;
}

export function failOnLevel(command: string) {
  return (value: string): FailOn => {
    if (!(FAIL_ON_LEVELS as string[]).includes(value)) throw new InputError(`${command}: --fail-on must be one of ${FAIL_ON_LEVELS.join(', ')}, not ${JSON.stringify(value)}`);
    return value as FailOn;
  };
}
