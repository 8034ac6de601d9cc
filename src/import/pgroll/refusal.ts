/**
 * Why one pgroll operation cannot become bellows operations. `at` is the field
 * inside the operation (`columns[2].generated`), empty for the operation as a
 * whole; the converter adds the file and the operation's index and kind.
 */
export class Refusal extends Error {
  constructor(
    readonly at: string,
    reason: string,
  ) {
    super(reason);
  }
}

export function refuse(at: string, reason: string): never {
  throw new Refusal(at, reason);
}

/** `columns[2]` + `check` → `columns[2].check`. */
export function field(...parts: Array<string | undefined>): string {
  return parts.filter(Boolean).join('.');
}
