import type pg from 'pg';

/** The demo's table: the shape the example playbooks in playbooks/ are written for. */
export async function createSampleTable(db: pg.Pool, rows: number): Promise<void> {
  await db.query(`CREATE EXTENSION IF NOT EXISTS citext`);
  await db.query(`
    CREATE TABLE users (
      id         bigserial PRIMARY KEY,
      email      text NOT NULL,
      name       text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  const chunk = 200_000;
  for (let start = 1; start <= rows; start += chunk) {
    const end = Math.min(rows, start + chunk - 1);
    await db.query(
      `INSERT INTO users (email, name, created_at)
       SELECT 'User' || g || '@Example.COM', 'User ' || g, now() - g * interval '1 second'
         FROM generate_series($1::bigint, $2::bigint) g`,
      [start, end],
    );
  }
  await db.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
  await db.query(`ANALYZE users`);
}
