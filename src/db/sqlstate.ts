/**
 * PostgreSQL error codes bellows reacts to, by name. Retry decisions are made
 * from these lists only, so what is retryable is visible in one place.
 */
export const SQLSTATE = {
  lockNotAvailable: '55P03',
  deadlockDetected: '40P01',
  serializationFailure: '40001',
  queryCanceled: '57014',
  undefinedTable: '42P01',
  undefinedColumn: '42703',
  undefinedObject: '42704',
  duplicateObject: '42710',
  syntaxError: '42601',
  uniqueViolation: '23505',
  checkViolation: '23514',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
  invalidCatalogName: '3D000',
  tooManyConnections: '53300',
  readOnlyTransaction: '25006',
} as const;

/** A DDL statement that failed on these waited too long for its lock: try again later. */
export const DDL_RETRY_CODES: readonly string[] = [SQLSTATE.lockNotAvailable, SQLSTATE.deadlockDetected];

/** A batch that failed on these lost a race with application traffic: shrink and retry. */
export const BATCH_RETRY_CODES: readonly string[] = [
  SQLSTATE.lockNotAvailable,
  SQLSTATE.deadlockDetected,
  SQLSTATE.serializationFailure,
  SQLSTATE.queryCanceled,
];

/**
 * The database cannot be reached or has gone (a failover, a restart, a dropped
 * database, a refused connection): the same request may work later, and it is
 * not a bug. Class 08 is every connection exception; the E… codes are the driver's socket errors.
 */
const UNREACHABLE_CODES: readonly string[] = [
  SQLSTATE.adminShutdown,
  SQLSTATE.crashShutdown,
  SQLSTATE.cannotConnectNow,
  SQLSTATE.invalidCatalogName,
  SQLSTATE.tooManyConnections,
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
];

export function isUnreachable(err: unknown): boolean {
  const code = sqlstateOf(err);
  return code !== undefined && (code.startsWith('08') || UNREACHABLE_CODES.includes(code));
}

export function sqlstateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isRetryable(err: unknown, codes: readonly string[]): boolean {
  const code = sqlstateOf(err);
  return code !== undefined && codes.includes(code);
}
