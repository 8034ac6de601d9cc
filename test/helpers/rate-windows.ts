import type { TestDatabase } from './db.ts';

export const WINDOW_MS = 10_000;

export interface Sample {
  /** When the rows were read, in ms since the epoch (the database's clock, the machine's: `Date.now()` compares). */
  at: number;
  rows: number;
}

/**
 * Samples a run's committed backfill rows (from its checkpoints, which commit
 * with their rows) every 200 ms until `total` rows are done. Each sample is
 * timed by the statement that read it, not by its arrival: a reply delayed on
 * a busy machine would otherwise put rows in the wrong window.
 */
export async function sampleBackfill(db: TestDatabase, runId: string, total: number, samples: Sample[]): Promise<void> {
  for (;;) {
    const { rows } = await db.query(
      `SELECT coalesce(sum(rows_done), 0)::int AS n, (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS at
         FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`,
      [runId],
    );
    samples.push({ at: rows[0].at, rows: rows[0].n });
    if (rows[0].n >= total) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The rate over the window from each sample to the first one at least WINDOW_MS later, inside the backfill. */
export function windowRates(samples: Sample[], total: number): number[] {
  const inside = samples.filter((s) => s.rows > 0 && s.rows < total);
  const rates: number[] = [];
  for (const [i, from] of inside.entries()) {
    const to = inside.slice(i + 1).find((s) => s.at - from.at >= WINDOW_MS);
    if (to) rates.push(((to.rows - from.rows) * 1000) / (to.at - from.at));
  }
  return rates;
}
