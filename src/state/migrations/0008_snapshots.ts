/**
 * The schema as each applied playbook left it (src/snapshot/): `bellows drift`
 * compares the live database with the last one. One per applied playbook, taken
 * right after its contract committed. `in_flight` names the runs that were
 * between expand and contract then: their new objects are in the snapshot.
 */
export default (schema: string) => `
CREATE TABLE ${schema}.snapshots (
  playbook_name text PRIMARY KEY REFERENCES ${schema}.history (playbook_name),
  run_id        bigint      NOT NULL,
  taken_at      timestamptz NOT NULL DEFAULT now(),
  in_flight     jsonb       NOT NULL DEFAULT '[]',
  snapshot      jsonb       NOT NULL
);
`;
