/** The first version of the control schema. Append new files; never edit a shipped one. */
export default (schema: string) => `
CREATE TABLE ${schema}.runs (
  id              bigserial PRIMARY KEY,
  playbook_name   text        NOT NULL,
  checksum        text        NOT NULL,
  playbook        jsonb       NOT NULL,
  plan            jsonb       NOT NULL,
  tables          text[]      NOT NULL,
  executor        text        NOT NULL,
  phase           text        NOT NULL,
  status          text        NOT NULL,
  desired         jsonb       NOT NULL DEFAULT '{}',
  settings        jsonb       NOT NULL,
  done_actions    text[]      NOT NULL DEFAULT '{}',
  backfill_started_at  timestamptz,
  backfill_done_at     timestamptz,
  verified_at          timestamptz,
  error           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);
CREATE INDEX runs_playbook_idx ON ${schema}.runs (playbook_name, id);

CREATE TABLE ${schema}.ranges (
  run_id        bigint  NOT NULL REFERENCES ${schema}.runs (id) ON DELETE CASCADE,
  task          text    NOT NULL,
  table_name    text    NOT NULL,
  range_no      int     NOT NULL,
  lower_key     jsonb,
  upper_key     jsonb,
  last_key      jsonb,
  rows_done     bigint  NOT NULL DEFAULT 0,
  rows_estimate bigint  NOT NULL DEFAULT 0,
  batches       bigint  NOT NULL DEFAULT 0,
  batch_size    int,
  rows_per_sec  double precision,
  throttle      text,
  done          boolean NOT NULL DEFAULT false,
  error         text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, task, table_name, range_no)
);

CREATE TABLE ${schema}.events (
  id        bigserial PRIMARY KEY,
  run_id    bigint REFERENCES ${schema}.runs (id) ON DELETE CASCADE,
  at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  kind      text  NOT NULL,
  actor     text  NOT NULL,
  detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_run_idx ON ${schema}.events (run_id, id);

-- Append-only: an event, once written, is history.
CREATE FUNCTION ${schema}.events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'bellows events are append-only';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE ON ${schema}.events
  FOR EACH ROW EXECUTE FUNCTION ${schema}.events_append_only();

CREATE TABLE ${schema}.history (
  playbook_name text PRIMARY KEY,
  checksum      text NOT NULL,
  run_id        bigint NOT NULL,
  applied_at    timestamptz NOT NULL DEFAULT now()
);
`;
