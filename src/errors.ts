/**
 * Every error a user can cause or meet has a class here. The CLI's entry point
 * maps them to exit codes in one place: 2 for bad input, 1 for everything else.
 * `userFacing` errors print as one line, never with a stack trace.
 */
export abstract class BellowsError extends Error {
  abstract readonly exitCode: 1 | 2;
  readonly userFacing = true;
}

/** Bad input: a flag, a file, a playbook, or a playbook that does not fit the live schema. Nothing ran. */
export class InputError extends BellowsError {
  override readonly name: string = 'InputError';
  readonly exitCode = 2 as const;
}

/** What a command names (a run, a target) does not exist: bad input for the CLI, a 404 for the server. */
export class NotFoundError extends InputError {
  override readonly name: string = 'NotFoundError';
}

/** Another run or process already owns what this command wants. Nothing ran. */
export class ConflictError extends BellowsError {
  override readonly name: string = 'ConflictError';
  readonly exitCode = 1 as const;
}

/** A run stopped: the event log and `bellows status` say where and why. */
export class RunFailedError extends BellowsError {
  override readonly name: string = 'RunFailedError';
  readonly exitCode = 1 as const;
  constructor(
    message: string,
    readonly runId?: string,
  ) {
    super(message);
  }
}

/** The database could not be reached, or the state schema is newer than this bellows. */
export class EnvironmentError extends BellowsError {
  override readonly name: string = 'EnvironmentError';
  readonly exitCode = 1 as const;
}

export function isBellowsError(err: unknown): err is BellowsError {
  return err instanceof BellowsError;
}

/**
 * A check found what it looks for (`drift`, `diff`, lint findings at or above the chosen severity): the command worked and
 * printed its report, and exits 1 so that CI stops on it.
 */
export class FindingsError extends BellowsError {
  override readonly name: string = 'FindingsError';
  readonly exitCode = 1 as const;
}
