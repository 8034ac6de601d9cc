/**
 * One range, one walker. A walker claims a range by taking the next fencing
 * token; each of its batches commits only while that token is still the range's,
 * checked under the range row's lock in the batch's own transaction. A walker
 * that was orphaned (its server or lock lost) stops at its next batch.
 */
export default (schema: string) => `
ALTER TABLE ${schema}.ranges ADD COLUMN lease_token bigint NOT NULL DEFAULT 0;
ALTER TABLE ${schema}.ranges ADD COLUMN lease_owner text;
`;
