/** The benchmark's knobs, all from the environment so `npm run bench` needs no flags. */
export interface BenchOptions {
  databaseUrl: string;
  /** pgbench scale factors: 1 = 100k rows in pgbench_accounts. */
  scales: number[];
  /** Rounds of the bare UPDATE and bellows' backfills at each scale, interleaved; each figure is its rounds' median. */
  rounds: number;
  /** Scale of the foreground-load section (default: the largest). */
  loadScale: number;
  loadSeconds: number;
  /** Rounds of the trigger-off and trigger-on load windows, taking turns; the trigger's cost is the median of the rounds' ratios. */
  loadRounds: number;
  skipLoad: boolean;
  /** Scale of the pause and kill -9 section (default: the smallest; it measures batches, not size). */
  resumeScale: number;
  /** Parallelism of the pause and kill -9 runs: 2, so "one batch per range" is tested with more than one range. */
  resumeParallelism: number;
  /** Skips the pause and kill -9 section (for quick iterations on the other sections). */
  skipResume: boolean;
  /** Skips the skewed composite key section. */
  skipSkewed: boolean;
  /** Skips the BullMQ executor row (it needs redis-server on PATH). */
  skipBullmq: boolean;
  /** A pgroll binary to run side by side (never downloaded or built by the bench); null: no pgroll column. */
  pgrollBin: string | null;
  /** pgroll's --backfill-batch-size, one pgroll figure each: its default (1000) and a larger one. */
  pgrollBatchSizes: number[];
}

function intList(text: string, name: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`${name}: expected comma-separated whole numbers of at least 1, got "${text}"`);
  }
  return values;
}

function positive(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a whole number of at least 1, got "${text}"`);
  return n;
}

export function readOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const scales = intList(env.BENCH_SCALES ?? '10,50', 'BENCH_SCALES');
  return {
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    scales,
    rounds: positive(env.BENCH_ROUNDS, 'BENCH_ROUNDS', 1),
    loadScale: positive(env.BENCH_LOAD_SCALE, 'BENCH_LOAD_SCALE', Math.max(...scales)),
    loadSeconds: positive(env.BENCH_LOAD_SECONDS, 'BENCH_LOAD_SECONDS', 60),
    loadRounds: positive(env.BENCH_LOAD_ROUNDS, 'BENCH_LOAD_ROUNDS', 6),
    skipLoad: env.BENCH_SKIP_LOAD === '1',
    resumeScale: positive(env.BENCH_RESUME_SCALE, 'BENCH_RESUME_SCALE', Math.min(...scales)),
    resumeParallelism: positive(env.BENCH_RESUME_PARALLELISM, 'BENCH_RESUME_PARALLELISM', 2),
    skipResume: env.BENCH_SKIP_RESUME === '1',
    skipSkewed: env.BENCH_SKIP_SKEWED === '1',
    skipBullmq: env.BENCH_SKIP_BULLMQ === '1',
    pgrollBin: env.PGROLL_BIN || null,
    pgrollBatchSizes: intList(env.BENCH_PGROLL_BATCH_SIZES ?? '1000,10000', 'BENCH_PGROLL_BATCH_SIZES'),
  };
}

/**
 * This run's command line, for the report: the bench's own variables that are
 * set (DATABASE_URL left out: it may hold a password).
 */
export function runCommand(env: NodeJS.ProcessEnv = process.env): string {
  const set = Object.entries(env)
    .filter(([name, value]) => value && (name.startsWith('BENCH_') || name === 'PGROLL_BIN'))
    .map(([name, value]) => `${name}=${value}`)
    .sort();
  return [...set, 'npm run bench'].join(' ');
}
