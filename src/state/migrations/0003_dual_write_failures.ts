/**
 * Rows an application wrote that a dual-write trigger could not translate (its
 * `up` or `down` raised). The trigger lets the write through and notes the row
 * here; verify reports these rows and contract refuses while any remain.
 *
 * The trigger runs as the application's role, which has no rights on this
 * schema's tables: it calls a SECURITY DEFINER function that may only add notes.
 */
export default (schema: string) => `
CREATE TABLE ${schema}.dual_write_failures (
  playbook_name text        NOT NULL,
  table_name    text        NOT NULL,
  row_key       jsonb       NOT NULL,
  op_index      int         NOT NULL,
  sqlstate      text        NOT NULL,
  message       text        NOT NULL,
  writes        int         NOT NULL DEFAULT 1,
  first_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  last_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (playbook_name, table_name, row_key)
);

CREATE FUNCTION ${schema}.note_dual_write_failure(p_playbook text, p_table text, p_key jsonb, p_op int, p_sqlstate text, p_message text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
  INSERT INTO ${schema}.dual_write_failures (playbook_name, table_name, row_key, op_index, sqlstate, message)
  VALUES (p_playbook, p_table, p_key, p_op, p_sqlstate, left(p_message, 500))
  ON CONFLICT (playbook_name, table_name, row_key) DO UPDATE
    SET writes = ${schema}.dual_write_failures.writes + 1, op_index = EXCLUDED.op_index,
        sqlstate = EXCLUDED.sqlstate, message = EXCLUDED.message, last_at = clock_timestamp()
$$;
-- A verify with repair forgives the rows noted before it began, once it has proven every row.
ALTER TABLE ${schema}.runs ADD COLUMN verify_started_at timestamptz;
GRANT USAGE ON SCHEMA ${schema} TO PUBLIC;
GRANT EXECUTE ON FUNCTION ${schema}.note_dual_write_failure(text, text, jsonb, int, text, text) TO PUBLIC;
`;
