import { benchPool, type Dataset } from '../lib/bench-db.ts';
import type { TypeChange } from '../lib/bellows.ts';

/**
 * Skewed composite keys (issue 8): one tenant holds 90% of the rows, so a range
 * or batch boundary almost always falls inside it, where the key's first column
 * is the same on both sides and only a bound on the whole key, index-bounded at
 * both ends, keeps a batch from reading the rest of the tenant. The measurement
 * itself is bellows' ordinary backfill (sections/throughput.ts) on this table.
 */
export const SKEWED_TABLE: Dataset = {
  name: 'skewed',
  async build(url, scale) {
    const rows = scale * 100_000;
    const db = benchPool(url, 1);
    try {
      await db.query(`CREATE TABLE skewed (tenant text, id uuid, payload int)`);
      // Generated in the server. The other 100 tenants sort half before 'acme'
      // (aa-…) and half after it (zz-…), so the big tenant has neighbours on both
      // sides. ORDER BY puts the heap in key order, as pgbench_accounts' heap is,
      // so the comparison with the int key isolates the key's shape rather than
      // random uuid order in the heap.
      await db.query(
        `INSERT INTO skewed (tenant, id, payload)
         SELECT tenant, gen_random_uuid(), g
           FROM (SELECT g, CASE WHEN g <= $1 THEN 'acme'
                               WHEN g % 100 < 50 THEN 'aa-tenant-' || lpad((g % 100)::text, 2, '0')
                               ELSE 'zz-tenant-' || lpad((g % 100)::text, 2, '0') END AS tenant
                   FROM generate_series(1, $2::int) AS g) AS s
          ORDER BY 1, 2`,
        [Math.round(rows * 0.9), rows],
      );
      // After the load, as pgbench -i does: one sorted index build instead of a row-by-row one.
      await db.query(`ALTER TABLE skewed ADD PRIMARY KEY (tenant, id)`);
      await db.query(`VACUUM ANALYZE skewed`);
    } finally {
      await db.end();
    }
  },
};

/** The same change as the pgbench one (int → bigint by a cast), on the skewed table. */
export const PAYLOAD_BIGINT: TypeChange = { name: 'bench_skewed_payload_bigint', table: 'skewed', column: 'payload', from: 'int', to: 'bigint' };
