import pg from 'pg';

export interface TrafficReport {
  inserts: number;
  updates: number;
  errors: number;
  firstError: string | null;
}

/**
 * A steady stream of application writes, as the old application version makes
 * them (plain table, old column names). It runs until stopped and counts every
 * write that failed: the demo's proof that the migration caused no downtime.
 */
export function startAppTraffic(url: string, options: { writers: number; pauseMs: number }) {
  const report: TrafficReport = { inserts: 0, updates: 0, errors: 0, firstError: null };
  let stopped = false;
  const pool = new pg.Pool({ connectionString: url, max: options.writers });
  pool.on('error', () => {});

  async function writer(id: number) {
    let n = 0;
    while (!stopped) {
      n++;
      try {
        if (n % 2 === 0) {
          await pool.query(`INSERT INTO users (email, name) VALUES ($1, $2)`, [`Writer${id}.${n}.${Date.now()}@Example.COM`, `writer ${id}`]);
          report.inserts++;
        } else {
          await pool.query(`UPDATE users SET name = $2 WHERE id = (SELECT floor(random() * $1)::bigint + 1)`, [1000, `updated by ${id}`]);
          report.updates++;
        }
      } catch (err) {
        report.errors++;
        report.firstError ??= (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, options.pauseMs));
    }
  }

  const running = Promise.all(Array.from({ length: options.writers }, (_, i) => writer(i)));
  return {
    report,
    async stop(): Promise<TrafficReport> {
      stopped = true;
      await running;
      await pool.end();
      return report;
    },
  };
}
