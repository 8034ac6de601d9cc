/**
 * The backfill benchmark of issues 4 and 8: bellows against the physical limit
 * of the machine's PostgreSQL (one bare UPDATE of the whole table), on pgbench
 * tables and on a table with skewed composite keys, with pgroll beside it when
 * a binary is given, all measured side by side in one run. Not a test: it
 * prints figures, ratios and PASS/MISS against the targets.
 *
 *   npm run bench                                   # full: scales 10 and 50, 60 s of load
 *   BENCH_SCALES=1 BENCH_SKIP_LOAD=1 BENCH_SKIP_RESUME=1 npm run bench   # a quick check (100k rows)
 *
 * Environment:
 *   DATABASE_URL               the server (default postgres://postgres@127.0.0.1:5432/test); the bench makes and drops its own databases
 *   BENCH_SCALES               pgbench scales, comma-separated (default 10,50: 1M and 5M rows)
 *   BENCH_ROUNDS               rounds of the bare UPDATE and of bellows at parallelism 1 and 2, interleaved, each
 *                              figure the median of its rounds (default 1); on a shared machine two identical
 *                              UPDATEs a minute apart differ by up to 20%
 *   BENCH_LOAD_SECONDS         length of each foreground-load window (default 60)
 *   BENCH_LOAD_ROUNDS          the trigger-off and trigger-on windows take turns this many times, each a share of
 *                              BENCH_LOAD_SECONDS (default 6); the trigger's cost is the median of the rounds' ratios
 *   BENCH_LOAD_SCALE           scale of the foreground-load section (default: the largest)
 *   BENCH_SKIP_LOAD=1          skip the foreground-load section
 *   BENCH_RESUME_SCALE         scale of the pause and kill -9 section (default: the smallest)
 *   BENCH_RESUME_PARALLELISM   parallelism of the pause and kill -9 runs (default 2)
 *   BENCH_SKIP_RESUME=1        skip the pause and kill -9 section
 *   BENCH_SKIP_SKEWED=1        skip the skewed composite key section
 *   BENCH_SKIP_BULLMQ=1        skip the BullMQ executor row (1 worker, concurrency 2, against the local executor at
 *                              parallelism 2; it starts its own redis-server, which must be on PATH, on a free port)
 *   PGROLL_BIN                 a pgroll (0.16) binary to run side by side; without it, no pgroll figures
 *   BENCH_PGROLL_BATCH_SIZES   pgroll --backfill-batch-size values, one figure each (default 1000,10000)
 *   PGBENCH_BIN                the pgbench binary (default /usr/bin/pgbench)
 *   BELLOWS_LOG_LEVEL          log level of the `bellows start` subprocesses (default warn)
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cpus, loadavg, totalmem } from 'node:os';
import { readOptions, runCommand } from './lib/options.ts';
import { BenchDatabases } from './lib/bench-db.ts';
import { ABALANCE_BIGINT, writePlaybook } from './lib/bellows.ts';
import { killLiveChildren } from './lib/proc.ts';
import { Report } from './lib/report.ts';
import { REFERENCE } from './lib/reference.ts';
import { bareUpdate, triggeredUpdate, keysetLoop, type PhysicalResult } from './sections/physical.ts';
import { bellowsBackfill, bullmqBackfill, type BackfillResult } from './sections/throughput.ts';
import { foregroundLoad } from './sections/load.ts';
import { pauseLatency, killAndResume } from './sections/resume.ts';
import { pgrollBackfill } from './sections/pgroll.ts';
import { PAYLOAD_BIGINT, SKEWED_TABLE } from './sections/skewed.ts';
import { BULLMQ_PARALLELISM, bullmqTable, loadTable, memoryTable, pauseTables, physicalTable, skewedTable, throughputTables, type ScaleResults } from './lib/tables.ts';

const PARALLELISMS = [1, 2];

const options = readOptions();
const dbs = new BenchDatabases(options.databaseUrl);
const report = new Report();
const step = (text: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${text}`);

async function attempt<T>(section: string, work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch (err) {
    report.fail(section, err);
    return null;
  }
}

let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  step('interrupted: stopping children and dropping the bench databases');
  killLiveChildren();
  void dbs.dropAll().finally(() => process.exit(130));
});

async function main(): Promise<number> {
  const server = await dbs.serverInfo();
  const machine = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    nproc: cpus().length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    pg: server.version.split(' on ')[0],
    sharedBuffers: server.sharedBuffers,
    node: process.version,
    load: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
  console.log(`bellows backfill benchmark — ${machine.date}`);
  console.log(`machine: ${machine.nproc} CPUs, ${machine.memory}, ${machine.pg} (shared_buffers ${machine.sharedBuffers}), node ${machine.node}, load average ${machine.load}`);
  console.log(`scales ${options.scales.join(', ')} (×100k rows); ${options.rounds} round(s) of the bare UPDATE, the UPDATE with the trigger and bellows, median; load ${options.skipLoad ? 'skipped' : `${options.loadSeconds} s at scale ${options.loadScale}`}; pause/kill ${options.skipResume ? 'skipped' : `at scale ${options.resumeScale}, parallelism ${options.resumeParallelism}`}; BullMQ ${options.skipBullmq ? 'skipped' : 'measured'}; pgroll ${options.pgrollBin ?? 'not given (PGROLL_BIN)'}`);

  const left = await dbs.dropAll();
  if (left.length) step(`dropped leftovers of an earlier bench: ${left.join(', ')}`);
  const playbook = await writePlaybook(ABALANCE_BIGINT);
  const skewedPlaybook = await writePlaybook(PAYLOAD_BIGINT);
  try {
    const results: ScaleResults[] = [];
    for (const scale of options.scales) {
      if (interrupted) break;
      const rows = scale * 100_000;
      step(`scale ${scale} (${rows.toLocaleString('en-US')} rows): pgbench -i -s ${scale}`);
      await dbs.prepareTemplate(scale);
      const r: ScaleResults = { scale, rows, bellows: new Map(), roundRatios: new Map(PARALLELISMS.map((p) => [p, []])), triggeredRatios: [], pgroll: [], skewed: new Map() };
      // The bare UPDATE, the UPDATE with the trigger and bellows take turns, so that a noisy minute falls on all; each keeps its median.
      const bare: PhysicalResult[] = [];
      const triggered: PhysicalResult[] = [];
      const backfills = new Map<number, BackfillResult[]>(PARALLELISMS.map((p) => [p, []]));
      for (let round = 1; round <= options.rounds && !interrupted; round++) {
        const of = options.rounds > 1 ? ` (round ${round} of ${options.rounds})` : '';
        step(`scale ${scale}: bare UPDATE over the whole table (shadow column, no trigger)${of}`);
        const b = await attempt(`1. bare UPDATE, scale ${scale}`, () => bareUpdate(dbs, scale, playbook));
        if (b) bare.push(b);
        step(`scale ${scale}: the same UPDATE with the dual-write trigger in place${of}`);
        const t = await attempt(`1. UPDATE with the trigger, scale ${scale}`, () => triggeredUpdate(dbs, scale, playbook));
        if (t) triggered.push(t);
        if (t && b) r.triggeredRatios.push(t.rowsPerSec / b.rowsPerSec);
        for (const p of PARALLELISMS) {
          step(`scale ${scale}: bellows start --max-rows-per-sec 0 --parallelism ${p}${of}`);
          const run = await attempt(`2. bellows parallelism ${p}, scale ${scale}`, () => bellowsBackfill(dbs, scale, playbook, p));
          if (run) backfills.get(p)!.push(run);
          if (run && b) r.roundRatios.get(p)!.push(run.rowsPerSec / b.rowsPerSec);
        }
      }
      r.bare = median(bare);
      r.triggered = median(triggered);
      for (const [p, runs] of backfills) if (runs.length) r.bellows.set(p, median(runs)!);
      step(`scale ${scale}: in-database keyset loop (PL/pgSQL, COMMIT every 10k rows)`);
      r.loop = (await attempt(`1. keyset loop, scale ${scale}`, () => keysetLoop(dbs, scale, playbook))) ?? undefined;
      if (!options.skipBullmq && !interrupted) {
        const p = BULLMQ_PARALLELISM;
        step(`scale ${scale}: bellows worker --executor bullmq --concurrency ${p}, then bellows start --executor bullmq --max-rows-per-sec 0 --parallelism ${p}`);
        r.bullmq = (await attempt(`2d. BullMQ parallelism ${p}, scale ${scale}`, () => bullmqBackfill(dbs, scale, playbook, p))) ?? undefined;
      }
      for (const size of options.pgrollBin ? options.pgrollBatchSizes : []) {
        step(`scale ${scale}: pgroll start --backfill-batch-size ${size} (${options.pgrollBin})`);
        const g = await attempt(`2. pgroll batch ${size}, scale ${scale}`, () => pgrollBackfill(dbs, scale, options.pgrollBin!, ABALANCE_BIGINT, size));
        if (g) r.pgroll.push(g);
      }
      if (!options.skipSkewed && !interrupted) {
        step(`scale ${scale}: skewed composite keys: bare UPDATE (the table is generated on first use)`);
        r.skewedBare = (await attempt(`2c. skewed bare UPDATE, scale ${scale}`, () => bareUpdate(dbs, scale, skewedPlaybook, SKEWED_TABLE))) ?? undefined;
        for (const p of PARALLELISMS) {
          step(`scale ${scale}: skewed composite keys: bellows start --max-rows-per-sec 0 --parallelism ${p}`);
          const s = await attempt(`2c. skewed bellows parallelism ${p}, scale ${scale}`, () => bellowsBackfill(dbs, scale, skewedPlaybook, p, SKEWED_TABLE));
          if (s) r.skewed.set(p, s);
        }
      }
      results.push(r);
    }
    report.add(physicalTable(results));
    for (const table of throughputTables(results, PARALLELISMS)) report.add(table);
    if (!options.skipSkewed) report.add(skewedTable(results, PARALLELISMS));
    if (!options.skipBullmq) report.add(bullmqTable(results));
    report.add(memoryTable(results, PARALLELISMS));

    if (!options.skipLoad && !interrupted) {
      step(`foreground load at scale ${options.loadScale}: baseline, dual-write only, during the backfill (${options.loadSeconds} s each)`);
      const load = await attempt('3. foreground load', () => foregroundLoad(dbs, options.loadScale, playbook, options.loadSeconds, options.loadRounds));
      if (load) report.add(loadTable(load, options.loadSeconds, options.loadRounds));
    }

    if (!options.skipResume && !interrupted) {
      step(`pause and resume at scale ${options.resumeScale}, parallelism ${options.resumeParallelism}`);
      const pause = await attempt('4. pause', () => pauseLatency(dbs, options.resumeScale, playbook, options.resumeParallelism));
      step(`kill -9 and resume at scale ${options.resumeScale}, parallelism ${options.resumeParallelism}`);
      const kill = await attempt('4. kill -9', () => killAndResume(dbs, options.resumeScale, playbook, options.resumeParallelism));
      for (const table of pauseTables(pause, kill)) report.add(table);
    }

    console.log(`\n== Reference (from issue 4, measured earlier on this machine's PG15; not measured by this run) ==`);
    for (const line of REFERENCE) console.log(`  ${line}`);

    const header = [
      `### Backfill benchmark (${machine.date})`,
      '',
      `Machine: ${machine.nproc} CPUs (nproc), ${machine.memory} RAM, ${machine.pg}, shared_buffers ${machine.sharedBuffers}, Node ${machine.node}; load average at start ${machine.load}.`,
      `Run: \`${runCommand()}\`; pgbench tables (\`pgbench -i -s N\`), alter_column abalance int → bigint.`,
    ];
    const footer = ['', 'Reference (from issue 4, not measured by this run):', ...REFERENCE.map((l) => `- ${l}`)];
    console.log('\n```markdown\n' + report.markdown(header) + footer.join('\n') + '\n```');
  } finally {
    for (const path of [playbook, skewedPlaybook]) await rm(dirname(path), { recursive: true, force: true });
    const dropped = await dbs.dropAll();
    step(`dropped ${dropped.join(', ') || 'nothing'}`);
    await dbs.close();
  }
  return report.errors.length ? 1 : 0;
}

/** The result with the median rate (the lower middle one of an even count). */
function median<T extends { rowsPerSec: number }>(results: T[]): T | undefined {
  return [...results].sort((a, b) => a.rowsPerSec - b.rowsPerSec)[Math.floor((results.length - 1) / 2)];
}

main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    killLiveChildren();
    await dbs.dropAll().catch(() => {});
    process.exit(1);
  },
);
