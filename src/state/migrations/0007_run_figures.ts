/**
 * The figures `/metrics` exposes that no other column holds, written where the
 * work happens, since the server that exposes them is not the process that
 * walks the batches. All are running totals that only grow, as Prometheus
 * counters must:
 * - `batch_buckets` counts a range's batches by duration (bucket upper bound in
 *   seconds, as text → batches; state/batch-buckets.ts), and `batch_micros`
 *   their total duration: the histogram of batch durations. Microseconds in a
 *   bigint, not seconds in a float: a float sum depends on the order it adds
 *   in, and a total that dipped by a rounding error would read as a reset. Both are written by
 *   the batch's own checkpoint UPDATE, so they cost no extra statement.
 * - runs' `batch_buckets` and `batch_micros` keep the figures of ranges since
 *   deleted (a verify that starts over), so a run's histogram never shrinks.
 * - `throttle_kind` is the name of the throttle holding the range (`throttle`
 *   is its human sentence, with figures in it): a label with few values.
 * - `lock_timeout_retries`: DDL statements of the run retried after losing the
 *   race for their lock; `errors`: batches that failed for good, and steps that
 *   stopped the run as failed.
 */
export default (schema: string) => `
ALTER TABLE ${schema}.ranges ADD COLUMN batch_buckets jsonb NOT NULL DEFAULT '{}';
ALTER TABLE ${schema}.ranges ADD COLUMN batch_micros bigint NOT NULL DEFAULT 0;
ALTER TABLE ${schema}.ranges ADD COLUMN throttle_kind text;
ALTER TABLE ${schema}.runs ADD COLUMN batch_buckets jsonb NOT NULL DEFAULT '{}';
ALTER TABLE ${schema}.runs ADD COLUMN batch_micros bigint NOT NULL DEFAULT 0;
ALTER TABLE ${schema}.runs ADD COLUMN lock_timeout_retries bigint NOT NULL DEFAULT 0;
ALTER TABLE ${schema}.runs ADD COLUMN errors bigint NOT NULL DEFAULT 0;
`;
