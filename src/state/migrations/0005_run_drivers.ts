/**
 * Who drives a run, and when it was last seen doing so. Every driver (a local
 * process, a Temporal worker's activity) writes this heartbeat while it works,
 * so `status` can tell a run in progress from one nobody drives, whatever the
 * executor: a run must never say "running" only because nothing said otherwise.
 * `driver` is cleared when a driver lets go; `driver_seen_at` stays, as "since".
 */
export default (schema: string) => `
ALTER TABLE ${schema}.runs ADD COLUMN driver text;
ALTER TABLE ${schema}.runs ADD COLUMN driver_seen_at timestamptz;
`;
