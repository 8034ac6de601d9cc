/**
 * Passwords in the connection strings a run is given (`--replica-url`,
 * `replicaUrls`) never reach the state store, where anyone who reads bellows'
 * tables, a backup of them, `status --json` or the event log would find them.
 * The store keeps the URL with `***` for its password. The process that was
 * given the password keeps it in memory for the run it drives; any other
 * process (a `resume` after a crash, a worker) takes it from the environment.
 * A URL given without a password is stored as it is, and the driver (pg)
 * takes its password from PGPASSWORD or ~/.pgpass, as libpq does.
 */

/** The stored stand-in for a password: what redactUrl shows, so status and logs read the same. */
const STORED = '***';

/** Stored URL → its password, for this process only. */
const given = new Map<string, string>();

export function isPostgresUrl(url: string): boolean {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

/** The URL as the state store keeps it; its password, if any, stays in this process. */
export function storableUrl(url: string): string {
  const u = new URL(url);
  // pg also reads ?password=, and prefers it to the one in the user part.
  const password = u.searchParams.get('password') ?? decodeURIComponent(u.password);
  u.searchParams.delete('password');
  if (!password) return u.toString();
  u.password = STORED;
  const stored = u.toString();
  if (password !== STORED) given.set(stored, password);
  return stored;
}

/** Settings as the state store keeps them: every URL without its password. */
export function withoutPasswords<T extends { replicaUrls?: string[] }>(settings: T): T {
  return settings.replicaUrls ? { ...settings, replicaUrls: settings.replicaUrls.map(storableUrl) } : settings;
}

/**
 * The URL to connect with: a stored URL gets back the password this process was
 * given, else the one in `envName`; null when neither has it. A URL stored
 * without a password is returned as it is.
 */
export function connectableUrl(stored: string, envName: string): string | null {
  const u = new URL(stored);
  if (u.password !== STORED) return stored;
  const password = given.get(stored) ?? process.env[envName];
  if (!password) return null;
  u.password = encodeURIComponent(password);
  return u.toString();
}
