/**
 * True rates. `recent` holds the rows each range committed per second (epoch
 * second → rows) over the last few seconds, written in each batch's own
 * transaction, so rows/s is a moving window of committed rows, not the speed of
 * the last batch. `walk_started_at` is when its walker claimed the range, so a
 * range that began a moment ago is not averaged over a window it was not in.
 * `rate_budget_at` is the run's rows/s cap as one virtual clock that every walker
 * of the run, in any process, reserves its batches from.
 */
export default (schema: string) => `
ALTER TABLE ${schema}.ranges ADD COLUMN recent jsonb NOT NULL DEFAULT '{}';
ALTER TABLE ${schema}.ranges ADD COLUMN walk_started_at timestamptz;
ALTER TABLE ${schema}.runs ADD COLUMN rate_budget_at timestamptz;
`;
