/**
 * The backfill benchmark of issue 4: bellows against the physical limit of the
 * machine's PostgreSQL, on pgbench tables, measured side by side in one run.
 * Not a test: it prints figures, ratios and PASS/MISS against the targets.
 *
 *   npm run bench                                   # full: scales 10 and 50, 60 s of load
 *   BENCH_SCALES=1 BENCH_LOAD_SECONDS=5 npm run bench   # a quick check (100k rows)
 *
 * Environment: DATABASE_URL, BENCH_SCALES, BENCH_LOAD_SECONDS, BENCH_SKIP_LOAD=1,
 * BENCH_LOAD_SCALE, BENCH_RESUME_SCALE, BENCH_RESUME_PARALLELISM, PGROLL_BIN.
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cpus, loadavg, totalmem } from 'node:os';
import { readOptions } from './lib/options.ts';
import { BenchDatabases } from './lib/bench-db.ts';
import { writePlaybook } from './lib/bellows.ts';
import { killLiveChildren } from './lib/proc.ts';
import { Report } from './lib/report.ts';
import { REFERENCE } from './lib/reference.ts';
import { singleStatement, keysetLoop, type PhysicalResult } from './sections/physical.ts';
import { bellowsBackfill, type BackfillResult } from './sections/throughput.ts';
import { foregroundLoad } from './sections/load.ts';
import { pauseLatency, killAndResume } from './sections/resume.ts';
import { pgrollBackfill } from './sections/pgroll.ts';
import { loadTable, memoryTable, pauseTables, physicalTable, throughputTables, type ScaleResults } from './lib/tables.ts';

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
  console.log(`scales ${options.scales.join(', ')} (×100k rows); load ${options.skipLoad ? 'skipped' : `${options.loadSeconds} s at scale ${options.loadScale}`}; pause/kill at scale ${options.resumeScale}, parallelism ${options.resumeParallelism}`);

  const left = await dbs.dropAll();
  if (left.length) step(`dropped leftovers of an earlier bench: ${left.join(', ')}`);
  const playbook = await writePlaybook();
  try {
    const results: ScaleResults[] = [];
    for (const scale of options.scales) {
      if (interrupted) break;
      const rows = scale * 100_000;
      step(`scale ${scale} (${rows.toLocaleString('en-US')} rows): pgbench -i -s ${scale}`);
      await dbs.prepareTemplate(scale);
      const r: ScaleResults = { scale, rows, bellows: new Map<number, BackfillResult>() };
      step(`scale ${scale}: one UPDATE over the whole table`);
      r.single = (await attempt<PhysicalResult>(`1. single statement, scale ${scale}`, () => singleStatement(dbs, scale, playbook))) ?? undefined;
      step(`scale ${scale}: in-database keyset loop (PL/pgSQL, COMMIT every 10k rows)`);
      r.loop = (await attempt<PhysicalResult>(`1. keyset loop, scale ${scale}`, () => keysetLoop(dbs, scale, playbook))) ?? undefined;
      for (const p of PARALLELISMS) {
        step(`scale ${scale}: bellows start --max-rows-per-sec 0 --parallelism ${p}`);
        const b = await attempt(`2. bellows parallelism ${p}, scale ${scale}`, () => bellowsBackfill(dbs, scale, playbook, p));
        if (b) r.bellows.set(p, b);
      }
      if (options.pgrollBin) {
        step(`scale ${scale}: pgroll start (${options.pgrollBin})`);
        r.pgroll = (await attempt(`2. pgroll, scale ${scale}`, () => pgrollBackfill(dbs, scale, options.pgrollBin!))) ?? undefined;
      }
      results.push(r);
    }
    report.add(physicalTable(results));
    for (const table of throughputTables(results, PARALLELISMS)) report.add(table);
    report.add(memoryTable(results, PARALLELISMS));

    if (!options.skipLoad && !interrupted) {
      step(`foreground load at scale ${options.loadScale}: baseline, dual-write only, during the backfill (${options.loadSeconds} s each)`);
      const load = await attempt('3. foreground load', () => foregroundLoad(dbs, options.loadScale, playbook, options.loadSeconds));
      if (load) report.add(loadTable(load, options.loadSeconds));
    }

    if (!interrupted) {
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
      `Run: \`BENCH_SCALES=${options.scales.join(',')} BENCH_LOAD_SECONDS=${options.loadSeconds}${options.skipLoad ? ' BENCH_SKIP_LOAD=1' : ''} npm run bench\`; pgbench tables (\`pgbench -i -s N\`), alter_column abalance int → bigint.`,
    ];
    const footer = ['', 'Reference (from issue 4, not measured by this run):', ...REFERENCE.map((l) => `- ${l}`)];
    console.log('\n```markdown\n' + report.markdown(header) + footer.join('\n') + '\n```');
  } finally {
    await rm(dirname(playbook), { recursive: true, force: true });
    const dropped = await dbs.dropAll();
    step(`dropped ${dropped.join(', ') || 'nothing'}`);
    await dbs.close();
  }
  return report.errors.length ? 1 : 0;
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
