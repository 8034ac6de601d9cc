import { hostname, userInfo } from 'node:os';

/** Who did it, for the event log: user@host and the process. */
export function currentActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep "unknown"
  }
  return `${user}@${hostname()} pid ${process.pid}`;
}
