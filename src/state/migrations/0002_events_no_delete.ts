/** Events are history: DELETE and TRUNCATE are refused too, not only UPDATE. Deleting a run still cascades. */
export default (schema: string) => `
CREATE TRIGGER events_no_delete BEFORE DELETE ON ${schema}.events
  FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION ${schema}.events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON ${schema}.events
  FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.events_append_only();
`;
