import { InputError } from '../errors.ts';

/** A commander parser for a count flag: bad flags are bad input (exit 2), found before anything starts. */
export function wholeNumber(flag: string, min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InputError(`${flag}: expected a whole number of at least ${min}, got "${value}"`);
    return n;
  };
}
